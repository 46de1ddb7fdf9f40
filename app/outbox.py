"""Queueing notices for the worker: one row per (purpose, member), never an address.

The web process enqueues; only the worker (which holds the delivery key) can turn a row
into a message. Enqueueing is idempotent on `dedupe_key`, so publishing twice or a retry
of the request never queues a second notice for the same member.
"""

from __future__ import annotations

from datetime import datetime

from crypto.keystore import ServerKeys

from .db import Connection
from .sealing import seal_group

PUSH_CHANNELS = ("email", "sms")


def enqueue(conn: Connection, *, kind: str, member_id: str, channel: str, dedupe_key: str,
            now: datetime, alert_id: str | None = None, secret: str | None = None,
            keys: ServerKeys | None = None) -> bool:
    """Queue one notice; returns False when that notice was already queued.

    A `secret` (a reset code) is sealed to the delivery key, so the database never holds
    it in a form the web process or a database thief can read. Must run in a transaction.
    """
    if channel not in PUSH_CHANNELS:
        raise ValueError(f"cannot deliver over {channel!r}")
    cursor = conn.execute(
        "INSERT OR IGNORE INTO outbox (dedupe_key, kind, member_id, alert_id, channel, "
        "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (dedupe_key, kind, member_id, alert_id, channel,
         now.isoformat(timespec="seconds"), now.isoformat(timespec="seconds")))
    if cursor.rowcount == 1 and secret is not None:
        if keys is None:
            raise ValueError("sealing a secret needs the server's keys")
        row_id = str(cursor.lastrowid)
        conn.execute("UPDATE outbox SET payload = ? WHERE id = ?",
                     (seal_group("outbox", "payload", row_id, {"code": secret},
                                 [keys.delivery_public]), cursor.lastrowid))
    return cursor.rowcount == 1


def enqueue_for_member(conn: Connection, *, kind: str, member_id: str, dedupe_key: str,
                       now: datetime, alert_id: str | None = None) -> bool:
    """Queue a content-free notice over the member's chosen channel, if they chose one."""
    row = conn.execute("SELECT alert_channel FROM members WHERE id = ? AND status = 'active'",
                       (member_id,)).fetchone()
    if row is None or row[0] not in PUSH_CHANNELS:
        return False
    return enqueue(conn, kind=kind, member_id=member_id, channel=row[0],
                   dedupe_key=dedupe_key, now=now, alert_id=alert_id)
