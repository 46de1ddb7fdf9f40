"""An alert to 10,000 email members through a real SMTP server on loopback.

The figure is the worker's own delivery run (app/worker/delivery.deliver_all_due) with
the default settings. The limit is the least that work can cost: open each contact
envelope and send each message on one reused SMTP connection, nothing else.
"""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from app.delivery import DeliverySettings, Notice, SmtpSettings, channels, send_rates
from app.delivery.email_channel import fast_message_bytes
from app.membership.records import grant_delivery, insert_member
from app.vault import db, outbox
from app.vault.opening import open_group
from app.worker.delivery import BODIES, SUBJECTS, Courier, deliver_all_due
from bench.load import free_port
from bench.scratch import DELIVERY, VETTING, Scratch
from crypto import keystore

MEMBERS = 10_000
ALERT = "bench-fanout-alert"


class SmtpSink:
    """aiosmtpd's Sink handler in its own process: accepts every message, keeps none."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Sink"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the SMTP sink did not start")

    def stop(self) -> None:
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()


def populate(scratch: Scratch) -> None:
    keys = keystore.load_server_keys(scratch.keys_dir)
    # Applicants are sealed for the vetting key alone; approval adds the delivery wrap,
    # which needs the vetting key (app/membership/records.grant_delivery).
    vetting = keystore.unlock_private_key(
        (scratch.keys_dir / keystore.VETTING_KEY).read_bytes(), VETTING, keys.vetting_public)
    conn = scratch.connect()
    now = datetime.now(UTC)
    try:
        with db.transaction(conn):
            conn.execute("INSERT INTO alerts (id, status, current_version, created_at, "
                         "published_at) VALUES (?, 'published', 1, ?, ?)",
                         (ALERT, now.isoformat(), now.isoformat()))
            conn.execute("INSERT INTO alert_versions (alert_id, version, title, national, "
                         "areas, categories, incident_date, description, identifiers, "
                         "edited_at) VALUES (?, 1, 'Fan-out', 1, '', 'threats', "
                         "'2026-01-01', 'x', '[]', ?)", (ALERT, now.isoformat()))
            for i in range(MEMBERS):
                member_id = insert_member(conn, keys, kind="individual",
                                          identity={"work_name": f"Fan {i}"},
                                          contact={"email": f"fan{i}@example.org"},
                                          alert_channel="email")
                conn.execute("UPDATE members SET status = 'active' WHERE id = ?", (member_id,))
                grant_delivery(conn, keys, member_id, vetting)
                outbox.enqueue(conn, kind="alert", member_id=member_id, channel="email",
                               alert_id=ALERT, now=now, dedupe_key=f"alert:{ALERT}:{member_id}")
    finally:
        conn.close()


def _requeue(conn: db.Connection) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    conn.execute("UPDATE outbox SET status = 'pending', attempts = 0, sent_at = NULL, "
                 "next_attempt_at = ?", (past,))


def worker_run(scratch: Scratch, sink: SmtpSink) -> float:
    """Seconds for the worker's delivery run, default settings but the sink's port."""
    conn = scratch.connect()
    try:
        _requeue(conn)
        key = keystore.load_delivery_private_key(scratch.keys_dir, DELIVERY)
        settings = DeliverySettings(smtp=SmtpSettings(port=sink.port))
        courier = Courier(key=key, channels=channels(settings), rates=send_rates(settings),
                          settings=settings)
        start = time.perf_counter()
        result = deliver_all_due(conn, courier, lambda: datetime.now(UTC))
        elapsed = time.perf_counter() - start
        if result.sent != MEMBERS:
            raise RuntimeError(f"the worker sent {result.sent} of {MEMBERS}")
        return elapsed
    finally:
        conn.close()


def limit_run(scratch: Scratch, sink: SmtpSink) -> float:
    """Seconds to open every contact envelope and send each notice on one connection."""
    conn = scratch.connect()
    try:
        key = keystore.load_delivery_private_key(scratch.keys_dir, DELIVERY)
        settings = SmtpSettings(port=sink.port)
        rows = conn.execute("SELECT o.dedupe_key, m.id, m.contact FROM outbox o "
                            "JOIN members m ON m.id = o.member_id ORDER BY o.id").fetchall()
        start = time.perf_counter()
        smtp = smtplib.SMTP("127.0.0.1", sink.port, local_hostname="localhost")
        for row in rows:
            contact = open_group("members", "contact", row["id"], row["contact"], key)
            notice = Notice(to=contact["email"], subject=SUBJECTS["alert"],
                            body=BODIES["alert"], idempotency_key=row["dedupe_key"])
            message = fast_message_bytes(settings, notice, notice.to)
            assert message is not None
            smtp.sendmail(settings.sender, [notice.to], message)
        smtp.quit()
        return time.perf_counter() - start
    finally:
        conn.close()
