"""Disclosures: four eyes, once only, logged first, the member told (now or when a delay
ends), the scheme as intermediary, and the consented police export."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from flask import Flask

from app.disclosures import contact, service
from app.disclosures.notices import release_due_notices
from app.vault import db
from app.vault import log as disclosure_log
from app.web.state import state
from app.worker.scheduler import Jobs
from crypto.keystore import load_server_keys
from tests import canary
from tests.flows import unlock
from tests.people import Person, make_member, make_report, make_staff, signed_in_client
from tests.webtools import plain, post_form

REQUESTER = "DC Canary Requester-7342"
REFERENCE = "CANARY-REF-88215"
JUSTIFICATION = "Canary justification: re the woman at 12 Canaryfold Street"
WORK_NAME = "Canary Workname Velvetine"
EMAIL = "canary.velvetine@example.org"


# Makers, also used by tests/test_routes_by_role.py.

def _conn(app: Flask) -> db.Connection:
    st = state(app)
    return db.connect(st.config.database_path,
                      load_server_keys(st.config.keys_dir).database_key)


def make_disclosure_request(app: Flask, requester: Person, member_id: str, **changes: object
                            ) -> str:
    """A pending request about one member, recorded through the service."""
    submission = service.RequestSubmission(**{
        "authority": "met", "requester": REQUESTER, "reference": REFERENCE,
        "legal_basis": "risk_to_life", "subject_table": "members", "record_ids": member_id,
        "fields": ["identity.work_name", "contact.email"], "justification": JUSTIFICATION,
        **changes})
    st = state(app)
    conn = _conn(app)
    try:
        return service.record_request(conn, load_server_keys(st.config.keys_dir),
                                      requester.account_id, submission, st.clock())
    finally:
        conn.close()


def make_contact_request(app: Flask, coordinator: Person, report_id: str) -> tuple[str, str]:
    """A request to contact a report's reporter; returns (contact id, message id)."""
    st = state(app)
    conn = _conn(app)
    try:
        contact_id = contact.send_contact_request(
            conn, load_server_keys(st.config.keys_dir), coordinator.account_id,
            contact.ContactSubmission(report_id=report_id, authority="met",
                                      reason="statement",
                                      fields=["identity.work_name", "contact.email"],
                                      requester=REQUESTER, reference=REFERENCE),
            st.clock())
        message_id = conn.execute("SELECT id FROM member_messages WHERE contact_request_id "
                                  "= ?", (contact_id,)).fetchone()[0]
    finally:
        conn.close()
    return contact_id, message_id


# Page helpers.

def _coordinator(app: Flask):
    person = make_staff(app, "coordinator")
    return signed_in_client(app, person), person


def _request_form(member_id: str, **changes: object) -> dict[str, object]:
    return {"authority": "met", "requester": REQUESTER, "reference": REFERENCE,
            "legal_basis": "risk_to_life", "subject_table": "members",
            "record_ids": member_id, "fields": ["identity.work_name", "contact.email"],
            "justification": JUSTIFICATION, **changes}


def _record(client, member_id: str, **changes: object) -> str:
    response = post_form(client, "/coordinator/disclosures/new",
                         _request_form(member_id, **changes))
    assert response.status_code == 302, plain(response)[:1500]
    return response.headers["Location"].rsplit("/", 1)[-1]


def _act(client, request_id: str, action: str, **data: object):
    return post_form(client, f"/coordinator/disclosures/{request_id}/{action}", data,
                     form_url=f"/coordinator/disclosures/{request_id}")


def _approve(client, request_id: str):
    return _act(client, request_id, "approve", read_it="y")


def _bodies(conn) -> list[dict]:
    return [dict(entry.body) for entry in disclosure_log.entries(conn)]


def _disclosure_entries(conn, record: str) -> list[dict]:
    """Unseal entries (no "event") that opened the record for a disclosure."""
    return [b for b in _bodies(conn) if "event" not in b and b["purpose"] == "disclosure"
            and record in b["records"]]


def _member(app: Flask, **changes: object) -> Person:
    return make_member(app, **{"work_name": WORK_NAME, "email": EMAIL,
                               "alert_channel": "email", **changes})


def test_a_disclosure_cannot_be_unsealed_with_one_coordinator_it_can_with_two_once_and_the_member_is_told(  # noqa: E501
        app, conn, keys_dir) -> None:
    member = _member(app)
    first, alice = _coordinator(app)
    second, bob = _coordinator(app)
    unlock(first, keys_dir)
    request_id = _record(first, member.member_id)

    # One coordinator: no approval of their own, no disclosure without approval.
    own = _approve(first, request_id)
    assert own.status_code == 403
    assert "cannot approve it: a second, different coordinator must" in plain(own)
    early = _act(first, request_id, "disclose")
    assert early.status_code == 409 and WORK_NAME not in plain(early)
    assert conn.execute("SELECT status, decided_by FROM disclosure_requests").fetchone() == (
        "pending", None)
    assert _disclosure_entries(conn, f"members/{member.member_id}") == []

    # A second coordinator approves; only the requester discloses, and only once.
    assert _approve(second, request_id).status_code == 302
    unlock(second, keys_dir)
    not_theirs = _act(second, request_id, "disclose")
    assert not_theirs.status_code == 403 and WORK_NAME not in plain(not_theirs)
    page = _act(first, request_id, "disclose")
    assert page.status_code == 200
    shown = plain(page)
    assert WORK_NAME in shown and EMAIL in shown and "Metropolitan Police Service" in shown
    assert REQUESTER not in shown, "the printable page opens only what was requested"
    again = _act(first, request_id, "disclose")
    assert again.status_code == 409 and WORK_NAME not in plain(again)
    assert "already been disclosed" in plain(again)

    entries = _disclosure_entries(conn, f"members/{member.member_id}")
    assert len(entries) == 1, "unsealed once"
    entry = entries[0]
    assert entry["actor"] == alice.account_id and entry["approver"] == bob.account_id
    assert entry["legal_basis"] == "risk_to_life"
    assert entry["fields"] == ["contact.email", "identity.work_name"]
    assert entry["request"] == f"disclosure_requests/{request_id}"
    assert entry["member_notified"] is False  # at that moment; the next entry says when

    # The member's notice is queued, and the message is in their account.
    assert conn.execute("SELECT kind, member_id, channel, status FROM outbox").fetchall() == [
        ("disclosure", member.member_id, "email", "pending")]
    member_client = signed_in_client(app, member)
    inbox = plain(member_client.get("/account/messages"))
    assert "Information about you was shared" in inbox
    message_id = conn.execute("SELECT id FROM member_messages").fetchone()[0]
    message = plain(member_client.get(f"/account/messages/{message_id}"))
    assert "Metropolitan Police Service" in message and "Work name" in message
    assert "Risk of harm so severe" in message
    assert REQUESTER not in message and JUSTIFICATION not in message

    # Everything is in the log, in order.
    bodies = _bodies(conn)
    events = [b.get("event", "unseal") for b in bodies]
    unlocked = [i for i, e in enumerate(events) if e == "vetting_key_unlocked"]
    requested = events.index("disclosure_requested")
    approved = events.index("disclosure_approved")
    disclosed = bodies.index(entry)
    notified = events.index("member_notified")
    assert unlocked and unlocked[0] < requested < approved < disclosed < notified
    assert bodies[approved]["actor"] == bob.account_id
    told = bodies[notified]
    assert told["records"] == [f"members/{member.member_id}"]
    assert told["member_notified"] is True and told["member_notified_at"]
    assert told["request"] == f"disclosure_requests/{request_id}"
    assert disclosure_log.verify(conn).ok
    assert conn.execute("SELECT status, decided_by, disclosed_by, notice_outcome FROM "
                        "disclosure_requests").fetchone() == (
        "disclosed", bob.account_id, alice.account_id, "notified")


def test_the_requester_cannot_approve_their_own_request_even_through_the_service(
        app, conn) -> None:
    member = _member(app)
    alice = make_staff(app, "coordinator")
    request_id = make_disclosure_request(app, alice, member.member_id)
    with pytest.raises(service.NotAllowed) as refused:
        service.approve(conn, request_id, alice.account_id, state(app).clock())
    assert refused.value.status == 403
    # The schema refuses it too.
    with pytest.raises(db.IntegrityError):
        conn.execute("UPDATE disclosure_requests SET status = 'approved', decided_by = ? "
                     "WHERE id = ?", (alice.account_id, request_id))


def test_disclosing_needs_the_unlocked_key_and_opens_nothing_without_it(app, conn,
                                                                         keys_dir) -> None:
    member = _member(app)
    first, _alice = _coordinator(app)
    second, _bob = _coordinator(app)
    request_id = _record(first, member.member_id)
    _approve(second, request_id)
    locked = _act(first, request_id, "disclose")
    assert locked.status_code == 423 and WORK_NAME not in plain(locked)
    assert conn.execute("SELECT status FROM disclosure_requests").fetchone() == ("approved",)
    assert _disclosure_entries(conn, f"members/{member.member_id}") == []
    unlock(first, keys_dir)
    assert _act(first, request_id, "disclose").status_code == 200


def test_a_failed_unseal_gives_the_claim_back_and_opens_nothing(app, conn, vetting_key,
                                                                monkeypatch) -> None:
    member = _member(app)
    alice = make_staff(app, "coordinator")
    bob = make_staff(app, "coordinator")
    now = state(app).clock()
    request_id = make_disclosure_request(app, alice, member.member_id)
    service.approve(conn, request_id, bob.account_id, now)

    def broken(*_args: object) -> dict:
        raise RuntimeError("envelope would not open")

    monkeypatch.setattr("app.vault.unseal.opening.open_group", broken)
    with pytest.raises(RuntimeError):
        service.disclose(conn, vetting_key, request_id, alice.account_id, now)
    assert conn.execute("SELECT status, disclosed_by, disclosed_at FROM disclosure_requests"
                        ).fetchone() == ("approved", None, None)
    assert _disclosure_entries(conn, f"members/{member.member_id}") == [], "no entry kept"
    monkeypatch.undo()
    done = service.disclose(conn, vetting_key, request_id, alice.account_id, now)
    assert done.opened[member.member_id]["identity"]["work_name"] == WORK_NAME
    with pytest.raises(service.NotAllowed):
        service.disclose(conn, vetting_key, request_id, alice.account_id, now)


def test_the_disclosure_page_prints_without_script(app, keys_dir) -> None:
    member = _member(app)
    first, _alice = _coordinator(app)
    second, _bob = _coordinator(app)
    unlock(first, keys_dir)
    request_id = _record(first, member.member_id)
    _approve(second, request_id)
    page = _act(first, request_id, "disclose")
    html = page.get_data(as_text=True)
    assert "Print command" in html and 'class="no-print' in html
    assert [s for s in html.split("<script")[1:] if "quick-exit.js" not in s] == []
    assert "no-store" in page.headers["Cache-Control"]
    css = app.test_client().get("/static/style.css").get_data(as_text=True)
    assert "@media print" in css and ".no-print" in css


def test_a_delayed_notice_is_not_queued_until_its_review_date_passes(app, conn,
                                                                     keys_dir) -> None:
    member = _member(app)
    first, _alice = _coordinator(app)
    second, _bob = _coordinator(app)
    unlock(first, keys_dir)
    today = state(app).clock()
    review_on = (today + timedelta(days=10)).date().isoformat()
    request_id = _record(first, member.member_id, legal_basis="preventing_crime", delay="y",
                         delay_reason="prejudice_investigation", review_on=review_on)
    _approve(second, request_id)
    page = _act(first, request_id, "disclose")
    assert page.status_code == 200 and WORK_NAME in plain(page)

    def queued() -> int:
        return conn.execute("SELECT count(*) FROM outbox WHERE kind = 'disclosure'"
                            ).fetchone()[0]

    assert queued() == 0
    assert conn.execute("SELECT count(*) FROM member_messages").fetchone()[0] == 0
    entry = _disclosure_entries(conn, f"members/{member.member_id}")[0]
    assert entry["notice"] == "delayed" and entry["notice_review_on"] == review_on
    assert release_due_notices(conn, today) == 0
    assert release_due_notices(conn, today + timedelta(days=10)) == 0, "on the review day"
    assert queued() == 0
    assert release_due_notices(conn, today + timedelta(days=11)) == 1
    assert queued() == 1
    assert release_due_notices(conn, today + timedelta(days=12)) == 0, "told once"
    told = [b for b in _bodies(conn) if b.get("event") == "member_notified"]
    assert len(told) == 1 and told[0]["actor"] == "worker"
    message_id = conn.execute("SELECT id FROM member_messages").fetchone()[0]
    message = plain(signed_in_client(app, member).get(f"/account/messages/{message_id}"))
    assert "Why we could not tell you sooner" in message
    assert "prejudice the prevention or detection of a crime" in message


def test_a_delay_can_be_extended_before_its_review_date_and_is_logged(app, conn,
                                                                      keys_dir) -> None:
    member = _member(app)
    first, _alice = _coordinator(app)
    second, bob = _coordinator(app)
    unlock(first, keys_dir)
    today = state(app).clock()
    request_id = _record(first, member.member_id, legal_basis="court_order", delay="y",
                         delay_reason="court_order_forbids",
                         review_on=(today + timedelta(days=5)).date().isoformat())
    _approve(second, request_id)
    _act(first, request_id, "disclose")
    later = (today + timedelta(days=40)).date().isoformat()
    too_far = (today + timedelta(days=200)).date().isoformat()
    assert _act(second, request_id, "delay", delay_reason="court_order_forbids",
                review_on=too_far).status_code == 400
    assert _act(second, request_id, "delay", delay_reason="court_order_forbids",
                review_on=later).status_code == 302
    assert release_due_notices(conn, today + timedelta(days=20)) == 0
    extended = [b for b in _bodies(conn) if b.get("event") == "notice_delay_extended"]
    assert extended[0]["actor"] == bob.account_id and extended[0]["notice_review_on"] == later
    assert release_due_notices(conn, today + timedelta(days=41)) == 1


def test_consent_never_waits_and_a_review_date_is_bounded(app, conn) -> None:
    member = _member(app)
    alice = make_staff(app, "coordinator")
    today = state(app).clock().date()
    with pytest.raises(service.RequestInvalid) as invalid:
        make_disclosure_request(app, alice, member.member_id, delay=True,
                                delay_reason="bogus", review_on=today.isoformat())
    assert {"delay_reason", "review_on"} <= set(invalid.value.problems)
    with pytest.raises(service.RequestInvalid) as invalid:
        make_disclosure_request(app, alice, member.member_id, legal_basis="consent",
                                delay=True, delay_reason="child_at_risk",
                                review_on=(today + timedelta(days=3)).isoformat())
    assert {"delay", "contact_request_id"} <= set(invalid.value.problems)
    assert conn.execute("SELECT count(*) FROM disclosure_requests").fetchone()[0] == 0
    assert disclosure_log.entries(conn) == []


def test_a_bad_request_is_refused_with_messages_and_nothing_is_kept(app, conn) -> None:
    first, _alice = _coordinator(app)
    response = post_form(first, "/coordinator/disclosures/new", _request_form(
        "no-such-member", fields=["narrative.narrative"], justification="", authority="x"))
    assert response.status_code == 400
    page = plain(response)
    assert "1 of those ids matches no record." in page and "Say why this disclosure" in page
    assert "Choose who is asking" in page and "Choose only details" in page
    assert conn.execute("SELECT count(*) FROM disclosure_requests").fetchone()[0] == 0
    assert disclosure_log.entries(conn) == []


def test_a_refusal_is_recorded_with_its_reason_and_nothing_is_unsealed(app, conn,
                                                                      keys_dir) -> None:
    member = _member(app)
    first, _alice = _coordinator(app)
    second, bob = _coordinator(app)
    unlock(first, keys_dir)
    request_id = _record(first, member.member_id, legal_basis="court_order")
    no_reason = _act(second, request_id, "refuse", reason="")
    assert no_reason.status_code == 400
    refused = _act(second, request_id, "refuse", reason="not_binding",
                   note="Canary refusal note: no sealed order was produced")
    assert refused.status_code == 302
    assert conn.execute("SELECT status, decided_by, refusal_reason, decision IS NOT NULL "
                        "FROM disclosure_requests").fetchone() == (
        "refused", bob.account_id, "not_binding", 1)
    assert _approve(second, request_id).status_code == 409
    after = _act(first, request_id, "disclose")
    assert after.status_code == 409 and WORK_NAME not in plain(after)
    assert _disclosure_entries(conn, f"members/{member.member_id}") == []
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM member_messages").fetchone()[0] == 0
    refusal = [b for b in _bodies(conn) if b.get("event") == "disclosure_refused"]
    assert refusal[0]["reason"] == "not_binding" and refusal[0]["actor"] == bob.account_id
    shown = plain(first.get(f"/coordinator/disclosures/{request_id}"))
    assert "Not made by legally binding means" in shown
    # The sealed note is read like the request: logged, with the key.
    details = _act(first, request_id, "details")
    assert "Canary refusal note" in plain(details) and JUSTIFICATION in plain(details)
    read = [b for b in _bodies(conn) if b.get("records") == [f"disclosure_requests/{request_id}"]]
    assert read[-1]["fields"] == ["decision.note", "details.justification",
                                  "details.reference", "details.requester"]


def test_reports_can_be_disclosed_and_their_reporter_is_told(app, conn, keys_dir) -> None:
    reporter = _member(app)
    report_id = make_report(app, reporter, narrative="Canary narrative for the court",
                            identifiers=(("plate", "CN12 ARY"),))
    first, _alice = _coordinator(app)
    second, _bob = _coordinator(app)
    unlock(first, keys_dir)
    request_id = _record(first, report_id, subject_table="reports",
                         legal_basis="preventing_crime",
                         fields=["offender.identifiers", "narrative.narrative"])
    _approve(second, request_id)
    page = plain(_act(first, request_id, "disclose"))
    assert "Canary narrative for the court" in page and "CN12 ARY" in page
    assert WORK_NAME not in page
    assert conn.execute("SELECT member_id FROM outbox WHERE kind = 'disclosure'"
                        ).fetchone() == (reporter.member_id,)
    message_id = conn.execute("SELECT id FROM member_messages").fetchone()[0]
    message = plain(signed_in_client(app, reporter).get(f"/account/messages/{message_id}"))
    assert "from your report sent on" in message and "Canary narrative" not in message


def test_the_worker_sends_the_notice_once_the_delay_ends(app, conn, keys_dir, config,
                                                          database_key, vetting_key) -> None:
    from tests.loopback import smtp_server
    from tests.test_worker import _courier

    member = _member(app)
    alice = make_staff(app, "coordinator")
    bob = make_staff(app, "coordinator")
    now = state(app).clock()
    request_id = make_disclosure_request(
        app, alice, member.member_id, legal_basis="child_protection", delay=True,
        delay_reason="child_at_risk", review_on=(now + timedelta(days=2)).date().isoformat())
    service.approve(conn, request_id, bob.account_id, now)
    key = vetting_key  # the vetting key, as a coordinator's wrap gives it
    service.disclose(conn, key, request_id, alice.account_id, now)
    from crypto import keystore
    from tests.conftest import DELIVERY_PASSPHRASE

    courier_key = keystore.load_delivery_private_key(keys_dir, DELIVERY_PASSPHRASE)
    with smtp_server() as smtp:
        courier = _courier(courier_key, smtp)
        Jobs(config.database_path, database_key, courier, lambda: now, None).deliver()
        assert smtp.messages == []
        later = now + timedelta(days=3)
        Jobs(config.database_path, database_key, courier, lambda: later, None).deliver()
        [mail] = smtp.wait_for(1)
        assert mail.recipients == [EMAIL]
        assert "There is a new message in your account" in mail.body
        assert WORK_NAME not in mail.body


# Acting as intermediary.

def _contact_form(report_id: str, **changes: object) -> dict[str, object]:
    return {"report_id": report_id, "authority": "west_yorkshire", "reason": "statement",
            "fields": ["identity.work_name", "contact.email"], "requester": REQUESTER,
            "reference": REFERENCE, "note": "Canary intermediary note", **changes}


def _send_contact(client, report_id: str) -> str:
    response = post_form(client, "/coordinator/disclosures/contact/new",
                         _contact_form(report_id))
    assert response.status_code == 302, plain(response)[:1500]
    return response.headers["Location"].rsplit("/", 1)[-1]


def _answer(client, message_id: str, reply: str):
    return post_form(client, f"/account/messages/{message_id}/answer", {"answer": reply},
                     form_url=f"/account/messages/{message_id}")


def test_intermediary_message_reaches_the_member_and_no_means_no(app, conn,
                                                                 keys_dir) -> None:
    reporter = _member(app)
    report_id = make_report(app, reporter)
    first, _alice = _coordinator(app)
    contact_id = _send_contact(first, report_id)
    assert conn.execute("SELECT kind, member_id FROM outbox").fetchall() == [
        ("message", reporter.member_id)]
    member_client = signed_in_client(app, reporter)
    assert "A request to contact you" in plain(member_client.get("/account/messages"))
    message_id = conn.execute("SELECT id FROM member_messages").fetchone()[0]
    page = plain(member_client.get(f"/account/messages/{message_id}"))
    assert "West Yorkshire Police has asked us to put them in touch with you" in page
    assert "make a statement" in page and "Work name, Email address." in page
    assert REQUESTER not in page and "Canary intermediary note" not in page

    assert _answer(member_client, message_id, "no").status_code == 302
    assert conn.execute("SELECT status FROM contact_requests").fetchone() == ("declined",)
    assert _answer(member_client, message_id, "yes").status_code == 302  # refused, flashed
    assert conn.execute("SELECT status FROM contact_requests").fetchone() == ("declined",)
    refused = post_form(first, "/coordinator/disclosures/new", _request_form(
        reporter.member_id, legal_basis="consent", contact_request_id=contact_id))
    assert refused.status_code == 400 and "has not said yes" in plain(refused)
    assert conn.execute("SELECT count(*) FROM disclosure_requests").fetchone()[0] == 0
    events = [b.get("event") for b in _bodies(conn)]
    assert events == ["contact_request_sent", "contact_request_answered"]
    answered = _bodies(conn)[1]
    assert answered["answer"] == "no" and answered["records"] == [
        f"members/{reporter.member_id}"]


def test_intermediary_yes_allows_one_consented_disclosure_and_a_withdrawn_yes_stops_it(
        app, conn, keys_dir) -> None:
    reporter = _member(app)
    report_id = make_report(app, reporter)
    first, _alice = _coordinator(app)
    second, _bob = _coordinator(app)
    unlock(first, keys_dir)
    member_client = signed_in_client(app, reporter)

    # A yes, then taken back before anything was shared: approval is refused.
    withdrawn_id = _send_contact(first, report_id)
    message_id = conn.execute("SELECT id FROM member_messages WHERE contact_request_id = ?",
                              (withdrawn_id,)).fetchone()[0]
    _answer(member_client, message_id, "yes")
    request_id = _record(first, reporter.member_id, legal_basis="consent",
                         contact_request_id=withdrawn_id)
    _answer(member_client, message_id, "no")
    assert _approve(second, request_id).status_code == 409
    assert conn.execute("SELECT status FROM disclosure_requests WHERE id = ?",
                        (request_id,)).fetchone() == ("pending",)

    # A yes that stands: one disclosure, of no more than the member agreed to.
    contact_id = _send_contact(first, report_id)
    message_id = conn.execute("SELECT id FROM member_messages WHERE contact_request_id = ?",
                              (contact_id,)).fetchone()[0]
    assert _answer(member_client, message_id, "yes").status_code == 302
    shown = plain(first.get(f"/coordinator/disclosures/contact/{contact_id}"))
    assert "The member said yes" in shown
    prefilled = first.get(f"/coordinator/disclosures/new?consent={contact_id}")
    assert contact_id in prefilled.get_data(as_text=True)
    too_much = post_form(first, "/coordinator/disclosures/new", _request_form(
        reporter.member_id, legal_basis="consent", contact_request_id=contact_id,
        fields=["identity.work_name", "contact.email", "identity.real_name"]))
    assert too_much.status_code == 400 and "agreed to share only" in plain(too_much)
    consented = _record(first, reporter.member_id, legal_basis="consent",
                        contact_request_id=contact_id)
    another = post_form(first, "/coordinator/disclosures/new", _request_form(
        reporter.member_id, legal_basis="consent", contact_request_id=contact_id))
    assert another.status_code == 400
    _approve(second, consented)
    page = plain(_act(first, consented, "disclose"))
    assert WORK_NAME in page and EMAIL in page
    assert conn.execute("SELECT status FROM contact_requests WHERE id = ?",
                        (contact_id,)).fetchone() == ("shared",)
    entry = _disclosure_entries(conn, f"members/{reporter.member_id}")
    assert len(entry) == 1 and entry[0]["legal_basis"] == "consent"
    assert _answer(member_client, message_id, "no").status_code == 302
    assert conn.execute("SELECT status FROM contact_requests WHERE id = ?",
                        (contact_id,)).fetchone() == ("shared",), "too late to take back"


def test_an_organisation_contact_sees_and_answers_messages_for_its_organisation(
        app, conn) -> None:
    organisation = make_member(app, role="org_contact", kind="project",
                               work_name="Canary Outreach Project", alert_channel="email")
    staff = make_member(app, role="org_staff", kind="project",
                        member_id=organisation.member_id)
    report_id = make_report(app, organisation, third_party=True)
    coordinator = make_staff(app, "coordinator")
    contact_id, message_id = make_contact_request(app, coordinator, report_id)
    assert conn.execute("SELECT member_id FROM outbox WHERE kind = 'message'").fetchone() == (
        organisation.member_id,)
    org_client = signed_in_client(app, organisation)
    assert "A request to contact you" in plain(org_client.get("/account/messages"))
    assert _answer(org_client, message_id, "yes").status_code == 302
    assert conn.execute("SELECT status, answered_by FROM contact_requests").fetchone() == (
        "accepted", organisation.account_id)
    staff_client = signed_in_client(app, staff)
    assert staff_client.get("/account/messages").status_code == 403
    assert staff_client.get(f"/account/messages/{message_id}").status_code == 403
    # Another member cannot read or answer it.
    other = signed_in_client(app, make_member(app))
    assert other.get(f"/account/messages/{message_id}").status_code == 404
    del contact_id


# Consented sharing with police intelligence.

@pytest.fixture
def consented_reports(app, conn):
    anonymous_reporter = make_member(app, work_name="Canary Anonymous Reporter",
                                     email="canary.anon@example.org")
    detailed_reporter = make_member(app, work_name="Canary Detailed Reporter",
                                    email="canary.detailed@example.org")
    silent_reporter = make_member(app, work_name="Canary Silent Reporter")
    reports = {
        "anonymous": make_report(app, anonymous_reporter, consent_police_anonymous=True,
                                 narrative="Canary anonymous narrative",
                                 description="=HYPERLINK(\"http://evil.example\",\"x\")",
                                 identifiers=(("phone", "+44 7700 900555"),)),
        "detailed": make_report(app, detailed_reporter, consent_police_details=True,
                                narrative="Canary detailed narrative",
                                description="@SUM(1+1)*cmd|' /C calc'!A0"),
        "silent": make_report(app, silent_reporter, narrative="Canary silent narrative"),
        "malicious": make_report(app, silent_reporter, consent_police_anonymous=True),
    }
    conn.execute("UPDATE reports SET malicious = 1 WHERE id = ?", (reports["malicious"],))
    return reports


def _export(client, report_ids: list[str], **options: str):
    return post_form(client, "/coordinator/disclosures/export",
                     {"report_ids": report_ids, **options})


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_police_export_holds_only_consented_reports_and_is_csv_safe(
        app, conn, keys_dir, consented_reports) -> None:
    client, person = _coordinator(app)
    listed = client.get("/coordinator/disclosures/export").get_data(as_text=True)
    assert consented_reports["anonymous"] in listed and consented_reports["detailed"] in listed
    assert consented_reports["silent"] not in listed
    assert consented_reports["malicious"] not in listed
    for unconsented in ("silent", "malicious"):
        refused = _export(client, [consented_reports["anonymous"],
                                   consented_reports[unconsented]])
        assert refused.status_code == 400
    wanted = [consented_reports["anonymous"], consented_reports["detailed"]]
    locked = _export(client, wanted, offender="y")
    assert locked.status_code == 423
    assert disclosure_log.entries(conn) == []

    unlock(client, keys_dir)
    response = _export(client, wanted, offender="y", reporter_details="y")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "no-store" in response.headers["Cache-Control"]
    rows = _rows(response)
    header, body = rows[0], rows[1:]
    assert [row[0] for row in body] == wanted
    everything = response.get_data(as_text=True)
    assert "Canary Detailed Reporter" in everything and "canary.detailed@example.org" in \
        everything
    assert "Canary Anonymous Reporter" not in everything
    assert "canary.anon@example.org" not in everything
    assert "Canary Silent Reporter" not in everything
    assert "narrative" not in " ".join(header), "the narrative is not in by default"
    assert "Canary anonymous narrative" not in everything
    by_report = {row[0]: dict(zip(header, row, strict=True)) for row in body}
    assert by_report[wanted[0]]["reporter_consented_to_details"] == "no"
    assert by_report[wanted[0]]["reporter_name"] == ""
    assert "+447700900555" in by_report[wanted[0]]["offender_identifiers"] or \
        "7700 900555" in by_report[wanted[0]]["offender_identifiers"]
    for row in body:
        for cell in row:
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r", "|")), cell
    assert by_report[wanted[0]]["offender_description"].startswith("'=HYPERLINK")

    bodies = _bodies(conn)
    opened = [b for b in bodies if "event" not in b]
    detailed_reporter = conn.execute("SELECT reporter_member_id FROM reports WHERE id = ?",
                                     (wanted[1],)).fetchone()[0]
    assert {tuple(b["records"]) for b in opened} == {
        tuple(f"reports/{rid}" for rid in wanted), (f"members/{detailed_reporter}",)}
    for b in opened:
        assert b["purpose"] == "disclosure" and b["legal_basis"] == "consent"
        assert b["actor"] == person.account_id and b["export"] == "police_export"
    exported = [b for b in bodies if b.get("event") == "police_export"]
    assert len(exported) == 1 and exported[0]["legal_basis"] == "consent"
    assert exported[0]["records"][:2] == [f"reports/{rid}" for rid in wanted]


def test_the_anonymised_export_needs_no_key_and_names_no_one(app, conn,
                                                             consented_reports) -> None:
    client, _person = _coordinator(app)
    wanted = [consented_reports["anonymous"], consented_reports["detailed"]]
    response = _export(client, wanted)  # the offender box unticked: nothing sealed
    assert response.status_code == 200
    header = _rows(response)[0]
    assert header == ["report", "sent_month", "incident_date", "time_of_day", "area",
                      "what_happened"]
    text = response.get_data(as_text=True)
    assert "Canary" not in text and "example.org" not in text
    bodies = _bodies(conn)
    assert [b.get("event") for b in bodies] == ["police_export"]
    assert bodies[0]["records"] == [f"reports/{rid}" for rid in wanted]



# OWASP's CSV injection examples, with the variants spreadsheets also run: a tab, a line
# break or spaces before the formula. '"=1"' is text (CSV quoting keeps its quotes).
OWASP_CSV_PAYLOADS = (
    "=1+2", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\n=1", " =1", "  +1", "|calc",
    "%0A=1", '=HYPERLINK("http://x")', '"=1"', "=cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
)
_FORMULA_FIRST = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def _would_run(cell: str) -> bool:
    """A spreadsheet runs a cell whose first character, after any spaces, starts a formula."""
    return cell.lstrip(" ").startswith(_FORMULA_FIRST)


def _as_exported(payload: str) -> str:
    """The whole payload, behind an apostrophe if it would run."""
    return "'" + payload if _would_run(payload) else payload


def test_owasp_csv_payloads_run_in_neither_export(app, conn, keys_dir) -> None:
    from app.vault.sealing import seal_group
    from tests.chain import append_raw

    assert [p for p in OWASP_CSV_PAYLOADS if not _would_run(p)] == ['"=1"']

    # The police export: each payload as a report's description, narrative and place,
    # sealed exactly (the report form would trim a leading tab, space or line break).
    reporter = make_member(app)
    vetting = [load_server_keys(keys_dir).vetting_public]
    report_ids = []
    for payload in OWASP_CSV_PAYLOADS:
        report_id = make_report(app, reporter, consent_police_anonymous=True)
        conn.execute("UPDATE reports SET narrative = ?, offender = ? WHERE id = ?", (
            seal_group("reports", "narrative", report_id,
                       {"narrative": payload, "place": payload}, vetting),
            seal_group("reports", "offender", report_id,
                       {"description": payload, "identifiers": "[]"}, vetting),
            report_id))
        report_ids.append(report_id)
    client, _person = _coordinator(app)
    unlock(client, keys_dir)
    police = _export(client, report_ids, offender="y", narrative="y")
    assert police.status_code == 200
    header, *body = _rows(police)
    assert [row[0] for row in body] == report_ids
    for payload, row in zip(OWASP_CSV_PAYLOADS, body, strict=True):
        cells = dict(zip(header, row, strict=True))
        for column in ("offender_description", "place", "narrative"):
            assert cells[column] == _as_exported(payload), (column, payload)

    # The auditor's log export: each payload in every text column of an entry.
    with db.transaction(conn):
        for payload in OWASP_CSV_PAYLOADS:
            append_raw(conn, {"at": payload, "actor": payload, "approver": payload,
                              "purpose": payload, "legal_basis": payload, "event": payload,
                              "records": [payload], "fields": [payload]})
    log_csv = signed_in_client(app, make_staff(app, "auditor")).get("/audit/log.csv")
    assert log_csv.status_code == 200
    header, *body = _rows(log_csv)
    appended = body[-len(OWASP_CSV_PAYLOADS):]
    for payload, row in zip(OWASP_CSV_PAYLOADS, appended, strict=True):
        cells = dict(zip(header, row, strict=True))
        for column in ("at", "actor", "approver", "purpose", "legal_basis", "event",
                       "records", "fields"):
            assert cells[column] == _as_exported(payload), (column, payload)

    for response in (police, log_csv):
        for row in _rows(response):
            assert [cell for cell in row if _would_run(cell)] == []


def test_the_one_csv_rule_leaves_numbers_as_numbers() -> None:
    from app.common.csv_export import safe_cell

    for number in (7, -3, 1.5, -0.25, True):
        assert safe_cell(number) is number
    assert safe_cell("-3") == "'-3", "text that looks like a negative number is still text"
    assert [safe_cell(p) for p in OWASP_CSV_PAYLOADS] == [
        _as_exported(p) for p in OWASP_CSV_PAYLOADS]


# The auditor's view and what is stored.

def test_the_auditor_sees_the_disclosure_entries_and_no_sealed_value(app, conn,
                                                                     keys_dir) -> None:
    member = _member(app)
    first, alice = _coordinator(app)
    second, bob = _coordinator(app)
    unlock(first, keys_dir)
    request_id = _record(first, member.member_id)
    _approve(second, request_id)
    _act(first, request_id, "disclose")
    auditor = signed_in_client(app, make_staff(app, "auditor"))
    page = plain(auditor.get("/audit/"))
    for label in ("Disclosure requested", "Disclosure approved (second coordinator)",
                  "Member told of a disclosure"):
        assert label in page
    assert f"disclosure_requests/{request_id}" in page
    assert "yes, " in page, "when the member was told"
    usernames = dict(conn.execute("SELECT id, username FROM accounts WHERE role = "
                                  "'coordinator'").fetchall())
    assert usernames[alice.account_id] in page and usernames[bob.account_id] in page
    filtered = plain(auditor.get(f"/audit/?record={member.member_id}&purpose=disclosure"))
    assert "Member told of a disclosure" in filtered
    exported = auditor.get("/audit/log.csv").get_data(as_text=True)
    assert "member_notified" in exported and "disclosure_approved" in exported
    for shown in (page, exported):
        assert WORK_NAME not in shown and EMAIL not in shown and REQUESTER not in shown
    for url in (f"/coordinator/disclosures/{request_id}", "/coordinator/disclosures/",
                "/coordinator/disclosures/export", "/account/messages"):
        assert auditor.get(url).status_code == 403


def test_requester_justification_and_disclosed_values_never_stored_or_logged(
        app, conn, config, keys_dir, database_key, all_logs) -> None:
    member = _member(app)
    report_id = make_report(app, member, consent_police_details=True,
                            narrative="Canary exported narrative 5521")
    first, _alice = _coordinator(app)
    second, _bob = _coordinator(app)
    unlock(first, keys_dir)
    unlock(second, keys_dir)
    request_id = _record(first, member.member_id)
    _act(second, request_id, "details")
    _approve(second, request_id)
    assert WORK_NAME in plain(_act(first, request_id, "disclose"))
    refused_id = _record(first, member.member_id, legal_basis="court_order")
    _act(second, refused_id, "refuse", reason="other",
         note="Canary refusal note about DC Canary Requester")
    contact_id = _send_contact(first, report_id)
    post_form(first, f"/coordinator/disclosures/contact/{contact_id}/details", {},
              form_url=f"/coordinator/disclosures/contact/{contact_id}")
    message_id = conn.execute("SELECT id FROM member_messages WHERE contact_request_id = ?",
                              (contact_id,)).fetchone()[0]
    member_client = signed_in_client(app, member)
    member_client.get(f"/account/messages/{message_id}")
    _answer(member_client, message_id, "yes")
    exported = _export(first, [report_id], offender="y", narrative="y", reporter_details="y")
    assert "Canary exported narrative 5521" in exported.get_data(as_text=True)
    values = [REQUESTER, REFERENCE, JUSTIFICATION, "Canaryfold", WORK_NAME, EMAIL,
              "Canary refusal note", "Canary intermediary note",
              "Canary exported narrative 5521"]
    for path in canary.database_files(config.database_path):
        assert canary.find(path.read_bytes(), values) == [], path.name
    dump = canary.decrypted_dump(config.database_path, database_key)
    assert canary.find(dump, values) == []
    assert canary.find(all_logs.text.encode(), values) == []
    bodies = json.dumps(_bodies(conn))
    assert all(value not in bodies for value in values)
