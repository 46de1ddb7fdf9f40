"""Every staff page shows times as UK local time with the zone named, never raw ISO."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from app.web.access import AUDITOR, COORDINATOR
from tests.flows import coordinator_client, unlock
from tests.people import (
    make_member,
    make_published_alert,
    make_report,
    make_staff,
    signed_in_client,
)
from tests.test_disclosures import make_contact_request, make_disclosure_request
from tests.test_routes_by_role import EXPECTED, _ask, _support_id

RAW_ISO = re.compile(r"\d{4}-\d\d-\d\dT")
UK_TIME = re.compile(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d (GMT|BST)\b")
# Downloads are for machines (the CSV and JSON keep ISO stamps on purpose).
DOWNLOADS = {"audit.export_csv", "audit.export_checkpoints", "audit.export_checkpoint"}


@pytest.mark.parametrize("role", [COORDINATOR, AUDITOR])
def test_staff_pages_show_no_raw_iso_timestamps(app: Flask, keys_dir, role: str) -> None:
    # A pending organisation, asked a question: its page shows when it was asked.
    applicant = make_member(app, role="org_contact", kind="project", status="pending")
    report_id = make_report(app, wants_support=True)
    support_id = _support_id(app, report_id)
    alert_id = make_published_alert(app)
    coordinator = make_staff(app, COORDINATOR)
    request_id = make_disclosure_request(app, coordinator, applicant.member_id)
    contact_id, _message_id = make_contact_request(app, coordinator, report_id)
    _ask(app, applicant.member_id)
    client = signed_in_client(app, make_staff(app, role))
    if role == COORDINATOR:
        assert unlock(client, keys_dir).status_code in (200, 302)
    shown = 0
    for endpoint, (method, url, roles) in EXPECTED.items():
        staff_page = url.startswith(("/coordinator", "/audit", "/statistics"))
        if method != "GET" or role not in roles or not staff_page or endpoint in DOWNLOADS:
            continue
        response = client.get(url.format(member_id=applicant.member_id, report_id=report_id,
                                         alert_id=alert_id, request_id=request_id,
                                         contact_id=contact_id, support_id=support_id,
                                         account_id=coordinator.account_id))
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        body = response.get_data(as_text=True)
        assert not RAW_ISO.search(body), (endpoint, RAW_ISO.search(body))
        shown += len(UK_TIME.findall(body))
    assert shown > 0  # the pages do show times, in the UK form


def test_key_unlock_time_is_uk_local_with_the_zone(app: Flask, keys_dir) -> None:
    client = signed_in_client(app, make_staff(app, COORDINATOR))
    unlock(client, keys_dir)
    body = client.get("/coordinator/").get_data(as_text=True)
    assert re.search(r"Vetting key unlocked for you until \d{1,2} [A-Z][a-z]{2} \d{4}, "
                     r"\d\d:\d\d (GMT|BST)\.", body)


def test_a_day_shown_without_a_time_is_the_uk_day_not_the_utc_one(app: Flask, conn) -> None:
    from app.common.clock import uk_day_shown as uk_day

    # 23:30 UTC on 1 July is 00:30 BST on 2 July; in winter the two days agree.
    assert uk_day("2026-07-01T23:30:00+00:00") == "2026-07-02"
    assert uk_day("2026-12-01T23:30:00") == "2026-12-01"
    assert uk_day("not a stamp") == "not a stamp" and uk_day(None) == ""
    report_id = make_report(app)
    conn.execute("UPDATE reports SET created_at = '2026-07-01T23:30:00+00:00' WHERE id = ?",
                 (report_id,))
    conn.commit()
    client, _staff = coordinator_client(app)
    page = client.get("/coordinator/reports").get_data(as_text=True)
    assert "2026-07-02" in page and "2026-07-01" not in page
