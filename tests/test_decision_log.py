"""Every consequential decision is in the disclosure log: who, what, which record, why.

Entries are written in the decision's own transaction, carry ids and reason codes only,
and are shown to auditors in words, filtered by event and exported with staff names.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from app.alerts import service as alerts
from app.audit import browse
from app.audit.labels import EVENT_LABELS
from app.coordinator import reports as report_review
from app.membership import decisions as memberships
from app.vault import log as disclosure_log
from app.web.state import load_keys, state
from crypto.blind_index import BlindIndexer
from tests.flows import apply, coordinator_client, decide, member_id_of, unlock, unseal
from tests.people import (
    make_member,
    make_published_alert,
    make_report,
    make_staff,
    signed_in_client,
)
from tests.webtools import post_form


def _bodies(conn) -> list[dict[str, object]]:
    return [dict(e.body) for e in disclosure_log.entries(conn)]


def _last(conn) -> dict[str, object]:
    return _bodies(conn)[-1]


def _count(conn) -> int:
    return len(disclosure_log.entries(conn))


def test_every_event_the_log_knows_has_words_for_auditors() -> None:
    assert {event.value for event in disclosure_log.Event} <= set(EVENT_LABELS)


def test_membership_decisions_are_logged_with_ids_reasons_and_who(app, conn) -> None:
    now = state(app).clock()
    coordinator = make_staff(app, "coordinator")
    rejected = member_id_of(conn, apply(app, "project"))
    question_id = memberships.request_info(conn, rejected, "website", "Which page?",
                                           coordinator.account_id, now)
    assert _last(conn) | {"at": ""} == {
        "at": "", "actor": coordinator.account_id, "event": "information_requested",
        "purpose": "vetting", "records": [f"members/{rejected}"], "reason": "website",
        "question": f"application_questions/{question_id}"}
    memberships.reject(conn, rejected, "unverifiable", coordinator.account_id, now)
    assert (_last(conn)["event"], _last(conn)["reason"]) == ("application_rejected",
                                                             "unverifiable")

    approved = member_id_of(conn, apply(app, email="second@example.org",
                                        mobile="07700 900124"))
    memberships.approve(conn, approved, coordinator.account_id, now, read=False,
                        reason="known_in_person")
    entry = _last(conn)
    assert (entry["event"], entry["read"], entry["reason"]) == (
        "application_approved", False, "known_in_person")
    memberships.revoke(conn, approved, "false_membership", coordinator.account_id, now,
                       confirmed=True)
    assert (_last(conn)["event"], _last(conn)["reason"]) == ("membership_revoked",
                                                             "false_membership")

    leaver = make_member(app)
    assert leaver.member_id is not None
    memberships.leave(conn, leaver.member_id, coordinator.account_id, now,
                      recorded_by_coordinator=True, reason="asked_by_email", confirmed=True)
    assert _last(conn) | {"at": ""} == {
        "at": "", "actor": coordinator.account_id, "event": "leave_recorded",
        "records": [f"members/{leaver.member_id}"], "recorded_by": "coordinator",
        "reason": "asked_by_email"}
    assert disclosure_log.verify(conn).ok


def test_a_refused_decision_writes_no_entry(app, conn) -> None:
    now = state(app).clock()
    coordinator = make_staff(app, "coordinator")
    member = make_member(app)
    assert member.member_id is not None
    before = _count(conn)
    with pytest.raises(memberships.DecisionError):
        memberships.approve(conn, member.member_id, coordinator.account_id, now, read=True)
    with pytest.raises(memberships.DecisionError):
        memberships.reject(conn, member.member_id, "unverifiable", coordinator.account_id, now)
    assert _count(conn) == before


def test_approving_without_reading_needs_a_listed_reason(app, conn) -> None:
    member_id = member_id_of(conn, apply(app))
    with pytest.raises(memberships.DecisionError):
        memberships.approve(conn, member_id, "x", state(app).clock(), read=False)
    with pytest.raises(memberships.DecisionError):
        memberships.approve(conn, member_id, "x", state(app).clock(), read=False,
                            reason="because")
    assert conn.execute("SELECT status FROM members WHERE id = ?",
                        (member_id,)).fetchone()[0] == "pending"


def test_approve_on_the_page_needs_the_application_opened_in_this_unlock_or_a_reason(
        app, conn, keys_dir) -> None:
    member_id = member_id_of(conn, apply(app))
    coordinator, person = coordinator_client(app)
    page = coordinator.get(f"/coordinator/applications/{member_id}").get_data(as_text=True)
    assert "Approve without reading" in page
    before = _count(conn)
    refused = post_form(coordinator, f"/coordinator/applications/{member_id}/approve", {},
                        form_url=f"/coordinator/applications/{member_id}")
    assert refused.status_code == 400
    assert "Open the details first" in refused.get_data(as_text=True)
    assert _count(conn) == before
    assert conn.execute("SELECT status FROM members WHERE id = ?",
                        (member_id,)).fetchone()[0] == "pending"

    assert unlock(coordinator, keys_dir).status_code == 302
    assert unseal(coordinator, member_id).status_code == 200
    page = coordinator.get(f"/coordinator/applications/{member_id}").get_data(as_text=True)
    assert "Approve without reading" not in page
    assert post_form(coordinator, f"/coordinator/applications/{member_id}/approve", {},
                     form_url=f"/coordinator/applications/{member_id}").status_code == 302
    entry = _last(conn)
    assert (entry["event"], entry["read"], entry["actor"]) == (
        "application_approved", True, person.account_id)
    assert "reason" not in entry


def test_an_opening_before_the_latest_unlock_does_not_count_as_read(app, conn,
                                                                     keys_dir) -> None:
    member_id = member_id_of(conn, apply(app))
    coordinator, person = coordinator_client(app)
    assert unlock(coordinator, keys_dir).status_code == 302
    assert unseal(coordinator, member_id).status_code == 200
    record = f"members/{member_id}"
    purpose = disclosure_log.Purpose.VETTING
    assert disclosure_log.opened_since_unlock(conn, person.account_id, record, purpose)
    assert unlock(coordinator, keys_dir).status_code == 302
    assert not disclosure_log.opened_since_unlock(conn, person.account_id, record, purpose)
    other = make_staff(app, "coordinator")
    assert not disclosure_log.opened_since_unlock(conn, other.account_id, record, purpose)


def test_marking_a_report_malicious_is_logged(app, conn, keys_dir) -> None:
    report_id = make_report(app)
    client, coordinator = coordinator_client(app)
    assert unlock(client, keys_dir).status_code == 302
    assert post_form(client, f"/coordinator/reports/{report_id}/unseal", {},
                     form_url=f"/coordinator/reports/{report_id}").status_code == 200
    report_review.mark_malicious(conn, load_keys(app), report_id, coordinator.account_id,
                                 state(app).clock(), reason="invented", confirmed=True)
    entry = _last(conn)
    assert (entry["event"], entry["records"], entry["purpose"], entry["reason"]) == (
        "report_marked_malicious", [f"reports/{report_id}"], "report_review", "invented")


def test_alert_publish_edit_and_withdraw_are_logged(app, conn) -> None:
    now = state(app).clock()
    coordinator = make_staff(app, "coordinator")
    indexer = BlindIndexer(load_keys(app).index_key)
    alert_id = alerts.create(conn, coordinator.account_id, now)
    draft = alerts.AlertDraft(title="Canaryqz alert title", national=True, areas=(),
                              categories=["threats"], incident_date=now.date().isoformat(),
                              description="Canaryqz alert text", identifiers=())
    alerts.save(conn, indexer, alert_id, draft, coordinator.account_id, now)
    before = _count(conn)
    assert before == 0, "saving a draft is not a decision"
    alerts.publish(conn, indexer, alert_id, coordinator.account_id, now)
    alerts.save(conn, indexer, alert_id, draft, coordinator.account_id, now)
    alerts.withdraw(conn, alert_id, coordinator.account_id, now, reason="duplicate",
                    confirmed=True)
    events = [(b["event"], b.get("version")) for b in _bodies(conn)]
    assert events == [("alert_published", 1), ("alert_edited", 2), ("alert_withdrawn", None)]
    assert all(b["records"][0] == f"alerts/{alert_id}" for b in _bodies(conn))
    assert "Canaryqz" not in json.dumps(_bodies(conn))
    with pytest.raises(alerts.AlertInvalid):
        alerts.withdraw(conn, alert_id, coordinator.account_id, now, reason="duplicate",
                        confirmed=True)
    assert _count(conn) == 3


def test_auditors_filter_by_any_decision_event_and_the_csv_names_staff(app, conn) -> None:
    coordinator, person = coordinator_client(app)
    member_id = member_id_of(conn, apply(app))
    assert decide(coordinator, member_id, "reject", reason="unverifiable").status_code == 302
    alert_id = make_published_alert(app)
    auditor = signed_in_client(app, make_staff(app, "auditor"))
    page = auditor.get("/audit/").get_data(as_text=True)
    for event in ("application_rejected", "membership_revoked", "alert_withdrawn"):
        assert f'value="{event}"' in page, "every event can be chosen, logged yet or not"
    assert "Application rejected" in page
    shown = auditor.get("/audit/", query_string={"event": "application_rejected"})
    text = shown.get_data(as_text=True)
    assert f"members/{member_id}" in text and f"alerts/{alert_id}" not in text
    table = list(csv.reader(io.StringIO(auditor.get(
        "/audit/log.csv", query_string={"event": "application_rejected"}).get_data(
        as_text=True))))
    assert tuple(table[0]) == browse.CSV_COLUMNS and len(table) == 2
    row = dict(zip(browse.CSV_COLUMNS, table[1], strict=True))
    assert row["actor"] == person.account_id and row["actor_name"] == person.username
    assert json.loads(row["details"]) == {"reason": "unverifiable"}


def test_a_coordinators_week_leaves_every_decision_in_the_log_in_order(app, conn,
                                                                     keys_dir) -> None:
    from tests.flows import applicant
    from tests.people import sign_in
    from tests.test_disclosures import _act, _approve, _record

    first, alice = coordinator_client(app)
    second, _bob = coordinator_client(app)
    # Monday: an organisation applies, is asked a question, answers; it is approved.
    username = apply(app, "project")
    org_id = member_id_of(conn, username)
    assert decide(first, org_id, "request-info", reason="website",
                  question="Which page shows your outreach work?").status_code == 302
    org = app.test_client()
    sign_in(app, org, applicant(username))
    from app.membership import questions

    (question,) = questions.for_application(conn, org_id)
    url = f"/account/messages/questions/{question.id}"
    assert post_form(org, f"{url}/answer", {"answer": "The Projects page."},
                     form_url=url).status_code == 302
    assert unlock(first, keys_dir).status_code == 302
    assert post_form(first, f"/coordinator/applications/{org_id}/answers", {},
                     form_url=f"/coordinator/applications/{org_id}").status_code == 200
    assert unseal(first, org_id).status_code == 200
    assert post_form(first, f"/coordinator/applications/{org_id}/approve", {},
                     form_url=f"/coordinator/applications/{org_id}").status_code == 302
    # Tuesday: a member reports; the report is read and an alert is drafted from it.
    reporter = make_member(app)
    report_id = make_report(app, reporter)
    report_url = f"/coordinator/reports/{report_id}"
    assert post_form(first, f"{report_url}/unseal", {}, form_url=report_url).status_code == 200
    drafted = post_form(first, f"{report_url}/alert", {}, form_url=report_url)
    alert_id = drafted.headers["Location"].rsplit("/", 1)[-1]
    alert_url = f"/coordinator/alerts/{alert_id}"
    fields = {"title": "Threats near the station", "areas": "ldn", "categories": "threats",
              "incident_date": state(app).clock().date().isoformat(),
              "description": "A man threatened a worker."}
    # Wednesday: published, then edited; Thursday: withdrawn.
    assert post_form(first, alert_url, {**fields, "action": "publish"}).status_code == 302
    assert post_form(first, alert_url, {**fields, "title": "Threats at the station",
                                        "notify_again": "no", "action": "save"}
                     ).status_code == 302
    assert post_form(first, f"{alert_url}/withdraw", {"reason": "inaccurate", "confirm": "y"},
                     form_url=alert_url).status_code == 302
    # Friday: the reporter's membership is revoked; a disclosure about the organisation.
    assert post_form(first, f"/coordinator/members/{reporter.member_id}/revoke",
                     {"reason": "malicious_reporting", "confirm": "y"},
                     form_url=f"/coordinator/members/{reporter.member_id}").status_code == 302
    request_id = _record(first, org_id)
    assert _approve(second, request_id).status_code == 302
    assert _act(first, request_id, "disclose").status_code == 200

    decisions = [e for e in (b.get("event") for b in _bodies(conn))
                 if e not in (None, "vetting_key_unlocked", "contact_index_key_created")]
    assert decisions == [
        "information_requested", "information_answered", "application_approved",
        "alert_published", "alert_edited", "alert_withdrawn", "membership_revoked",
        "disclosure_requested", "disclosure_approved", "member_notified"]
    assert all(b["actor"] == alice.account_id for b in _bodies(conn)
               if b.get("event") in ("application_approved", "alert_withdrawn",
                                     "membership_revoked"))

    auditor = signed_in_client(app, make_staff(app, "auditor"))
    page = auditor.get("/audit/").get_data(as_text=True)
    page = page[page.index('id="entries-heading"'):]  # the entries, not the filter's choices
    labels = [str(EVENT_LABELS[e]) for e in decisions]
    positions = [page.find(label) for label in reversed(labels)]  # newest first on the page
    assert -1 not in positions and positions == sorted(positions)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
