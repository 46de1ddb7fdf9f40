from __future__ import annotations

from datetime import timedelta

import pytest

from app.vault import log as disclosure_log
from app.web.state import state
from tests import canary
from tests.conftest import VETTING_PASSPHRASE  # noqa: F401  (the unlock uses it)
from tests.flows import coordinator_client, unlock
from tests.people import make_member, make_report, signed_in_client
from tests.webtools import plain, post_form, text, without_csrf_tokens

TABLES = ("reports", "report_categories", "report_identifier_index")


def _today(app) -> str:
    return state(app).clock().date().isoformat()


def _report_form(app, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "incident_date": _today(app), "incident_time": "evening", "area": "ldn",
        "place": "Canary Hotel, back entrance", "categories": ["threats", "robbery"],
        "identifiers-0-kind": "phone", "identifiers-0-value": "+44 7700 900123",
        "identifiers-1-kind": "email", "identifiers-1-value": "foobar@googlemail.com",
        "identifiers-2-kind": "plate", "identifiers-2-value": "AB12CDE",
        "description": "Canary description: tall, grey van",
        "narrative": "Canary narrative: he took the money back and threatened me.",
        "consent_alert": "y",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _counts(conn) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
            for t in TABLES}


def _member_client(app):
    person = make_member(app)
    return signed_in_client(app, person), person


def test_member_files_a_report_and_sees_its_status(app, conn) -> None:
    client, person = _member_client(app)
    response = post_form(client, "/reports/new", _report_form(app))
    report_id = conn.execute("SELECT id FROM reports").fetchone()[0]
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/reports?sent={report_id}")
    page = text(client.get(response.headers["Location"]))
    assert "Received" in page and "cannot be read back" in page
    assert "Thank you. Your report has been received" in page
    assert "Canary narrative" not in page
    row = conn.execute("SELECT reporter_account_id, status, late, consent_alert, "
                       "consent_police_details FROM reports").fetchone()
    assert row == (person.account_id, "received", 0, 1, 0)
    assert _counts(conn) == {"reports": 1, "report_categories": 2,
                             "report_identifier_index": 4}  # email gives two indexes


def test_a_sent_report_is_confirmed_from_the_record_without_touching_the_session(
        app, conn) -> None:
    client, _ = _member_client(app)
    response = post_form(client, "/reports/new", _report_form(app))
    assert "Set-Cookie" not in response.headers, "nothing is kept in the session to show"
    landing = client.get(response.headers["Location"])
    assert "Set-Cookie" not in landing.headers
    reference = conn.execute("SELECT reference FROM reports").fetchone()[0]
    assert f"Its reference is {reference}" in text(landing)
    assert "Thank you" not in text(client.get("/reports")), "only where a report was sent"


def test_another_members_report_id_confirms_nothing(app, conn) -> None:
    """/reports?sent= is no oracle: someone else's id (or none) gives the plain page."""
    other_report = make_report(app)
    client, _ = _member_client(app)
    pages = [client.get(f"/reports?sent={sent}") for sent in (other_report, "no-such-id")]
    assert all(page.status_code == 200 for page in pages)
    assert all("Thank you" not in text(page) for page in pages)
    # The language chooser returns to the page asked for: the id asked for is on it.
    seen = [without_csrf_tokens(text(page)).replace(sent, "ID")
            for page, sent in zip(pages, (other_report, "no-such-id"), strict=True)]
    assert seen[0] == seen[1], "an existing report's id and an unknown one look the same"


def test_consents_are_never_pre_ticked(app) -> None:
    client, _ = _member_client(app)
    page = client.get("/reports/new").get_data(as_text=True)
    for name in ("consent_alert", "consent_police_anonymous", "consent_police_details",
                 "wants_support", "third_party"):
        tag = page[page.index(f'name="{name}"') - 80: page.index(f'name="{name}"') + 80]
        assert "checked" not in tag, name


@pytest.mark.parametrize("earlier", [
    ("phone", "07700 900123"), ("email", "Foo.Bar+x@gmail.com"), ("plate", "ab12 cde"),
])
def test_coordinator_sees_linked_reports_before_unsealing(app, conn, earlier) -> None:
    first = make_report(app, identifiers=(earlier, ("handle", "someone_else")))
    unrelated = make_report(app, identifiers=(("phone", "07700 900000"),))
    client, _ = _member_client(app)
    post_form(client, "/reports/new", _report_form(app))
    new_id = conn.execute("SELECT id FROM reports WHERE id NOT IN (?, ?)",
                          (first, unrelated)).fetchone()[0]
    coordinator, _ = coordinator_client(app)
    queue = text(coordinator.get("/coordinator/reports"))
    assert new_id[:8] in queue
    page = text(coordinator.get(f"/coordinator/reports/{new_id}"))
    assert first[:8] in page and unrelated[:8] not in page
    assert "Canary narrative" not in page
    assert disclosure_log.entries(conn) == [], "linking unsealed nothing"


def test_reading_a_report_needs_the_key_and_is_logged_first(app, conn, keys_dir) -> None:
    report_id = make_report(app, narrative="Canary narrative to read",
                            identifiers=(("handle", "@Dodgy_Dave"),))
    coordinator, person = coordinator_client(app)
    locked = post_form(coordinator, f"/coordinator/reports/{report_id}/unseal", {},
                       form_url=f"/coordinator/reports/{report_id}")
    assert locked.status_code == 423 and "Canary narrative" not in text(locked)
    unlock(coordinator, keys_dir)
    opened = post_form(coordinator, f"/coordinator/reports/{report_id}/unseal", {},
                       form_url=f"/coordinator/reports/{report_id}")
    assert opened.status_code == 200
    assert "Canary narrative to read" in text(opened) and "@Dodgy_Dave" in text(opened)
    entry = disclosure_log.entries(conn)[-1].body
    assert entry["purpose"] == "report_review" and entry["records"] == [f"reports/{report_id}"]
    assert entry["actor"] == person.account_id
    assert conn.execute("SELECT status FROM reports WHERE id = ?",
                        (report_id,)).fetchone() == ("under_review",)


def test_malicious_report_is_closed_and_counted_against_the_membership(app, conn,
                                                                       keys_dir) -> None:
    reporter = make_member(app)
    report_id = make_report(app, reporter)
    coordinator, _ = coordinator_client(app)
    assert unlock(coordinator, keys_dir).status_code == 302
    post_form(coordinator, f"/coordinator/reports/{report_id}/unseal", {},
              form_url=f"/coordinator/reports/{report_id}")
    post_form(coordinator, f"/coordinator/reports/{report_id}/malicious",
              {"reason": "invented", "confirm": "y"},
              form_url=f"/coordinator/reports/{report_id}/malicious")
    assert conn.execute("SELECT status, malicious FROM reports WHERE id = ?",
                        (report_id,)).fetchone() == ("closed", 1)
    member_page = plain(coordinator.get(f"/coordinator/members/{reporter.member_id}"))
    assert "Reports marked malicious or false 1" in member_page
    revoked = post_form(coordinator, f"/coordinator/members/{reporter.member_id}/revoke",
                        {"reason": "malicious_reporting", "confirm": "y"},
                        form_url=f"/coordinator/members/{reporter.member_id}")
    assert revoked.status_code == 302


def test_close_and_start_an_alert_draft(app, conn) -> None:
    report_id = make_report(app)
    coordinator, person = coordinator_client(app)
    post_form(coordinator, f"/coordinator/reports/{report_id}/alert", {},
              form_url=f"/coordinator/reports/{report_id}")
    assert conn.execute("SELECT status, report_id, created_by FROM alerts").fetchone() == (
        "draft", report_id, person.account_id)
    post_form(coordinator, f"/coordinator/reports/{report_id}/close", {},
              form_url=f"/coordinator/reports/{report_id}")
    assert conn.execute("SELECT status FROM reports").fetchone() == ("closed",)
    actions = [r[0] for r in conn.execute("SELECT action FROM report_events ORDER BY id")]
    assert actions == ["alert_draft", "close"]


def test_an_old_incident_is_flagged_late(app, conn) -> None:
    old = (state(app).clock() - timedelta(days=5)).date().isoformat()
    client, _ = _member_client(app)
    post_form(client, "/reports/new", _report_form(app, incident_date=old))
    post_form(client, "/reports/new", _report_form(app))
    assert sorted(r[0] for r in conn.execute("SELECT late FROM reports")) == [0, 1]


def test_adding_identifier_rows_works_without_script_and_sends_nothing(app, conn) -> None:
    client, _ = _member_client(app)
    response = post_form(client, "/reports/new", _report_form(app, add_identifier="1"))
    assert response.status_code == 200
    assert 'name="identifiers-5-value"' in response.get_data(as_text=True)
    assert "+44 7700 900123" in response.get_data(as_text=True), "typed rows are kept"
    assert _counts(conn)["reports"] == 0


def _many_identifiers(count: int) -> dict[str, str]:
    rows = {}
    for i in range(count):
        rows[f"identifiers-{i}-kind"] = "handle"
        rows[f"identifiers-{i}-value"] = f"handle{i}"
    return rows


@pytest.mark.parametrize("changes, status, message", [
    ({"categories": None}, 400, "at least one kind of incident"),
    ({"incident_date": "2999-01-01"}, 400, "in the future"),
    ({"incident_date": "yesterday"}, 400, "Enter the date like"),
    ({"narrative": ""}, 400, "what happened, in your own words"),
    ({"narrative": "a\x00b"}, 400, "control characters"),
    ({"narrative": "x" * 25_000}, 400, "at most 20000 characters"),
    ({"identifiers-0-value": "not a phone"}, 400, "not a possible phone number"),
    ({"identifiers-1-value": "x\u202e@example.org"}, 400, "not an email address"),
    ({"identifiers-0-value": "\x0707700 900123"}, 400, "control characters"),
    ({"area": "atlantis"}, 400, "Choose the area"),
    (_many_identifiers(500), 400, "at most 20 identifiers"),
])
def test_bad_reports_get_a_clear_message_and_write_nothing(app, conn, changes, status,
                                                           message) -> None:
    client, _ = _member_client(app)
    response = post_form(client, "/reports/new", _report_form(app, **changes))
    assert response.status_code == status
    assert message.lower() in text(response).lower()
    assert _counts(conn) == dict.fromkeys(TABLES, 0)


def test_ten_megabytes_of_narrative_is_refused_with_413(app, conn) -> None:
    client, _ = _member_client(app)
    response = post_form(client, "/reports/new", _report_form(app, narrative="x" * 10_000_000))
    assert response.status_code == 413
    assert _counts(conn) == dict.fromkeys(TABLES, 0)


def test_report_without_csrf_token_is_refused(app, conn) -> None:
    client, _ = _member_client(app)
    assert client.post("/reports/new", data=_report_form(app)).status_code == 400
    assert _counts(conn)["reports"] == 0


def test_leaving_keeps_reports_but_unlinks_them(app, conn) -> None:
    person = make_member(app)
    report_id = make_report(app, person)
    client = signed_in_client(app, person)
    post_form(client, "/account/leave", {"understood": "y"}, form_url="/account")
    assert conn.execute("SELECT reporter_account_id, reporter_member_id FROM reports "
                        "WHERE id = ?", (report_id,)).fetchone() == (None, None)


def test_no_report_plaintext_in_files_wal_dump_or_logs(app, conn, config, keys_dir,
                                                      database_key, all_logs) -> None:
    client, _ = _member_client(app)
    post_form(client, "/reports/new", _report_form(app, **{
        "identifiers-3-kind": "handle", "identifiers-3-value": "CanaryHandle77",
        "identifiers-4-kind": "link", "identifiers-4-value": "https://ads.example/canary-ad-5"}))
    report_id = conn.execute("SELECT id FROM reports").fetchone()[0]
    coordinator, _ = coordinator_client(app)
    unlock(coordinator, keys_dir)
    post_form(coordinator, f"/coordinator/reports/{report_id}/unseal", {},
              form_url=f"/coordinator/reports/{report_id}")
    values = ["Canary narrative: he took the money", "Canary description: tall",
              "Canary Hotel, back entrance", "CanaryHandle77", "canary-ad-5",
              "+447700900123", "7700 900123", "foobar@googlemail.com", "foobar@gmail.com",
              "AB12CDE"]
    for path in canary.database_files(config.database_path):
        assert canary.find(path.read_bytes(), values) == [], path.name
    assert canary.find(canary.decrypted_dump(config.database_path, database_key), values) == []
    assert canary.find(all_logs.text.encode(), values) == []


@pytest.mark.parametrize("posted", [
    {},
    {"incident_date": "2026-01-02", "incident_time": "evening", "area": "ldn",
     "place": "  by the station ", "categories": ["threats", "violence"],
     "description": "tall", "narrative": "He refused to pay.", "consent_alert": "y",
     "consent_police_anonymous": "y", "consent_police_details": "y", "wants_support": "y",
     "third_party": "y"},
    {"consent_alert": "false", "consent_police_anonymous": "", "wants_support": "on",
     "third_party": "no", "categories": []},
    {"incident_time": ["night", "morning"], "area": ["", "ldn"], "narrative": ["a", "b"],
     "consent_alert": ["", "y"], "consent_police_details": ["y", ""]},
    {"categories": ["unheard-of"], "incident_time": "<b>", "area": "atlantis"},
])
def test_a_sent_report_reads_the_post_as_the_report_form_would(app, posted) -> None:
    """The view builds no ReportForm for a report that is sent: its reading must be WTForms'."""
    from werkzeug.datastructures import MultiDict

    from app.reports.forms import ReportForm, submission

    data = MultiDict([(k, v) for k, values in posted.items()
                      for v in (values if isinstance(values, list) else [values])])
    with app.test_request_context("/reports/new", method="POST", data=data):
        form = ReportForm(meta={"csrf": False})
        expected = {
            "incident_time": form.incident_time.data or "", "area": form.area.data or "",
            "place": form.place.data or "", "categories": list(form.categories.data or []),
            "description": form.description.data or "",
            "narrative": form.narrative.data or "",
            **{name: bool(form[name].data) for name in (
                "consent_alert", "consent_police_anonymous", "consent_police_details",
                "wants_support", "third_party")},
        }
        from flask import request
        read = submission(request.form, request.form.getlist("categories"), [])
    assert {name: getattr(read, name) for name in expected} == expected
    assert read.incident_date == data.get("incident_date", "")
