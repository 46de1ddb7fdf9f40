"""Irreversible coordinator steps: a confirmation page, a reason from a list, a sealed
note, and (where it can be) an undo that puts the exact prior state back, each logged."""

from __future__ import annotations

import json

import pytest

from app.alerts import service as alerts
from app.auth import staff as staff_logins
from app.common.validation import DecisionRefused
from app.coordinator import reports as report_review
from app.membership import decisions as memberships
from app.vault import log as disclosure_log
from app.vault.unseal import UnsealRequest, unseal
from app.web.state import load_keys, state
from tests import canary
from tests.flows import coordinator_client, unlock
from tests.people import (
    make_member,
    make_published_alert,
    make_report,
    make_staff,
    signed_in_client,
)
from tests.test_disclosures import _approve, _coordinator, _record
from tests.webtools import plain, post_form

NOTE = "Canaryqz note naming Jane Roe at 12 Example Street"


def _row(conn, table: str, row_id: str) -> tuple:
    return tuple(conn.execute(f"SELECT * FROM {table} WHERE id = ?",  # noqa: S608
                              (row_id,)).fetchone())


def _bodies(conn) -> list[dict]:
    return [json.loads(r[0]) for r in conn.execute("SELECT body FROM disclosure_log ORDER BY seq")]


def _state(conn) -> tuple:
    """Everything a refused step must leave as it was."""
    return (conn.execute("SELECT count(*) FROM disclosure_log").fetchone()[0],
            conn.execute("SELECT count(*) FROM decision_notes").fetchone()[0],
            sorted(tuple(r) for r in conn.execute("SELECT * FROM reports")),
            sorted(tuple(r) for r in conn.execute("SELECT id, status FROM members")),
            sorted(tuple(r) for r in conn.execute("SELECT * FROM alerts")),
            sorted(tuple(r) for r in conn.execute("SELECT id, status FROM accounts")),
            sorted(tuple(r) for r in conn.execute("SELECT id, status FROM disclosure_requests")))


def _read_report(client, keys_dir, report_id: str) -> None:
    assert unlock(client, keys_dir).status_code == 302
    url = f"/coordinator/reports/{report_id}"
    assert post_form(client, f"{url}/unseal", {}, form_url=url).status_code == 200


# Marking a report malicious, and undoing it.

def test_malicious_confirmation_page_says_what_happens_and_offers_reasons(app, keys_dir) -> None:
    report_id = make_report(app)
    client, _ = coordinator_client(app)
    _read_report(client, keys_dir, report_id)
    page = client.get(f"/coordinator/reports/{report_id}/malicious")
    assert page.status_code == 200
    shown = plain(page)
    assert "What will happen" in shown and "The report is closed" in shown
    assert "What it describes did not happen" in shown
    assert 'name="confirm"' in page.get_data(as_text=True)
    assert "checked" not in page.get_data(as_text=True), "no reason is chosen in advance"


def test_malicious_needs_the_report_read_in_this_unlock(app, conn, keys_dir) -> None:
    report_id = make_report(app)
    client, coordinator = coordinator_client(app)
    url = f"/coordinator/reports/{report_id}/malicious"
    page = client.get(url)
    assert "Read the report first" in plain(page)
    assert f"/coordinator/reports/{report_id}/unseal" in page.get_data(as_text=True)
    before = _state(conn)
    refused = post_form(client, url, {"reason": "invented", "confirm": "y"})
    assert refused.status_code == 409 and "Read the report first" in plain(refused)
    assert _state(conn) == before
    # A reading in an earlier unlock does not count.
    _read_report(client, keys_dir, report_id)
    assert unlock(client, keys_dir).status_code == 302
    assert not report_review.has_read(conn, coordinator.account_id, report_id)
    assert "Read the report first" in plain(client.get(url))


@pytest.mark.parametrize("data", [
    {"reason": "invented"},                      # no confirmation
    {"confirm": "y"},                            # no reason
    {"reason": "gossip", "confirm": "y"},        # a reason not on the list
    {"reason": "invented", "confirm": "y", "note": "x" * 2001},  # a note too long
])
def test_mark_malicious_refuses_without_confirmation_or_reason_and_changes_nothing(
        app, conn, keys_dir, data) -> None:
    report_id = make_report(app)
    client, _ = coordinator_client(app)
    _read_report(client, keys_dir, report_id)
    before = _state(conn)
    refused = post_form(client, f"/coordinator/reports/{report_id}/malicious", data)
    assert refused.status_code == 400
    assert "Please check the form" in plain(refused)
    assert _state(conn) == before


def test_the_service_itself_refuses_a_mark_without_confirmation(app, conn, keys_dir) -> None:
    report_id = make_report(app)
    client, coordinator = coordinator_client(app)
    _read_report(client, keys_dir, report_id)
    before = _state(conn)
    for kwargs in ({"reason": "invented"}, {"reason": "nope", "confirmed": True}):
        with pytest.raises(DecisionRefused):
            report_review.mark_malicious(conn, load_keys(app), report_id,
                                         coordinator.account_id, state(app).clock(), **kwargs)
    assert _state(conn) == before


def test_undo_malicious_restores_prior_status(app, conn, keys_dir) -> None:
    report_id = make_report(app)
    client, coordinator = coordinator_client(app)
    _read_report(client, keys_dir, report_id)
    before = _row(conn, "reports", report_id)
    assert conn.execute("SELECT status FROM reports WHERE id = ?",
                        (report_id,)).fetchone()[0] == "under_review"
    url = f"/coordinator/reports/{report_id}"
    done = post_form(client, f"{url}/malicious", {"reason": "targets_someone", "confirm": "y",
                                                  "note": NOTE})
    assert done.status_code == 302
    assert conn.execute("SELECT status, malicious FROM reports WHERE id = ?",
                        (report_id,)).fetchone() == ("closed", 1)
    assert "Undo the malicious mark" in plain(client.get(url))
    page = client.get(f"{url}/malicious/undo")
    assert page.status_code == 200 and "status it had before" in plain(page)
    refused = post_form(client, f"{url}/malicious/undo", {"reason": "marked_by_mistake"})
    assert refused.status_code == 400
    undone = post_form(client, f"{url}/malicious/undo", {"reason": "marked_by_mistake",
                                                         "confirm": "y"})
    assert undone.status_code == 302
    assert _row(conn, "reports", report_id) == before
    marked, undo = [b for b in _bodies(conn) if b.get("event", "").startswith("report_marked")]
    assert marked["reason"] == "targets_someone" and marked["previous_status"] == "under_review"
    assert marked["note"].startswith("decision_notes/")
    assert (undo["event"], undo["reason"], undo["restored_status"], undo["actor"]) == (
        "report_marked_malicious_undone", "marked_by_mistake", "under_review",
        coordinator.account_id)
    # The report's own history shows the mark taken off, not only the mark.
    events = conn.execute("SELECT action, actor_id FROM report_events WHERE report_id = ? "
                          "ORDER BY id", (report_id,)).fetchall()
    assert [tuple(e) for e in events][-2:] == [("malicious", coordinator.account_id),
                                               ("malicious_undone", coordinator.account_id)]
    again = post_form(client, f"{url}/malicious/undo", {"reason": "marked_by_mistake",
                                                        "confirm": "y"})
    assert again.status_code == 409, "nothing to undo twice"


def test_decision_note_is_sealed(app, conn, config, keys_dir, database_key, all_logs,
                                 vetting_key) -> None:
    report_id = make_report(app)
    client, coordinator = coordinator_client(app)
    _read_report(client, keys_dir, report_id)
    assert post_form(client, f"/coordinator/reports/{report_id}/malicious",
                     {"reason": "invented", "confirm": "y", "note": NOTE}).status_code == 302
    values = [NOTE, "Canaryqz note", "Jane Roe", "12 Example Street"]
    for path in canary.database_files(config.database_path):
        assert canary.find(path.read_bytes(), values) == [], path.name
    assert canary.find(canary.decrypted_dump(config.database_path, database_key), values) == []
    assert canary.find(all_logs.text.encode(), values) == []
    # The log names the note by its row; the vetting key opens it, and that is logged too.
    [entry] = [b for b in _bodies(conn) if b.get("event") == "report_marked_malicious"]
    note_id = entry["note"].removeprefix("decision_notes/")
    assert conn.execute("SELECT event, record, actor_id FROM decision_notes WHERE id = ?",
                        (note_id,)).fetchone() == (
        "report_marked_malicious", f"reports/{report_id}", coordinator.account_id)
    opened = unseal(conn, UnsealRequest(
        actor_id=coordinator.account_id, purpose="report_review", table="decision_notes",
        row_ids=[note_id], fields={"body": ["note"]}), vetting_key, state(app).clock())
    assert opened[note_id]["body"]["note"] == NOTE
    assert _bodies(conn)[-1]["records"] == [f"decision_notes/{note_id}"]


# Revoking and recording a leave.

def test_revoke_page_has_no_reason_chosen_in_advance(app) -> None:
    member = make_member(app)
    client, _ = coordinator_client(app)
    page = client.get(f"/coordinator/members/{member.member_id}/revoke")
    assert page.status_code == 200
    assert "checked" not in page.get_data(as_text=True)
    assert "False membership" in plain(page) and "cannot be undone" in plain(page)


@pytest.mark.parametrize("data", [{"reason": "false_membership"}, {"confirm": "y"},
                                  {"reason": "gossip", "confirm": "y"}])
def test_revoke_refuses_without_confirmation_and_changes_nothing(app, conn, data) -> None:
    member = make_member(app)
    client, _ = coordinator_client(app)
    before = _state(conn)
    refused = post_form(client, f"/coordinator/members/{member.member_id}/revoke", data)
    assert refused.status_code == 400
    assert _state(conn) == before
    assert signed_in_client(app, member).get("/account").status_code == 200


def test_revoke_with_confirmation_logs_reason_and_note_id(app, conn) -> None:
    member = make_member(app)
    client, coordinator = coordinator_client(app)
    done = post_form(client, f"/coordinator/members/{member.member_id}/revoke",
                     {"reason": "false_membership", "confirm": "y", "note": NOTE})
    assert done.status_code == 302
    entry = _bodies(conn)[-1]
    assert (entry["event"], entry["reason"], entry["actor"]) == (
        "membership_revoked", "false_membership", coordinator.account_id)
    assert NOTE not in json.dumps(entry) and entry["note"].startswith("decision_notes/")


@pytest.mark.parametrize("data", [{"reason": "asked_by_email"}, {"confirm": "y"}])
def test_record_leave_refuses_without_confirmation_or_reason_and_changes_nothing(
        app, conn, data) -> None:
    member = make_member(app)
    client, _ = coordinator_client(app)
    before = _state(conn)
    identity = conn.execute("SELECT identity, contact FROM members WHERE id = ?",
                            (member.member_id,)).fetchone()
    refused = post_form(client, f"/coordinator/members/{member.member_id}/leave", data)
    assert refused.status_code == 400
    assert _state(conn) == before
    assert conn.execute("SELECT identity, contact FROM members WHERE id = ?",
                        (member.member_id,)).fetchone() == identity


def test_record_leave_with_confirmation_logs_how_the_member_asked(app, conn) -> None:
    member = make_member(app)
    client, _ = coordinator_client(app)
    assert "cannot be brought back" in plain(
        client.get(f"/coordinator/members/{member.member_id}/leave"))
    done = post_form(client, f"/coordinator/members/{member.member_id}/leave",
                     {"reason": "asked_by_phone", "confirm": "y"})
    assert done.status_code == 302
    entry = _bodies(conn)[-1]
    assert (entry["event"], entry["reason"], entry["recorded_by"]) == (
        "leave_recorded", "asked_by_phone", "coordinator")
    assert "note" not in entry
    assert conn.execute("SELECT status FROM members WHERE id = ?",
                        (member.member_id,)).fetchone()[0] == "left"


# Withdrawing an alert, and undoing it.

def _index_rows(conn, alert_id: str) -> list[tuple]:
    return sorted(tuple(r) for r in conn.execute(
        "SELECT * FROM alert_identifier_index WHERE alert_id = ?", (alert_id,)))


@pytest.mark.parametrize("data", [{"reason": "inaccurate"}, {"confirm": "y"},
                                  {"reason": "withdrawn_by_mistake", "confirm": "y"}])
def test_withdraw_refuses_without_confirmation_and_changes_nothing(app, conn, data) -> None:
    alert_id = make_published_alert(app, identifiers=(("handle", "dodgy_dave"),))
    client, _ = coordinator_client(app)
    before, index = _state(conn), _index_rows(conn, alert_id)
    refused = post_form(client, f"/coordinator/alerts/{alert_id}/withdraw", data)
    assert refused.status_code == 400
    assert _state(conn) == before and _index_rows(conn, alert_id) == index


def test_undo_withdrawal_restores_the_published_alert(app, conn) -> None:
    alert_id = make_published_alert(app, identifiers=(("handle", "dodgy_dave"),))
    client, coordinator = coordinator_client(app)
    url = f"/coordinator/alerts/{alert_id}"
    before, index = _row(conn, "alerts", alert_id), _index_rows(conn, alert_id)
    assert index, "the published alert's identifiers are indexed for the checker"
    assert "It can be published again" in plain(client.get(f"{url}/withdraw"))
    assert post_form(client, f"{url}/withdraw",
                     {"reason": "duplicate", "confirm": "y"}).status_code == 302
    assert conn.execute("SELECT status FROM alerts WHERE id = ?",
                        (alert_id,)).fetchone()[0] == "withdrawn"
    assert _index_rows(conn, alert_id) == []
    assert "Publish it again" in plain(client.get(url))
    assert post_form(client, f"{url}/withdraw/undo",
                     {"reason": "withdrawn_by_mistake"}).status_code == 400
    assert post_form(client, f"{url}/withdraw/undo",
                     {"reason": "withdrawn_by_mistake", "confirm": "y"}).status_code == 302
    assert _row(conn, "alerts", alert_id) == before
    assert _index_rows(conn, alert_id) == index
    member = signed_in_client(app, make_member(app))
    assert member.get(f"/alerts/{alert_id}").status_code == 200
    events = [(b["event"], b.get("reason")) for b in _bodies(conn)
              if b.get("event", "").startswith("alert_withdraw")]
    assert events == [("alert_withdrawn", "duplicate"),
                      ("alert_withdrawal_undone", "withdrawn_by_mistake")]
    assert _bodies(conn)[-1]["actor"] == coordinator.account_id
    history = plain(client.get(f"{url}/versions"))
    assert "Withdrawn on" in history and "Published again on" in history
    assert "It was withdrawn by mistake" in history
    refused = post_form(client, f"{url}/withdraw/undo",
                        {"reason": "withdrawn_by_mistake", "confirm": "y"})
    assert refused.status_code == 409


def test_the_alert_service_refuses_a_withdrawal_without_confirmation(app, conn) -> None:
    alert_id = make_published_alert(app)
    before = _state(conn)
    with pytest.raises(DecisionRefused):
        alerts.withdraw(conn, alert_id, None, state(app).clock(), reason="duplicate")
    assert _state(conn) == before


# A staff login closed by mistake.

def test_enabling_a_login_disabled_by_mistake_restores_it_and_sessions_stay_ended(
        app, conn) -> None:
    client, _ = coordinator_client(app)
    other = make_staff(app, "coordinator")
    other_client = signed_in_client(app, other)
    url = f"/coordinator/staff/{other.account_id}"
    before = _row(conn, "accounts", other.account_id)
    refused = post_form(client, f"{url}/disable", {"reason": "left"}, form_url=url)
    assert refused.status_code == 400 and _row(conn, "accounts", other.account_id) == before
    assert post_form(client, f"{url}/disable", {"reason": "device_lost", "confirm": "y",
                                                "note": NOTE}, form_url=url).status_code == 302
    assert other_client.get("/coordinator/").status_code in (302, 303)
    assert "Sessions that ended" in plain(client.get(url))
    assert post_form(client, f"{url}/enable", {"reason": "disabled_by_mistake",
                                               "confirm": "y"}, form_url=url).status_code == 302
    assert _row(conn, "accounts", other.account_id) == before
    assert other_client.get("/coordinator/").status_code in (302, 303), "sessions stay ended"
    disabled, enabled = [b for b in _bodies(conn) if b.get("event") in ("staff_disabled",
                                                                        "staff_enabled")]
    assert disabled["note"].startswith("decision_notes/") and NOTE not in json.dumps(disabled)
    assert (enabled["reason"], enabled["records"]) == ("disabled_by_mistake",
                                                       [f"accounts/{other.account_id}"])


def test_a_staff_note_too_long_is_refused_and_changes_nothing(app, conn) -> None:
    coordinator = make_staff(app, "coordinator")
    other = make_staff(app, "coordinator")
    before = _state(conn)
    with pytest.raises(staff_logins.StaffError):
        staff_logins.disable(conn, other.account_id, reason="left", actor=coordinator.account_id,
                             now=state(app).clock(), note="x" * 2001, keys=load_keys(app))
    assert _state(conn) == before


# Disclosing: the last step.

def _approved_request(app, keys_dir):
    member = make_member(app)
    first, alice = _coordinator(app)
    second, _bob = _coordinator(app)
    unlock(first, keys_dir)
    request_id = _record(first, member.member_id)
    assert _approve(second, request_id).status_code == 302
    return first, alice, request_id


@pytest.mark.parametrize("data", [{"reason": "basis_checked"}, {"confirm": "y"},
                                  {"reason": "curiosity", "confirm": "y"}])
def test_disclose_refuses_without_confirmation_and_opens_nothing(app, conn, keys_dir,
                                                                 data) -> None:
    first, _alice, request_id = _approved_request(app, keys_dir)
    url = f"/coordinator/disclosures/{request_id}/disclose"
    page = first.get(url)
    assert page.status_code == 200 and "cannot be undone" in plain(page)
    before = _state(conn)
    refused = post_form(first, url, data)
    assert refused.status_code == 400
    assert _state(conn) == before
    assert not any("event" not in b and b["purpose"] == "disclosure" for b in _bodies(conn))


def test_disclose_logs_its_reason_and_note_id_in_the_unseal_entry(app, conn, keys_dir) -> None:
    first, alice, request_id = _approved_request(app, keys_dir)
    done = post_form(first, f"/coordinator/disclosures/{request_id}/disclose",
                     {"reason": "urgent_risk", "confirm": "y", "note": NOTE})
    assert done.status_code == 200
    [entry] = [b for b in _bodies(conn) if "event" not in b and b["purpose"] == "disclosure"]
    assert (entry["actor"], entry["reason"]) == (alice.account_id, "urgent_risk")
    assert entry["note"].startswith("decision_notes/") and NOTE not in json.dumps(_bodies(conn))


def test_the_membership_service_refuses_a_revocation_without_confirmation(app, conn) -> None:
    member = make_member(app)
    coordinator = make_staff(app, "coordinator")
    before = _state(conn)
    with pytest.raises(DecisionRefused):
        memberships.revoke(conn, member.member_id, "false_membership", coordinator.account_id,
                           state(app).clock())
    assert _state(conn) == before
    assert disclosure_log.verify(conn).ok


def test_recording_a_leave_offers_no_note_and_keeps_none_that_is_posted(app, conn,
                                                                        config) -> None:
    """The member's details are deleted: a note naming them must not outlive that."""
    from tests import canary

    member = make_member(app)
    client, _ = coordinator_client(app)
    page = client.get(f"/coordinator/members/{member.member_id}/leave").get_data(as_text=True)
    assert 'name="note"' not in page and 'name="reason"' in page
    done = post_form(client, f"/coordinator/members/{member.member_id}/leave",
                     {"reason": "asked_by_phone", "confirm": "y",
                      "note": "Leaver canary Jane Roe of 9 Example Street"})
    assert done.status_code == 302
    assert "note" not in _bodies(conn)[-1]
    assert conn.execute("SELECT count(*) FROM decision_notes").fetchone()[0] == 0
    for path in canary.database_files(config.database_path):
        assert canary.find(path.read_bytes(), ["Leaver canary Jane Roe"]) == [], path.name
