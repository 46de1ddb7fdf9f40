"""Concurrent report submissions share one durable commit (app/vault/db.write_grouped).

Each submission still stores exactly one whole report, returns only once it is on disk,
and a submission that fails takes nothing of the others with it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.reports import records, service
from app.vault import db
from app.web.state import state
from crypto.keystore import load_server_keys
from tests.people import make_member, signed_in_client
from tests.test_reports import _report_form
from tests.webtools import post_form

REPO = Path(__file__).resolve().parents[1]


def _submission(app, narrative: str) -> service.ReportSubmission:
    return service.ReportSubmission(
        incident_date=state(app).clock().date().isoformat(), incident_time="evening",
        area="ldn", place="", categories=["threats"],
        identifiers=(("phone", "07700 900999"),), description="", narrative=narrative)


def test_concurrent_report_posts_each_create_exactly_one_report(app, conn) -> None:
    clients = [signed_in_client(app, make_member(app, email=f"m{n}@example.org"))
               for n in range(8)]
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def post(client) -> None:
        start.wait()
        statuses.append(post_form(client, "/reports/new", _report_form(app)).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * len(clients)
    per_reporter = conn.execute("SELECT reporter_account_id, count(*) FROM reports "
                                "GROUP BY reporter_account_id").fetchall()
    assert len(per_reporter) == len(clients)
    assert {n for _, n in per_reporter} == {1}
    assert conn.execute("SELECT count(*) FROM report_categories").fetchone()[0] == 16


def test_a_failing_submission_in_a_group_leaves_the_others_whole(
        app, conn, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = load_server_keys(state(app).config.keys_dir)
    path = state(app).config.database_path
    people = [make_member(app, email=f"g{n}@example.org") for n in range(4)]
    doomed = people[1].account_id
    insert = records.insert_report

    def insert_then_fail_for_one(writer, report_id, values, **kwargs) -> None:
        insert(writer, report_id, values, **kwargs)  # rows written, then the failure
        if values["reporter_account_id"] == doomed:
            raise RuntimeError("this one's write fails after inserting")

    monkeypatch.setattr(records, "insert_report", insert_then_fail_for_one)
    statements: list[str] = []
    results: dict[str, object] = {}

    def submit(person) -> None:
        writer = db.connect(path, keys.database_key)
        writer.set_trace_callback(statements.append)
        try:
            results[person.account_id] = service.submit_report(
                writer, keys, account_id=person.account_id, member_id=person.member_id,
                submission=_submission(app, "grouped"), now=state(app).clock()).id
        except RuntimeError as error:
            results[person.account_id] = error
        finally:
            writer.close()

    lock = db.write_lock_for(path)
    threads = [threading.Thread(target=submit, args=(p,)) for p in people]
    with lock:  # all four queue behind this, so one commit takes them all
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(db._pending.get(id(lock), [])) < len(people):
            assert time.monotonic() < deadline, "the writes never queued"
            time.sleep(0.01)
    for thread in threads:
        thread.join()

    assert statements.count("COMMIT") == 1, "the four writes shared one commit"
    assert isinstance(results.pop(doomed), RuntimeError)
    stored = {row["reporter_account_id"]: row["id"]
              for row in conn.execute("SELECT id, reporter_account_id FROM reports")}
    assert stored == results  # each other caller's own report, and nothing of the failed one
    assert conn.execute("SELECT count(*) FROM report_categories").fetchone()[0] == 3
    assert conn.execute("SELECT count(*) FROM report_identifier_index "
                        "WHERE report_id NOT IN (SELECT id FROM reports)").fetchone()[0] == 0


_CHILD = """
import sys, threading
from pathlib import Path
from app.reports import service
from app.vault import db
from crypto.keystore import load_server_keys
from datetime import UTC, datetime

keys = load_server_keys(Path(sys.argv[1]))
path, account, member = Path(sys.argv[2]), sys.argv[3], sys.argv[4]
out = threading.Lock()

def submit_for_ever():
    conn = db.connect(path, keys.database_key)
    while True:
        report_id = service.submit_report(
            conn, keys, account_id=account, member_id=member, now=datetime.now(UTC),
            submission=service.ReportSubmission(
                incident_date=datetime.now(UTC).date().isoformat(),
                incident_time="evening", area="ldn", place="", categories=["threats"],
                identifiers=(("phone", "07700 900999"),), description="",
                narrative="durable")).id
        with out:
            print(report_id, flush=True)

for _ in range(6):
    threading.Thread(target=submit_for_ever, daemon=True).start()
threading.Event().wait()
"""


def test_every_returned_report_survives_a_kill_9(app, conn) -> None:
    person = make_member(app)
    config = state(app).config
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(config.keys_dir), str(config.database_path),
         person.account_id, person.member_id or ""],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
        text=True)
    returned: list[str] = []
    try:
        assert child.stdout is not None
        while len(returned) < 60:
            line = child.stdout.readline()
            assert line, "the child stopped before returning 60 reports"
            returned.append(line.strip())
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    stored = {row[0] for row in conn.execute("SELECT id FROM reports")}
    assert set(returned) <= stored  # every report whose call returned is on disk
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
