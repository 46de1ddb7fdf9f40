"""Decision notes can be read back on the record they belong to: logged first, key unlocked."""

from __future__ import annotations

import json

from tests import canary
from tests.flows import coordinator_client, unlock
from tests.people import (
    make_member,
    make_published_alert,
    make_report,
    make_staff,
    signed_in_client,
)
from tests.webtools import csrf_token, plain, post_form

NOTE = "Canaryzq decision note naming Joan Doe of 7 Sample Row"


def _bodies(conn) -> list[dict]:
    return [json.loads(r[0]) for r in conn.execute("SELECT body FROM disclosure_log ORDER BY seq")]


def _note_id(conn, event: str) -> str:
    [entry] = [b for b in _bodies(conn) if b.get("event") == event]
    return entry["note"].removeprefix("decision_notes/")


def _note_unseals(conn, note_id: str) -> list[dict]:
    return [b for b in _bodies(conn)
            if "event" not in b and b["records"] == [f"decision_notes/{note_id}"]]


def _malicious_with_note(app, client, keys_dir, report_id: str) -> None:
    assert unlock(client, keys_dir).status_code == 302
    url = f"/coordinator/reports/{report_id}"
    assert post_form(client, f"{url}/unseal", {}, form_url=url).status_code == 200
    assert post_form(client, f"{url}/malicious",
                     {"reason": "invented", "confirm": "y", "note": NOTE}).status_code == 302


def test_report_page_lists_its_decision_and_the_note_opens_only_after_its_unseal_entry(
        app, conn, config, database_key, keys_dir) -> None:
    report_id = make_report(app)
    client, coordinator = coordinator_client(app)
    _malicious_with_note(app, client, keys_dir, report_id)
    note_id = _note_id(conn, "report_marked_malicious")
    url = f"/coordinator/reports/{report_id}"
    page = client.get(url)
    words = plain(page)
    assert "Report marked malicious or false" in words
    assert "What it describes did not happen" in words
    assert f"/coordinator/notes/{note_id}" in page.get_data(as_text=True)
    assert NOTE not in page.get_data(as_text=True)
    assert _note_unseals(conn, note_id) == []

    opened = client.post(f"/coordinator/notes/{note_id}",
                         data={"csrf_token": csrf_token(client, url)})
    assert opened.status_code == 200 and NOTE in opened.get_data(as_text=True)
    # The note's page says which decision it was given with, so it reads on its own.
    assert "Given with this decision:" in plain(opened)
    assert "Report marked malicious or false" in plain(opened)
    assert "What it describes did not happen" in plain(opened)
    [entry] = _note_unseals(conn, note_id)
    assert (entry["actor"], entry["purpose"], entry["fields"], entry["note_of"]) == (
        coordinator.account_id, "report_review", ["body.note"], f"reports/{report_id}")
    # The text is in that response only: never the pages around it, the database or the log.
    assert NOTE not in client.get(url).get_data(as_text=True)
    values = [NOTE, "Joan Doe", "7 Sample Row"]
    for path in canary.database_files(config.database_path):
        assert canary.find(path.read_bytes(), values) == [], path.name
    assert canary.find(canary.decrypted_dump(config.database_path, database_key), values) == []


def test_reading_a_note_needs_the_vetting_key_unlocked_and_logs_nothing_without_it(
        app, conn, keys_dir) -> None:
    report_id = make_report(app)
    client, _coordinator = coordinator_client(app)
    _malicious_with_note(app, client, keys_dir, report_id)
    note_id = _note_id(conn, "report_marked_malicious")
    url = f"/coordinator/reports/{report_id}"
    token = csrf_token(client, url)
    assert post_form(client, "/coordinator/lock", {}, form_url=url).status_code == 302
    before = len(_bodies(conn))
    locked = client.post(f"/coordinator/notes/{note_id}", data={"csrf_token": token})
    assert locked.status_code == 423
    assert NOTE not in locked.get_data(as_text=True)
    assert "Unlock the vetting key" in plain(locked)
    assert len(_bodies(conn)) == before


def test_reading_a_note_refuses_a_missing_note_and_a_post_without_csrf(app, conn,
                                                                        keys_dir) -> None:
    report_id = make_report(app)
    client, _coordinator = coordinator_client(app)
    _malicious_with_note(app, client, keys_dir, report_id)
    note_id = _note_id(conn, "report_marked_malicious")
    url = f"/coordinator/reports/{report_id}"
    before = len(_bodies(conn))
    assert client.post(f"/coordinator/notes/{note_id}").status_code == 400
    missing = client.post("/coordinator/notes/" + "x" * 22,
                          data={"csrf_token": csrf_token(client, url)})
    assert missing.status_code == 404
    assert len(_bodies(conn)) == before


def test_auditor_sees_that_a_note_exists_but_cannot_read_it(app, conn, keys_dir) -> None:
    report_id = make_report(app)
    client, _coordinator = coordinator_client(app)
    _malicious_with_note(app, client, keys_dir, report_id)
    note_id = _note_id(conn, "report_marked_malicious")
    auditor = signed_in_client(app, make_staff(app, "auditor"))
    log_page = auditor.get("/audit/").get_data(as_text=True)
    assert f"decision_notes/{note_id}" in log_page and NOTE not in log_page
    refused = auditor.post(f"/coordinator/notes/{note_id}",
                           data={"csrf_token": csrf_token(auditor, "/audit/")})
    assert refused.status_code == 403 and NOTE not in refused.get_data(as_text=True)
    assert _note_unseals(conn, note_id) == []


def test_member_page_lists_the_revocation_and_its_note_is_read_for_vetting(app, conn,
                                                                           keys_dir) -> None:
    member = make_member(app)
    client, _coordinator = coordinator_client(app)
    assert post_form(client, f"/coordinator/members/{member.member_id}/revoke",
                     {"reason": "false_membership", "confirm": "y",
                      "note": NOTE}).status_code == 302
    note_id = _note_id(conn, "membership_revoked")
    url = f"/coordinator/members/{member.member_id}"
    words = plain(client.get(url))
    assert "Membership revoked" in words and "False membership" in words
    assert unlock(client, keys_dir).status_code == 302
    opened = client.post(f"/coordinator/notes/{note_id}",
                         data={"csrf_token": csrf_token(client, url)})
    assert NOTE in opened.get_data(as_text=True)
    assert url in opened.get_data(as_text=True)  # one click back to the record
    [entry] = _note_unseals(conn, note_id)
    assert entry["purpose"] == "vetting"


def test_alert_versions_and_staff_pages_offer_their_decisions_notes(app, conn) -> None:
    alert_id = make_published_alert(app)
    client, _coordinator = coordinator_client(app)
    assert post_form(client, f"/coordinator/alerts/{alert_id}/withdraw",
                     {"reason": "duplicate", "confirm": "y", "note": NOTE}).status_code == 302
    note_id = _note_id(conn, "alert_withdrawn")
    history = client.get(f"/coordinator/alerts/{alert_id}/versions").get_data(as_text=True)
    assert f"/coordinator/notes/{note_id}" in history and NOTE not in history

    other = make_staff(app, "coordinator")
    assert post_form(client, f"/coordinator/staff/{other.account_id}/disable",
                     {"reason": "left", "confirm": "y", "note": NOTE},
                     form_url=f"/coordinator/staff/{other.account_id}").status_code == 302
    staff_note = _note_id(conn, "staff_disabled")
    page = client.get(f"/coordinator/staff/{other.account_id}")
    assert "Staff login disabled" in plain(page)
    assert f"/coordinator/notes/{staff_note}" in page.get_data(as_text=True)


def test_disclosure_request_page_lists_its_steps_and_reads_the_disclosure_note(
        app, conn, keys_dir) -> None:
    from tests.test_confirmations import _approved_request

    first, _alice, request_id = _approved_request(app, keys_dir)
    assert post_form(first, f"/coordinator/disclosures/{request_id}/disclose",
                     {"reason": "urgent_risk", "confirm": "y", "note": NOTE}).status_code == 200
    [entry] = [b for b in _bodies(conn) if "event" not in b and b["purpose"] == "disclosure"]
    note_id = entry["note"].removeprefix("decision_notes/")
    url = f"/coordinator/disclosures/{request_id}"
    page = first.get(url)
    words = plain(page)
    assert "Disclosure requested" in words and "Disclosure approved" in words
    assert "There is an urgent risk to someone's safety" in words
    assert f"/coordinator/notes/{note_id}" in page.get_data(as_text=True)
    opened = first.post(f"/coordinator/notes/{note_id}",
                        data={"csrf_token": csrf_token(first, url)})
    assert NOTE in opened.get_data(as_text=True)
    assert _note_unseals(conn, note_id)[0]["purpose"] == "disclosure"


def test_a_decision_by_a_member_names_no_account_on_the_record_page(app, conn) -> None:
    from app.coordinator import decision_log
    from app.vault import log
    from app.vault.db import transaction
    from app.web.state import state

    report_id = make_report(app)
    with transaction(conn):
        log.append(conn, log.support_answered(at=state(app).clock(), actor="member-account-x",
                                              request_id="s", report_id=report_id,
                                              member_id="m"))
    [decision] = decision_log.on_record(conn, f"reports/{report_id}")
    assert (decision.event, decision.actor) == ("support_answered", "")
    client, _coordinator = coordinator_client(app)
    assert "member-account-x" not in client.get(
        f"/coordinator/reports/{report_id}").get_data(as_text=True)
