"""Members on their own: confirming alert settings, following up on reports, discreet
notices, text alerts only with a gateway, key contacts keeping their email current."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app import create_app
from app.alerts import service as alerts
from app.web.state import state
from app.worker.delivery import BODIES, SUBJECTS
from crypto.blind_index import BlindIndexer
from crypto.keystore import load_server_keys
from tests import canary
from tests.conftest import with_config
from tests.flows import applicant, apply, coordinator_client, member_id_of, unlock
from tests.people import (
    make_member,
    make_published_alert,
    make_report,
    sign_in,
    signed_in_client,
    vetting_private_key,
)
from tests.webtools import plain, post_form, text

REFERENCE = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\b")


def _report_form(app) -> dict[str, object]:
    return {"incident_date": state(app).clock().date().isoformat(), "incident_time": "evening",
            "area": "ldn", "place": "", "categories": ["threats"],
            "identifiers-0-kind": "phone", "identifiers-0-value": "07700 900555",
            "description": "", "narrative": "He would not pay and shouted."}


# -- discreet by default ---------------------------------------------------------------

def test_notice_subjects_and_texts_name_no_scheme_and_say_nothing_of_the_alert() -> None:
    for words in (*SUBJECTS.values(), *BODIES.values()):
        assert "ugly" not in words.lower() and "mugs" not in words.lower()
        assert "alert" not in words.lower(), "what a notice is about stays inside the account"


# -- alerts reach every member -----------------------------------------------------------

def test_the_area_asked_when_applying_is_the_alert_setting_not_a_monitoring_answer(
        app, conn) -> None:
    username = apply(app, alert_area="nw", area="unsaid")
    member_id = member_id_of(conn, username)
    assert alerts.member_areas(conn, member_id) == ["nw"]
    counted = conn.execute("SELECT count(*) FROM monitoring_counts WHERE question = 'area' "
                           "AND count > 0").fetchone()[0]
    assert counted == 0, "the alert setting is not counted as a monitoring answer"


def test_applying_without_an_alert_area_is_a_clear_400_that_writes_nothing(app, conn) -> None:
    from tests.flows import INDIVIDUAL

    response = post_form(app.test_client(), "/apply/individual",
                         {**INDIVIDUAL, "alert_area": ""})
    assert response.status_code == 400
    assert "Choose the area you want alerts for" in text(response)
    assert conn.execute("SELECT count(*) FROM members").fetchone()[0] == 0


def test_first_sign_in_asks_to_confirm_areas_and_channel_once(app, conn) -> None:
    username = apply(app, alert_area="ldn")
    member_id = member_id_of(conn, username)
    from app.membership import decisions

    decisions.approve(conn, member_id, None, state(app).clock(),  # type: ignore[arg-type]
                      read=True, keys=state(app).keys, vetting_key=vetting_private_key(app))
    client = app.test_client()
    first = sign_in(app, client, applicant(username))
    assert first.headers["Location"].endswith("/account/welcome")
    page = client.get("/account/welcome").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*value="ldn"|value="ldn"[^>]*checked', page)
    assert "By email" in page
    refused = post_form(client, "/account/welcome", {})
    assert refused.status_code == 400 and "Choose at least one area" in text(refused)
    saved = post_form(client, "/account/welcome", {"areas": ["ldn", "se"]})
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/alerts")
    assert alerts.member_areas(conn, member_id) == ["ldn", "se"]
    post_form(client, "/logout", {}, form_url="/account")
    again = sign_in(app, app.test_client(), applicant(username))
    assert again.headers["Location"].endswith("/account"), "asked only once"


def test_account_page_shows_the_current_channel_and_areas(app, conn) -> None:
    person = make_member(app, alert_channel="email")
    alerts.set_member_areas(conn, person.member_id, ["ldn", "wal"])
    page = plain(signed_in_client(app, person).get("/account"))
    assert "By email" in page and "London, Wales" in page


def test_contact_page_starts_with_the_current_channel_selected(app) -> None:
    person = make_member(app, alert_channel="email")
    page = signed_in_client(app, person).get("/account/contact").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*value="email"|value="email"[^>]*checked', page)


def test_text_alerts_are_offered_and_accepted_only_with_a_text_gateway(
        config, database_key) -> None:
    from app.vault import db
    from tests.flows import INDIVIDUAL

    plain_config = with_config(config, text_alerts=False)
    db.init_database(plain_config.database_path, database_key, plain_config.schema_path)
    app = create_app(plain_config)
    form = app.test_client().get("/apply/individual").get_data(as_text=True)
    assert 'value="sms"' not in form and 'value="email"' in form
    refused = post_form(app.test_client(), "/apply/individual",
                        {**INDIVIDUAL, "alert_channel": "sms"})
    assert refused.status_code == 400 and "Text alerts cannot be sent yet" in text(refused)
    member = make_member(app, alert_channel="email")
    client = signed_in_client(app, member)
    assert 'value="sms"' not in client.get("/account/contact").get_data(as_text=True)
    changed = post_form(client, "/account/contact", {"email": "", "mobile": "07700 900888",
                                                     "alert_channel": "sms"})
    assert changed.status_code == 400


# -- following up on a report ------------------------------------------------------------

def test_a_report_reference_is_shown_at_submission_and_on_your_reports(app, conn) -> None:
    person = make_member(app)
    client = signed_in_client(app, person)
    sent = post_form(client, "/reports/new", _report_form(app), follow_redirects=True)
    reference = conn.execute("SELECT reference FROM reports").fetchone()[0]
    assert REFERENCE.fullmatch(reference)
    assert f"Its reference is {reference}" in text(sent)
    assert f"Report {reference}" in plain(client.get("/reports"))


def test_references_are_random_and_unique(app, conn) -> None:
    person = make_member(app)
    for _ in range(5):
        make_report(app, person)
    references = [r[0] for r in conn.execute("SELECT reference FROM reports")]
    assert len(set(references)) == 5 and all(REFERENCE.fullmatch(r) for r in references)
    ids = [r[0] for r in conn.execute("SELECT id FROM reports")]
    assert not any(ref.replace("-", "").lower() in i.lower() for ref in references
                   for i in ids), "derived from nothing, not even the row id"


def test_added_information_is_sealed_and_the_coordinator_sees_it_as_an_addition(
        app, conn, config, database_key, keys_dir) -> None:
    person = make_member(app)
    report_id = make_report(app, person)
    client = signed_in_client(app, person)
    empty = post_form(client, f"/reports/{report_id}/add", {"text": "  "})
    assert empty.status_code == 400 and "Write what you want to add" in text(empty)
    added = post_form(client, f"/reports/{report_id}/add",
                      {"text": "Canary addition: he drives a blue estate now."})
    assert added.status_code == 302
    dump = canary.decrypted_dump(config.database_path, database_key)
    assert canary.find(dump, ["Canary addition"]) == [], "sealed, like the narrative"
    assert "1 addition" in plain(client.get("/reports"))

    coordinator, _person = coordinator_client(app)
    unlock(coordinator, keys_dir)
    summary = plain(coordinator.get(f"/coordinator/reports/{report_id}"))
    assert "1 addition by the reporter" in summary
    opened = post_form(coordinator, f"/coordinator/reports/{report_id}/unseal", {},
                       form_url=f"/coordinator/reports/{report_id}")
    page = plain(opened)
    assert "Added by the reporter later" in page and "Canary addition" in page
    from app.vault import log

    entries = [e.body for e in log.entries(conn)]
    [addition_entry] = [e for e in entries if any(r.startswith("report_additions/")
                                                  for r in e.get("records", []))]
    assert addition_entry["fields"] == ["body.text"]
    assert addition_entry["report"] == f"reports/{report_id}"


def test_withdrawn_report_is_kept_marked_and_no_alert_can_start_from_it(app, conn) -> None:
    person = make_member(app)
    report_id = make_report(app, person)
    client = signed_in_client(app, person)
    assert "Withdraw report" in plain(client.get(f"/reports/{report_id}/withdraw"))
    done = post_form(client, f"/reports/{report_id}/withdraw", {})
    assert done.status_code == 302
    assert "withdrawn on" in plain(client.get("/reports"))
    assert conn.execute("SELECT count(*) FROM reports WHERE withdrawn_at IS NOT NULL"
                        ).fetchone()[0] == 1
    coordinator, _person = coordinator_client(app)
    page = plain(coordinator.get(f"/coordinator/reports/{report_id}"))
    assert "Withdrawn by the reporter on" in page
    started = post_form(coordinator, f"/coordinator/reports/{report_id}/alert", {},
                        form_url=f"/coordinator/reports/{report_id}")
    assert started.status_code == 302
    assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
    refused = post_form(client, f"/reports/{report_id}/add", {"text": "More."},
                        form_url="/reports/new")
    assert refused.status_code == 400


def test_a_report_whose_alert_is_published_cannot_be_withdrawn(app, conn) -> None:
    person = make_member(app)
    report_id = make_report(app, person)
    conn.execute("UPDATE reports SET status = 'alert_published' WHERE id = ?", (report_id,))
    client = signed_in_client(app, person)
    assert "Withdraw this report" not in plain(client.get("/reports"))
    refused = post_form(client, f"/reports/{report_id}/withdraw", {},
                        form_url="/reports/new")
    assert refused.status_code == 409 and "can no longer be withdrawn" in plain(refused)
    assert conn.execute("SELECT withdrawn_at FROM reports").fetchone()[0] is None


def test_nobody_reaches_another_members_report_to_add_to_or_withdraw_it(app, conn) -> None:
    report_id = make_report(app)  # someone else's
    client = signed_in_client(app, make_member(app))
    for action in ("add", "withdraw"):
        assert client.get(f"/reports/{report_id}/{action}").status_code == 404
        posted = post_form(client, f"/reports/{report_id}/{action}", {"text": "x"},
                           form_url="/reports/new")
        assert posted.status_code == 404
    assert conn.execute("SELECT count(*) FROM report_additions").fetchone()[0] == 0
    assert conn.execute("SELECT withdrawn_at FROM reports").fetchone()[0] is None


# -- alerts edited after publishing -----------------------------------------------------

def test_an_alert_edited_after_publishing_says_updated_with_the_day(app, conn,
                                                                    server_keys) -> None:
    alert_id = make_published_alert(app)
    client = signed_in_client(app, make_member(app))
    assert "Updated on" not in plain(client.get(f"/alerts/{alert_id}"))
    later = state(app).clock() + timedelta(days=2)
    current = alerts.get(conn, alert_id)
    assert current is not None
    draft = alerts.AlertDraft(title="A test alert, now with his car", national=False,
                              areas=current.areas, categories=current.categories,
                              incident_date=current.incident_date,
                              description=current.description, identifiers=())
    alerts.save(conn, BlindIndexer(server_keys.index_key), alert_id, draft, None, later)
    page = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert f"Updated on {later.date().isoformat()}" in page
    assert page.count("<h1") == 1 and "now with his car" in page
    assert f"Updated on {later.date().isoformat()}" in text(client.get("/alerts"))


# -- organisations ------------------------------------------------------------------------

def _org_client(app):
    org = make_member(app, role="org_contact", kind="project",
                      email="office@old-project.example.org", alert_channel="email")
    return signed_in_client(app, org), org


def test_key_contact_changes_the_official_email_at_the_website_typed_again(
        app, conn, keys_dir, vetting_key) -> None:
    from crypto.envelope import recipients_of

    client, org = _org_client(app)
    assert client.get("/account/contact").status_code == 200
    wrong = post_form(client, "/account/contact", {
        "org_website": "https://www.new-project.example.org",
        "org_email": "someone@gmail.com", "key_contact": "", "alert_channel": "email"})
    assert wrong.status_code == 400 and "official email address at your website" in text(wrong)
    saved = post_form(client, "/account/contact", {
        "org_website": "https://www.new-project.example.org",
        "org_email": "info@new-project.example.org", "key_contact": "Robin Newcontact",
        "alert_channel": "email"})
    assert saved.status_code == 302
    row = conn.execute("SELECT contact, identity_change FROM members WHERE id = ?",
                       (org.member_id,)).fetchone()
    keys = load_server_keys(keys_dir)
    assert keys.delivery_public.key_id in recipients_of(bytes(row[0])), "alerts still reach it"
    from app.vault.unseal import UnsealRequest, unseal

    opened = unseal(conn, UnsealRequest(
        actor_id="test", purpose="vetting", table="members", row_ids=[org.member_id],
        fields={"contact": ["org_email"], "identity_change": ["org_website", "key_contact"]}),
        vetting_key)[org.member_id]
    assert opened["contact"]["org_email"] == "info@new-project.example.org"
    assert opened["identity_change"] == {"org_website": "https://www.new-project.example.org",
                                         "key_contact": "Robin Newcontact"}


def test_the_coordinator_sees_a_typed_website_that_differs_from_the_one_on_record(
        app, conn, keys_dir) -> None:
    from tests.flows import unseal as unseal_application

    username = apply(app, "project")
    member_id = member_id_of(conn, username)
    from app.membership import decisions

    decisions.approve(conn, member_id, None, state(app).clock(),  # type: ignore[arg-type]
                      read=True, keys=state(app).keys, vetting_key=vetting_private_key(app))
    client = signed_in_client(app, applicant(username))
    saved = post_form(client, "/account/contact", {
        "org_website": "https://elsewhere.example.net", "org_email": "me@elsewhere.example.net",
        "key_contact": "", "alert_channel": "email"})
    assert saved.status_code == 302
    coordinator, _person = coordinator_client(app)
    unlock(coordinator, keys_dir)
    page = plain(unseal_application(coordinator, member_id))
    assert "https://elsewhere.example.net" in page
    assert "NOT the website given when applying" in page


# -- two-step codes ------------------------------------------------------------------------

def test_a_failed_two_step_code_is_not_put_back_in_its_box(app) -> None:
    from tests.people import make_staff

    staff = make_staff(app, "coordinator")
    client = app.test_client()
    post_form(client, "/login", {"username": staff.username, "password": staff.password})
    failed = post_form(client, "/login/code", {"code": "123456"})
    assert failed.status_code == 401
    page = failed.get_data(as_text=True)
    assert "123456" not in page
    assert 'class="problem-summary"' in page, "the summary at the top says what went wrong"


@pytest.mark.parametrize("path", ["/account/welcome", "/reports", "/account/contact"])
def test_new_member_pages_are_discreet_in_their_titles(app, path) -> None:
    client = signed_in_client(app, make_member(app))
    title = re.search(r"<title>(.*?)</title>", client.get(path).get_data(as_text=True),
                      re.S).group(1)
    assert "Ugly Mugs" not in title
