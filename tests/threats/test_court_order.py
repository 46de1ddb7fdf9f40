"""Threat row: police, or a court order served on the operator, with a request.

The seed's promise (../shared/seeds/membership.txt): forced by a court order, all the
scheme would give is a working name and a burner contact, and never quietly. So a request
opens nothing until a second, different coordinator approves it; it opens only the fields
asked for; the opening is logged before it is shown; the member is told, or the delay is
recorded with its reason and a review date; and the auditor sees every step.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from app.disclosures import service
from app.web.state import state
from tests import canary
from tests.flows import apply, decide, member_id_of, unlock
from tests.people import make_staff
from tests.test_disclosures import JUSTIFICATION, REQUESTER
from tests.threats.planted import Planted, plant
from tests.webtools import plain, post_form

SUBJECT = {"work_name": "Canaryzx Subject Workname", "real_name": "Canaryzx Subject Realname",
           "email": "canaryzx.subject.personal@example.org", "mobile": "07700 900686"}
ASKED = ["identity.work_name", "contact.mobile"]  # a working name and the burner phone


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, keys_dir: Path) -> Planted:
    world = plant(tmp_path_factory.mktemp("court-order"), keys_dir)
    conn = world.connect()
    try:
        subject = member_id_of(conn, apply(world.app, **SUBJECT))
    finally:
        conn.close()
    approver = world.signed_in(world.coordinators[1])
    assert decide(approver, subject, "approve").status_code == 302
    world.ids["subject"] = subject
    return world


@pytest.fixture(scope="module")
def coordinators(planted: Planted) -> dict[str, object]:
    """The requester (unlocked) and a second coordinator, each signed in once."""
    first = planted.signed_in(planted.coordinators[0])
    assert unlock(first, planted.keys_dir).status_code == 302
    return {"first": first, "second": planted.signed_in(planted.coordinators[1])}


def _record(client, member_id: str, **changes: object) -> str:
    form = {"authority": "met", "requester": REQUESTER, "reference": "COURT-ORDER-1",
            "legal_basis": "court_order", "subject_table": "members", "record_ids": member_id,
            "fields": ASKED, "justification": JUSTIFICATION, **changes}
    response = post_form(client, "/coordinator/disclosures/new", form)
    assert response.status_code == 302, plain(response)[:1500]
    return response.headers["Location"].rsplit("/", 1)[-1]


def _act(client, request_id: str, action: str, **data: object):
    if action == "disclose":
        # The final step is confirmed with a listed reason, as a coordinator would.
        data = {"reason": "basis_checked", "confirm": "y", **data}
    return post_form(client, f"/coordinator/disclosures/{request_id}/{action}", data,
                     form_url=f"/coordinator/disclosures/{request_id}")


def _disclosures_of(planted: Planted, request_id: str) -> list[dict]:
    return [b for b in planted.log_bodies() if "event" not in b
            and b.get("request") == f"disclosure_requests/{request_id}"]


def _status(planted: Planted, request_id: str) -> str:
    conn = planted.connect()
    try:
        return str(conn.execute("SELECT status FROM disclosure_requests WHERE id = ?",
                                (request_id,)).fetchone()[0])
    finally:
        conn.close()


def test_a_single_coordinator_cannot_complete_a_court_order_alone(
        planted: Planted, coordinators: dict) -> None:
    first = coordinators["first"]
    request_id = _record(first, planted.ids["subject"])
    own = _act(first, request_id, "approve", read_it="y")
    assert own.status_code == 403
    early = _act(first, request_id, "disclose")
    assert early.status_code == 409
    # The same coordinator signed in a second time is still the same one.
    again = planted.signed_in(planted.coordinators[0])
    assert _act(again, request_id, "approve", read_it="y").status_code == 403
    conn = planted.connect()
    try:
        with pytest.raises(service.NotAllowed):
            service.approve(conn, request_id, planted.coordinators[0].account_id,
                            state(planted.app).clock())
    finally:
        conn.close()
    for response in (own, early):
        assert canary.find(response.data, [*SUBJECT.values(), "+447700900686"]) == []
    assert _status(planted, request_id) == "pending"
    assert _disclosures_of(planted, request_id) == [], "nothing opened"


def test_a_court_order_gives_only_the_work_name_and_burner_contact_asked_for(
        planted: Planted, coordinators: dict) -> None:
    first, second = coordinators["first"], coordinators["second"]
    request_id = _record(first, planted.ids["subject"])
    assert _act(second, request_id, "approve", read_it="y").status_code == 302
    assert _disclosures_of(planted, request_id) == [], "approving opens nothing"
    page = _act(first, request_id, "disclose")
    assert page.status_code == 200
    shown = plain(page)
    assert SUBJECT["work_name"] in shown and "+447700900686" in shown
    held_back = [SUBJECT["real_name"], SUBJECT["email"], *planted.canaries]
    assert canary.find(page.data, held_back) == [], "nothing the order did not name"
    [entry] = _disclosures_of(planted, request_id)
    assert entry["legal_basis"] == "court_order" and entry["purpose"] == "disclosure"
    assert entry["fields"] == sorted(ASKED)
    assert entry["records"] == [f"members/{planted.ids['subject']}"]
    assert entry["actor"] == planted.coordinators[0].account_id
    assert entry["approver"] == planted.coordinators[1].account_id
    # Once only: the page cannot be had again.
    twice = _act(first, request_id, "disclose")
    assert twice.status_code == 409 and SUBJECT["work_name"] not in plain(twice)
    assert len(_disclosures_of(planted, request_id)) == 1
    # The member is told, in their account, what was shared and why.
    told = [b for b in planted.log_bodies() if b.get("event") == "member_notified"
            and b.get("request") == f"disclosure_requests/{request_id}"]
    assert len(told) == 1 and told[0]["member_notified"] is True


def test_a_deferred_notice_is_recorded_with_its_reason_and_review_date(
        planted: Planted, coordinators: dict) -> None:
    first, second = coordinators["first"], coordinators["second"]
    review_on = (state(planted.app).clock() + timedelta(days=14)).date().isoformat()
    request_id = _record(first, planted.ids["subject"], delay="y",
                         delay_reason="prejudice_investigation", review_on=review_on)
    _act(second, request_id, "approve", read_it="y")
    assert _act(first, request_id, "disclose").status_code == 200
    [entry] = _disclosures_of(planted, request_id)
    assert entry["notice"] == "delayed" and entry["notice_review_on"] == review_on
    requested = [b for b in planted.log_bodies() if b.get("event") == "disclosure_requested"
                 and b.get("request") == f"disclosure_requests/{request_id}"]
    assert requested and requested[0]["notice_delay_reason"] == "prejudice_investigation"
    # Not told yet, and not forgotten: the review date stands in the request.
    told = [b for b in planted.log_bodies() if b.get("event") == "member_notified"
            and b.get("request") == f"disclosure_requests/{request_id}"]
    assert told == []


def test_the_auditor_sees_every_step_of_a_court_order(planted: Planted,
                                                      coordinators: dict) -> None:
    first, second = coordinators["first"], coordinators["second"]
    request_id = _record(first, planted.ids["subject"])
    _act(second, request_id, "approve", read_it="y")
    _act(first, request_id, "disclose")
    auditor = planted.signed_in(make_staff(planted.app, "auditor"))
    page = auditor.get(f"/audit/?record={planted.ids['subject']}&purpose=disclosure")
    exported = auditor.get("/audit/log.csv").get_data(as_text=True)
    header, *rows = list(csv.reader(io.StringIO(exported)))
    steps = [",".join(row) for row in rows if f"disclosure_requests/{request_id}" in ",".join(row)]
    events = {row[header.index("event")] for row in rows
              if f"disclosure_requests/{request_id}" in ",".join(row)}
    assert {"disclosure_requested", "disclosure_approved", "unseal",
            "member_notified"} <= events
    assert "court_order" in " ".join(steps)
    assert f"disclosure_requests/{request_id}" in page.get_data(as_text=True)
    for label in ("Disclosure requested", "Disclosure approved (second coordinator)",
                  "Member told of a disclosure"):
        assert label in plain(page)
    assert canary.find(page.data + exported.encode(),
                       [*SUBJECT.values(), *planted.canaries]) == []
