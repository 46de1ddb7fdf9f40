"""Threat row: a malicious reporter, with a member's login.

They may send false reports to get someone named in an alert, or flood the coordinators.
What they must not get is unchecked influence: no route lets a member publish; a report's
fields reach an alert only through a coordinator's (logged) publish step; the checker
answers from published alerts only; and one login cannot send reports without limit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.web.limits import PER_ACCOUNT_REPORTS
from tests.flows import unlock
from tests.people import make_member, make_report
from tests.test_alerts import _act, _alert_form
from tests.test_checker import FOUND_ONE, NOT_FOUND, check
from tests.test_reports import _report_form
from tests.threats.planted import REPORT, Planted, every_route, plant
from tests.webtools import csrf_token, post_form

FALSELY_NAMED = ("phone", "07700 900844")


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, keys_dir: Path) -> Planted:
    return plant(tmp_path_factory.mktemp("malicious-reporter"), keys_dir)


def _published(planted: Planted) -> dict[str, object]:
    """What members can see or the checker answers from, and who published it."""
    conn = planted.connect()
    try:
        return {
            "alerts": sorted(tuple(r) for r in conn.execute(
                "SELECT id, status, current_version FROM alerts")),
            "index": conn.execute("SELECT count(*) FROM alert_identifier_index").fetchone()[0],
            "reports": sorted(tuple(r) for r in conn.execute("SELECT id, status FROM reports")),
            "logged": [b for b in planted.log_bodies()
                       if str(b.get("event", "")).startswith("alert_")],
        }
    finally:
        conn.close()


def test_no_route_lets_a_member_publish_or_turn_a_report_into_an_alert(
        planted: Planted) -> None:
    app = planted.app
    person = make_member(app, work_name="Malicious Reporter", email="false.one@example.org")
    own = make_report(app, person, identifiers=(FALSELY_NAMED,), consent_alert=True)
    client = planted.signed_in(person)
    token = csrf_token(client, "/account")
    before = _published(planted)
    # Everything an alert form takes, ticked for publishing, at every POST route.
    form = {**_alert_form(app), "action": "publish", "national": "y", "report_id": own,
            "identifiers-0-kind": FALSELY_NAMED[0], "identifiers-0-value": FALSELY_NAMED[1],
            "identifiers-0-publish": "y", "csrf_token": token}
    variants = [{**planted.ids, "report_id": report_id}
                for report_id in (own, planted.ids["report_id"])]
    posted = 0
    for _endpoint, method, url in every_route(app, variants):
        if method == "POST":
            response = client.post(url, data=form)
            assert response.status_code < 500, url
            posted += 1
    assert posted >= 40
    assert _published(planted) == before
    assert NOT_FOUND in check(planted.signed_in(make_member(app)), *FALSELY_NAMED
                              ).get_data(as_text=True)


def test_a_reports_identifiers_reach_an_alert_only_through_a_coordinators_publish(
        planted: Planted) -> None:
    app = planted.app
    person = make_member(app, work_name="Reporter Of Record", email="reporter.r@example.org")
    report_id = make_report(app, person, identifiers=(("phone", "07700 900845"),),
                            consent_alert=True)
    checker = planted.signed_in(make_member(app))
    coordinator = planted.signed_in(planted.coordinators[0])
    assert unlock(coordinator, planted.keys_dir).status_code == 302
    started = post_form(coordinator, f"/coordinator/reports/{report_id}/alert", {},
                        form_url=f"/coordinator/reports/{report_id}")
    assert started.status_code == 302
    alert_id = started.headers["Location"].rsplit("/", 1)[-1]
    _act(coordinator, alert_id, "from_report", **_alert_form(app))
    read = [b for b in planted.log_bodies() if "event" not in b
            and f"reports/{report_id}" in b["records"]]
    assert read and read[-1]["purpose"] == "report_review", "the reading is logged"
    # A draft, even one made from the report, answers nothing and is in no member's feed.
    assert NOT_FOUND in check(checker, "phone", "07700 900845").get_data(as_text=True)
    assert alert_id not in checker.get("/alerts").get_data(as_text=True)
    assert checker.get(f"/alerts/{alert_id}").status_code == 404
    published = _act(coordinator, alert_id, "publish", **_alert_form(app), **{
        "identifiers-0-kind": "phone", "identifiers-0-value": "07700 900845",
        "identifiers-0-publish": "y"})
    assert published.status_code == 302
    [entry] = [b for b in planted.log_bodies() if b.get("event") == "alert_published"
               and f"alerts/{alert_id}" in b["records"]]
    assert entry["actor"] == planted.coordinators[0].account_id
    assert FOUND_ONE in check(checker, "phone", "07700 900845").get_data(as_text=True)


def test_the_checker_says_no_alert_for_an_identifier_only_reported(planted: Planted) -> None:
    checker = planted.signed_in(make_member(planted.app))
    for kind, value in REPORT["identifiers"]:
        assert NOT_FOUND in check(checker, kind, value).get_data(as_text=True), value


def test_a_flood_of_reports_from_one_member_is_throttled(planted: Planted) -> None:
    app = planted.app
    limit = int(PER_ACCOUNT_REPORTS.split()[0])
    flooder = make_member(app, work_name="Flooder", email="flooder@example.org")
    client = planted.signed_in(flooder)
    for n in range(limit):
        sent = post_form(client, "/reports/new", _report_form(app))
        assert sent.status_code == 302, n
    refused = post_form(client, "/reports/new", _report_form(app))
    assert refused.status_code == 429
    assert "Please wait before sending another report" in refused.get_data(as_text=True)
    conn = planted.connect()
    try:
        assert conn.execute("SELECT count(*) FROM reports WHERE reporter_account_id = ?",
                            (flooder.account_id,)).fetchone()[0] == limit
    finally:
        conn.close()
    # Only that login waits: another member's report goes in.
    other = planted.signed_in(make_member(app, work_name="Someone Else"))
    assert post_form(other, "/reports/new", _report_form(app)).status_code == 302
