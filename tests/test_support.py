"""The support queue: reports whose reporter asked for a caseworker or ISVA."""

from __future__ import annotations

import pytest
from flask import Flask

from app.support import records, service
from app.support.records import SupportStatus
from app.vault import db, log
from app.web.state import load_keys, state
from tests import canary
from tests.flows import coordinator_client, unlock
from tests.people import make_member, make_report, make_staff, signed_in_client
from tests.webtools import csrf_token, post_form

NOTE_CANARY = "Canary Supportnote, ISVA at Velvetine House"


def _events(conn) -> list[dict]:
    return [e.body for e in log.entries(conn)]


def _support(app: Flask, conn, **changes: object) -> tuple[str, str]:
    reporter = changes.pop("reporter", None) or make_member(app)
    report_id = make_report(app, reporter, wants_support=True, **changes)
    request_id = service.for_report(conn, report_id)
    assert request_id is not None
    return report_id, request_id


def test_a_report_that_asks_for_support_joins_the_queue_and_others_do_not(app, conn) -> None:
    report_id, request_id = _support(app, conn)
    other = make_report(app)
    assert service.for_report(conn, other) is None
    queued = service.queue(conn, state(app).clock())
    assert [(s.id, s.report_id, s.status) for s in queued] == [
        (request_id, report_id, SupportStatus.NEW)]


def test_support_status_matches_the_schema_check() -> None:
    from tests.test_architecture import _check_values

    assert {s.value for s in SupportStatus} == _check_values("support_requests", "status")


def test_status_changes_are_logged_with_ids_only_and_the_same_status_is_refused(
        app, conn) -> None:
    report_id, request_id = _support(app, conn)
    now = state(app).clock()
    coordinator = make_staff(app, "coordinator").account_id
    service.change_status(conn, coordinator, request_id, "closed", now)
    assert service.find(conn, request_id, now).status == SupportStatus.CLOSED
    last = _events(conn)[-1]
    assert last["event"] == "support_status_changed"
    assert last["records"] == [f"support_requests/{request_id}", f"reports/{report_id}"]
    assert (last["status"], last["previous"], last["actor"]) == ("closed", "new", coordinator)
    with pytest.raises(service.SupportRefused):
        service.change_status(conn, coordinator, request_id, "closed", now)
    # Closed is not final: a reporter who comes back can be followed up again.
    service.change_status(conn, coordinator, request_id, "new", now)
    assert service.queue(conn, now)[0].id == request_id


def test_a_status_not_offered_is_refused_with_a_message_and_nothing_written(
        app, conn) -> None:
    _report_id, request_id = _support(app, conn)
    client, _coordinator = coordinator_client(app)
    before = len(_events(conn))
    response = post_form(client, f"/coordinator/support/{request_id}/status",
                         {"status": "lost"}, form_url=f"/coordinator/support/{request_id}")
    assert response.status_code == 400
    assert "Choose new, contacted or closed." in response.get_data(as_text=True)
    assert service.find(conn, request_id, state(app).clock()).status == SupportStatus.NEW
    assert len(_events(conn)) == before


def test_the_support_note_is_sealed_and_reading_it_is_logged_first(
        app, conn, config, database_key, keys_dir, vetting_key, all_logs) -> None:
    report_id, request_id = _support(app, conn)
    client, coordinator = coordinator_client(app)
    response = post_form(client, f"/coordinator/support/{request_id}/note",
                         {"note": NOTE_CANARY}, form_url=f"/coordinator/support/{request_id}")
    assert response.status_code == 302
    assert _events(conn)[-1]["event"] == "support_note_saved"
    # Locked: nothing opened, and the page says to unlock.
    locked = client.post(f"/coordinator/support/{request_id}/unseal", data={
        "csrf_token": csrf_token(client, f"/coordinator/support/{request_id}")})
    assert locked.status_code == 423
    assert NOTE_CANARY not in locked.get_data(as_text=True)
    unlock(client, keys_dir)
    opened = client.post(f"/coordinator/support/{request_id}/unseal", data={
        "csrf_token": csrf_token(client, f"/coordinator/support/{request_id}")})
    assert opened.status_code == 200
    assert NOTE_CANARY in opened.get_data(as_text=True)
    entry = _events(conn)[-1]
    assert "event" not in entry and entry["purpose"] == "report_review"
    assert entry["records"] == [f"support_requests/{request_id}"]
    assert entry["fields"] == ["note.note"]
    assert entry["report"] == f"reports/{report_id}"
    # No byte of the database, its sidecars or the logs holds the note in clear.
    conn.close()
    for path in canary.database_files(config.database_path):
        assert canary.find(path.read_bytes(), [NOTE_CANARY]) == [], path.name
    assert canary.find(canary.decrypted_dump(config.database_path, database_key),
                       [NOTE_CANARY]) == []
    assert canary.find(all_logs.text.encode("utf-8"), [NOTE_CANARY]) == []
    # And the service opens it with the vetting key.
    again = db.connect(config.database_path, database_key)
    try:
        assert service.read_note(again, vetting_key, coordinator.account_id, request_id,
                                 state(app).clock()) == NOTE_CANARY
    finally:
        again.close()


def test_an_empty_note_is_refused_with_a_message(app, conn) -> None:
    _report_id, request_id = _support(app, conn)
    client, _coordinator = coordinator_client(app)
    response = post_form(client, f"/coordinator/support/{request_id}/note", {"note": "  "},
                         form_url=f"/coordinator/support/{request_id}")
    assert response.status_code == 400
    assert db.scalar(conn, "SELECT note FROM support_requests WHERE id = ?",
                     (request_id,)) is None


def test_writing_to_the_reporter_uses_their_account_messages_and_a_content_free_notice(
        app, conn) -> None:
    reporter = make_member(app, alert_channel="email")
    report_id, request_id = _support(app, conn, reporter=reporter)
    client, _coordinator = coordinator_client(app)
    response = client.post(f"/coordinator/support/{request_id}/message", data={
        "csrf_token": csrf_token(client, f"/coordinator/support/{request_id}")})
    assert response.status_code == 302
    now = state(app).clock()
    found = service.find(conn, request_id, now)
    assert found.status == SupportStatus.CONTACTED and found.messaged_at
    events = _events(conn)[-2:]
    assert [e["event"] for e in events] == ["support_member_messaged", "support_status_changed"]
    assert f"members/{reporter.member_id}" in events[0]["records"]
    notices = conn.execute("SELECT kind, dedupe_key FROM outbox WHERE member_id = ?",
                           (reporter.member_id,)).fetchall()
    assert [(n["kind"], n["dedupe_key"]) for n in notices] == [
        ("message", f"message:support:{request_id}")]
    # The reporter reads it in their account.
    member = signed_in_client(app, reporter)
    listing = member.get("/account/messages").get_data(as_text=True)
    assert "The support you asked for" in listing
    message_id = db.scalar(conn, "SELECT id FROM member_messages WHERE support_request_id = ?",
                           (request_id,))
    page = member.get(f"/account/messages/{message_id}")
    assert page.status_code == 200
    assert "caseworker or an ISVA" in page.get_data(as_text=True)
    # Once only.
    again = client.post(f"/coordinator/support/{request_id}/message", data={
        "csrf_token": csrf_token(client, f"/coordinator/support/{request_id}")})
    assert again.status_code == 302
    assert db.count(conn, "SELECT count(*) FROM member_messages WHERE support_request_id = ?",
                    (request_id,)) == 1
    assert report_id


def test_a_reporter_who_left_cannot_be_written_to(app, conn) -> None:
    reporter = make_member(app)
    _report_id, request_id = _support(app, conn, reporter=reporter)
    with db.transaction(conn):
        conn.execute("UPDATE reports SET reporter_member_id = NULL, reporter_account_id = NULL")
    with pytest.raises(service.SupportRefused):
        service.message_member(conn, make_staff(app, "coordinator").account_id, request_id,
                               state(app).clock())
    assert db.count(conn, "SELECT count(*) FROM member_messages") == 0


def test_support_records_refuse_to_write_outside_a_transaction(conn) -> None:
    with pytest.raises(RuntimeError):
        records.set_status(conn, "x", SupportStatus.CLOSED, "c", "t")


def test_the_queue_and_a_request_page_render_for_a_coordinator(app, conn) -> None:
    _report_id, request_id = _support(app, conn)
    client, _coordinator = coordinator_client(app)
    queue = client.get("/coordinator/support/")
    assert queue.status_code == 200 and request_id[:8] in queue.get_data(as_text=True)
    assert client.get("/coordinator/support/?status=closed").status_code == 200
    assert client.get("/coordinator/support/?status=lost").status_code == 400
    assert client.get(f"/coordinator/support/{request_id}").status_code == 200
    assert client.get("/coordinator/support/no-such-request").status_code == 404


def test_the_report_page_links_to_its_support_request_and_back(app, conn) -> None:
    report_id, request_id = _support(app, conn)
    client, _coordinator = coordinator_client(app)
    report_page = client.get(f"/coordinator/reports/{report_id}").get_data(as_text=True)
    assert f'href="/coordinator/support/{request_id}"' in report_page
    request_page = client.get(f"/coordinator/support/{request_id}").get_data(as_text=True)
    assert f'href="/coordinator/reports/{report_id}"' in request_page
    other = make_report(app)
    assert "/coordinator/support/" not in client.get(
        f"/coordinator/reports/{other}").get_data(as_text=True).replace(
            'href="/coordinator/support/"', "")


ANSWER_CANARY = "Canary Supportanswer, please call Quillon at Harrowgate Refuge"


def _messaged(app: Flask, conn) -> tuple[object, str, str, str]:
    """A support request whose reporter was written to: (reporter, report, request, message)."""
    reporter = make_member(app)
    report_id, request_id = _support(app, conn, reporter=reporter)
    service.message_member(conn, make_staff(app, "coordinator").account_id, request_id,
                           state(app).clock())
    message_id = db.scalar(conn, "SELECT id FROM member_messages WHERE support_request_id = ?",
                           (request_id,))
    return reporter, report_id, request_id, message_id


def test_a_reporter_answers_the_support_message_sealed_and_the_coordinator_reads_it_logged(
        app, conn, config, database_key, keys_dir, all_logs) -> None:
    reporter, report_id, request_id, message_id = _messaged(app, conn)
    member = signed_in_client(app, reporter)
    url = f"/account/messages/{message_id}"
    assert "Send the answer" in member.get(url).get_data(as_text=True)
    sent = post_form(member, f"{url}/support-answer", {"answer": ANSWER_CANARY}, form_url=url)
    assert sent.status_code == 302
    entry = _events(conn)[-1]
    assert entry["event"] == "support_answered"
    assert entry["records"] == [f"support_requests/{request_id}", f"reports/{report_id}",
                                f"members/{reporter.member_id}"]
    assert "You answered on" in member.get(url).get_data(as_text=True)
    # Sealed: nowhere in the files, the decrypted database, the log or the application logs.
    values = [ANSWER_CANARY, "Quillon", "Harrowgate Refuge"]
    for path in canary.database_files(config.database_path):
        assert canary.find(path.read_bytes(), values) == [], path.name
    assert canary.find(canary.decrypted_dump(config.database_path, database_key), values) == []
    assert canary.find(all_logs.text.encode(), values) == []

    client, coordinator = coordinator_client(app)
    queue = client.get("/coordinator/support/").get_data(as_text=True)
    assert "The reporter answered" in queue and ANSWER_CANARY not in queue
    page_url = f"/coordinator/support/{request_id}"
    page = client.get(page_url).get_data(as_text=True)
    assert "Read the answer" in page and ANSWER_CANARY not in page
    token = csrf_token(client, page_url)
    before = len(_events(conn))
    locked = client.post(f"{page_url}/answer", data={"csrf_token": token})
    assert locked.status_code == 423 and ANSWER_CANARY not in locked.get_data(as_text=True)
    assert len(_events(conn)) == before
    assert unlock(client, keys_dir).status_code == 302
    opened = client.post(f"{page_url}/answer", data={"csrf_token": csrf_token(client, page_url)})
    assert opened.status_code == 200 and ANSWER_CANARY in opened.get_data(as_text=True)
    unsealed = _events(conn)[-1]
    assert "event" not in unsealed and unsealed["actor"] == coordinator.account_id
    assert (unsealed["records"], unsealed["fields"], unsealed["purpose"]) == (
        [f"support_requests/{request_id}"], ["answer.answer"], "report_review")


def test_an_empty_or_foreign_support_answer_is_refused_and_nothing_is_written(app,
                                                                             conn) -> None:
    reporter, _report_id, request_id, message_id = _messaged(app, conn)
    member = signed_in_client(app, reporter)
    url = f"/account/messages/{message_id}"
    before = len(_events(conn))
    empty = post_form(member, f"{url}/support-answer", {"answer": "  "}, form_url=url)
    assert empty.status_code == 400 and "Write your answer." in empty.get_data(as_text=True)
    stranger = signed_in_client(app, make_member(app))
    token = csrf_token(stranger, "/account/messages")
    foreign = stranger.post(f"{url}/support-answer",
                            data={"csrf_token": token, "answer": ANSWER_CANARY})
    assert foreign.status_code == 404
    assert len(_events(conn)) == before
    assert db.scalar(conn, "SELECT answer FROM support_requests WHERE id = ?",
                     (request_id,)) is None
    with pytest.raises(LookupError):
        service.answer(conn, load_keys(app), reporter.member_id,
                       reporter.account_id, "no-such-message", "hello", state(app).clock())
