"""Applying for membership (/apply): what is stored, what is shown, and what never is."""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.auth import accounts
from app.common import validation
from app.membership import monitoring, service
from app.membership import records as member_records
from app.vault import db
from app.vault.opening import open_group
from app.web.state import state
from crypto.envelope import recipients_of
from tests import canary
from tests.flows import coordinator_client, unlock
from tests.webtools import hidden_fields, post_form, text, without_csrf_tokens

PASSWORD = "a long enough password"
USERNAME = re.compile(r'id="username">([^<]+)<')
USERNAME_FORM = re.compile(r"[a-z]+-[a-z]+-\d{4}")

INDIVIDUAL = {
    "work_name": "Velvet Morning",
    "real_name": "",
    "email": "velvet.morning@example.org",
    "mobile": "07700 900123",
    "alert_channel": "email",
    "gender": "unsaid",
    "sector": "unsaid",
    "area": "unsaid",
    "alert_area": "ldn",
    "agree_terms": "y",
    "password": PASSWORD,
    "password_again": PASSWORD,
}

ORGANISATION = {
    "org_name": "Northside Outreach",
    "org_website": "https://www.northside-outreach.example.org",
    "org_email": "info@northside-outreach.example.org",
    "key_contact": "Sam Keycontact",
    "org_description": "We run a drop-in and night outreach for street-based workers.",
    "alert_channel": "email",
    "alert_area": "nw",
    "agree_terms": "y",
    "password": PASSWORD,
    "password_again": PASSWORD,
}

TABLES = ("members", "accounts", "member_contact_index", "monitoring_counts")


def apply(client, url: str, data: dict, **changes: object):
    merged = {**data, **changes}
    return post_form(client, url, {k: v for k, v in merged.items() if v is not None})


def username_on(response) -> str:
    match = USERNAME.search(response.get_data(as_text=True))
    assert match, "no username on the confirmation page"
    return match.group(1)


def rows(conn) -> dict[str, int]:
    found = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
             for t in TABLES}
    found["monitoring total"] = conn.execute(
        "SELECT coalesce(sum(count), 0) FROM monitoring_counts").fetchone()[0]
    return found


def account_for(conn, username: str):
    return conn.execute(
        "SELECT id, role, status, member_id, password_hash FROM accounts WHERE username = ?",
        (username,)).fetchone()


def member(conn, member_id: str):
    return conn.execute(
        "SELECT kind, status, identity, contact, alert_channel, duplicate_candidates "
        "FROM members WHERE id = ?", (member_id,)).fetchone()


def opened(member_id: str, column: str, sealed: bytes, vetting_key) -> dict[str, str]:
    return open_group("members", column, member_id, bytes(sealed), vetting_key)


def applied(client, conn, url: str, data: dict, **changes: object) -> tuple[str, str]:
    """Apply successfully; (member id, username)."""
    response = apply(client, url, data, **changes)
    assert response.status_code == 200, text(response)
    username = username_on(response)
    return account_for(conn, username)[3], username


# --- the three kinds of application, end to end ---------------------------------------


def test_individual_application_is_stored_sealed_and_pending(app, client, conn,
                                                             vetting_key) -> None:
    response = apply(client, "/apply/individual", INDIVIDUAL, real_name="Jo Realname")
    assert response.status_code == 200
    username = username_on(response)
    assert USERNAME_FORM.fullmatch(username)

    account_id, role, status, member_id, password_hash = account_for(conn, username)
    assert (role, status) == ("member", "pending")
    assert state(app).passwords.verify(password_hash, PASSWORD)
    assert not state(app).passwords.verify(password_hash, PASSWORD + "x")
    assert account_id != member_id

    kind, m_status, identity, contact, channel, duplicates = member(conn, member_id)
    assert (kind, m_status, channel, duplicates) == ("individual", "pending", "email", 0)
    assert opened(member_id, "identity", identity, vetting_key) == {
        "work_name": "Velvet Morning", "real_name": "Jo Realname"}
    assert opened(member_id, "contact", contact, vetting_key) == {
        "email": "velvet.morning@example.org", "mobile": "+447700900123"}


@pytest.mark.parametrize("kind", ["project", "site"])
def test_organisation_application_is_stored_sealed_and_pending(app, client, conn, vetting_key,
                                                               kind: str) -> None:
    response = apply(client, f"/apply/{kind}", ORGANISATION)
    assert response.status_code == 200
    username = username_on(response)
    assert USERNAME_FORM.fullmatch(username)

    _account_id, role, status, member_id, password_hash = account_for(conn, username)
    assert (role, status) == ("org_contact", "pending")
    assert state(app).passwords.verify(password_hash, PASSWORD)

    m_kind, m_status, identity, contact, channel, _dups = member(conn, member_id)
    assert (m_kind, m_status, channel) == (kind, "pending", "email")
    assert opened(member_id, "identity", identity, vetting_key) == {
        "org_name": ORGANISATION["org_name"], "org_website": ORGANISATION["org_website"],
        "key_contact": ORGANISATION["key_contact"],
        "org_description": ORGANISATION["org_description"]}
    assert opened(member_id, "contact", contact, vetting_key) == {
        "org_email": ORGANISATION["org_email"]}


def test_organisations_add_no_monitoring_answers(client, conn) -> None:
    applied(client, conn, "/apply/site", ORGANISATION)
    assert rows(conn)["monitoring total"] == 0


def test_stored_values_are_trimmed_and_the_mobile_is_e164(client, conn, vetting_key) -> None:
    member_id, _ = applied(client, conn, "/apply/individual", INDIVIDUAL,
                           work_name="  Velvet  ", email="  Velvet@Example.org ",
                           mobile=" 07700 900123 ", real_name="   ")
    _k, _s, identity, contact, *_ = member(conn, member_id)
    assert opened(member_id, "identity", identity, vetting_key) == {"work_name": "Velvet"}
    assert opened(member_id, "contact", contact, vetting_key) == {
        "email": "Velvet@Example.org", "mobile": "+447700900123"}


def test_description_keeps_its_line_breaks(client, conn, vetting_key) -> None:
    member_id, _ = applied(client, conn, "/apply/project", ORGANISATION,
                           org_description="Line one.\r\nLine two.")
    identity = member(conn, member_id)[2]
    assert opened(member_id, "identity", identity, vetting_key)["org_description"] == (
        "Line one.\nLine two.")


def test_website_without_a_scheme_is_taken_as_https(client, conn, vetting_key) -> None:
    member_id, _ = applied(client, conn, "/apply/project", ORGANISATION,
                           org_website="www.northside-outreach.example.org")
    identity = opened(member_id, "identity", member(conn, member_id)[2], vetting_key)
    assert identity["org_website"] == "https://www.northside-outreach.example.org"


def test_each_application_gets_its_own_username(client, conn) -> None:
    _, first = applied(client, conn, "/apply/individual", INDIVIDUAL)
    _, second = applied(client, conn, "/apply/individual", INDIVIDUAL, email="b@example.org",
                        mobile="07700 900999")
    assert first != second


def test_a_taken_username_is_retried(client, conn, monkeypatch) -> None:
    _, taken = applied(client, conn, "/apply/individual", INDIVIDUAL)
    names = iter([taken, "fresh-name-0001"])
    monkeypatch.setattr(accounts, "generate_username", lambda: next(names))
    _, username = applied(client, conn, "/apply/individual", INDIVIDUAL,
                          email="other@example.org", mobile="")
    assert username == "fresh-name-0001"
    assert rows(conn)["accounts"] == 2


# --- the confirmation page --------------------------------------------------------------


def test_confirmation_echoes_nothing_that_was_typed(client) -> None:
    individual = apply(client, "/apply/individual", INDIVIDUAL, real_name="Jo Realname",
                       alert_channel="sms")
    organisation = apply(client, "/apply/project", ORGANISATION)
    for response, typed in ((individual, INDIVIDUAL), (organisation, ORGANISATION)):
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        for name, value in typed.items():
            if name in ("alert_channel", "gender", "sector", "area", "agree_terms") or not value:
                continue
            assert value not in page, name
        for value in ("Jo Realname", "+447700900123", "7700 900123", "northside", "example.org"):
            assert value.casefold() not in page.casefold()


def test_confirmation_explains_what_happens_next(client) -> None:
    page = text(apply(client, "/apply/individual", INDIVIDUAL))
    assert "Write this down" in page
    assert "We cannot show it to you again" in page
    assert "we do not know how to contact you with it" in page
    assert "Monday to Friday, 9:00 to 17:00 (UK time)" in page
    assert "A coordinator checks your application" in page
    assert "works once a coordinator has approved it" in page
    assert 'href="/login"' in page and "the password you chose" in page


def test_confirmation_is_the_post_response_itself(client) -> None:
    response = apply(client, "/apply/individual", INDIVIDUAL)
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_username_is_never_logged(client, all_logs) -> None:
    username = username_on(apply(client, "/apply/individual", INDIVIDUAL))
    assert username not in all_logs.text


# --- possible duplicates, without an oracle ---------------------------------------------


def checked_by_a_coordinator(app, keys_dir) -> None:
    """A coordinator unlocks and opens the queue: every waiting contact is indexed."""
    coordinator, _ = coordinator_client(app)
    assert unlock(coordinator, keys_dir).status_code == 302
    assert coordinator.get("/coordinator/").status_code == 200


def test_applying_writes_no_contact_index_and_marks_the_member_not_checked(client,
                                                                           conn) -> None:
    member_id, _ = applied(client, conn, "/apply/individual", INDIVIDUAL)
    assert db.count(conn, "SELECT count(*) FROM member_contact_index") == 0
    assert db.scalar(conn, "SELECT contact_indexed_at FROM members WHERE id = ?",
                     (member_id,)) is None


@pytest.mark.parametrize(("first", "second"), [
    ({"mobile": "07700 900123", "email": ""}, {"mobile": "+44 7700 900123", "email": ""}),
    ({"mobile": "", "email": "jane.doe+um@gmail.com"},
     {"mobile": "", "email": "JaneDoe@googlemail.com"}),
])
def test_same_contact_spelled_differently_is_flagged_once_a_coordinator_unlocks(
        app, client, conn, keys_dir, first: dict, second: dict) -> None:
    first_id, _ = applied(client, conn, "/apply/individual", INDIVIDUAL, alert_channel="none",
                          **first)
    second_id, _ = applied(client, conn, "/apply/individual", INDIVIDUAL,
                           alert_channel="none", **second)
    assert member_records.duplicate_candidates(conn, second_id) == []
    checked_by_a_coordinator(app, keys_dir)
    assert member(conn, first_id)[5] == 1
    assert member(conn, second_id)[5] == 1
    assert member_records.duplicate_candidates(conn, second_id) == [first_id]
    assert member_records.duplicate_candidates(conn, first_id) == [second_id]


def test_duplicate_and_fresh_applicants_see_the_same_page(client, conn) -> None:
    """No membership oracle: the page says nothing about whether the contact is known."""
    def masked(response) -> tuple[int, str]:
        username = username_on(response)
        page = response.get_data(as_text=True).replace(username, "U")
        return response.status_code, without_csrf_tokens(page)

    fresh = apply(client, "/apply/individual", INDIVIDUAL, mobile="07700 900123", email="",
                  alert_channel="sms")
    duplicate = apply(client, "/apply/individual", INDIVIDUAL, mobile="+44 7700 900123",
                      email="", alert_channel="sms")
    assert masked(fresh) == masked(duplicate)


def test_closed_members_are_not_counted_as_duplicates(app, client, conn, keys_dir) -> None:
    old_id, _ = applied(client, conn, "/apply/individual", INDIVIDUAL, email="",
                        alert_channel="sms")
    conn.execute("UPDATE members SET status = 'rejected' WHERE id = ?", (old_id,))
    new_id, _ = applied(client, conn, "/apply/individual", INDIVIDUAL, email="",
                        alert_channel="sms")
    checked_by_a_coordinator(app, keys_dir)
    assert member(conn, new_id)[5] == 0
    assert member_records.duplicate_candidates(conn, new_id) == []
    assert member_records.duplicate_candidates(conn, new_id, include_closed=True) == [old_id]


def test_different_contacts_are_not_flagged(app, client, conn, keys_dir) -> None:
    applied(client, conn, "/apply/individual", INDIVIDUAL)
    new_id, _ = applied(client, conn, "/apply/individual", INDIVIDUAL,
                        email="someone.else@example.org", mobile="07700 900456")
    checked_by_a_coordinator(app, keys_dir)
    assert member(conn, new_id)[5] == 0
    assert member_records.duplicate_candidates(conn, new_id) == []


# --- monitoring -------------------------------------------------------------------------


def nonzero_counts(conn) -> dict[tuple[str, str], int]:
    return {(q, a): n for q, a, n in conn.execute(
        "SELECT question, answer, count FROM monitoring_counts WHERE count > 0")}


def flushed(app, conn) -> int:
    """The scheduled flush, run now (tests have no flush thread)."""
    return monitoring.flush(conn, state(app).tally, state(app).clock(), force=True)


def test_monitoring_answers_are_counted_and_prefer_not_to_say_is_not(app, client,
                                                                     conn) -> None:
    applied(client, conn, "/apply/individual", INDIVIDUAL, gender="woman", area="sco")
    applied(client, conn, "/apply/individual", INDIVIDUAL, email="two@example.org",
            mobile="", gender="woman", sector="street")
    applied(client, conn, "/apply/individual", INDIVIDUAL, email="three@example.org",
            mobile="")
    assert flushed(app, conn) == 4
    assert nonzero_counts(conn) == {("gender", "woman"): 2, ("area", "sco"): 1,
                                    ("sector", "street"): 1}
    assert conn.execute("SELECT count(*) FROM monitoring_counts WHERE answer = 'unsaid'"
                        ).fetchone()[0] == 0


def test_monitoring_counts_cannot_be_linked_to_a_member(app, client, conn) -> None:
    applied(client, conn, "/apply/individual", INDIVIDUAL, gender="nb", area="ni")
    flushed(app, conn)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(monitoring_counts)")]
    assert columns == ["question", "answer", "count"]
    # Every counter row exists from the first answer on, in a fixed order: which rows exist
    # and when they were made says nothing about what this applicant answered.
    made = [tuple(r) for r in conn.execute(
        "SELECT question, answer FROM monitoring_counts ORDER BY rowid")]
    assert made == sorted(monitoring.monitoring_pairs())


# --- who can read the contact envelope --------------------------------------------------


@pytest.mark.parametrize(("url", "data", "changes", "push"), [
    ("/apply/individual", INDIVIDUAL, {"alert_channel": "email"}, True),
    ("/apply/individual", INDIVIDUAL, {"alert_channel": "sms"}, True),
    ("/apply/individual", INDIVIDUAL, {"alert_channel": "none"}, False),
    ("/apply/project", ORGANISATION, {"alert_channel": "email"}, True),
    ("/apply/site", ORGANISATION, {"alert_channel": "none"}, False),
])
def test_an_applicants_contact_is_sealed_for_the_vetting_key_alone(
        client, conn, server_keys, url, data, changes, push) -> None:
    # Whatever alerts they asked for: the delivery key (whose passphrase lives on the
    # server) gets a wrap only at approval, so it never opens an unvetted applicant's.
    member_id, _ = applied(client, conn, url, data, **changes)
    _k, _s, identity, contact, channel, _d = member(conn, member_id)
    assert channel == changes["alert_channel"]
    assert set(recipients_of(bytes(contact))) == {server_keys.vetting_public.key_id}
    assert set(recipients_of(bytes(identity))) == {server_keys.vetting_public.key_id}


def test_insert_member_refuses_a_channel_without_its_contact(conn, server_keys) -> None:
    with pytest.raises(ValueError), db.transaction(conn):
        member_records.insert_member(conn, server_keys, kind="individual",
                                     identity={"work_name": "A"},
                                     contact={"email": "a@example.org"}, alert_channel="sms")
    assert rows(conn)["members"] == 0


# --- bad input: a clear message, a 400 and nothing written ------------------------------

LONG = "x" * 101
BAD_INDIVIDUAL = {
    "missing work name": ({"work_name": ""}, "work_name", "Enter a work name"),
    "blank work name": ({"work_name": "   "}, "work_name", "Enter a work name"),
    "no contact at all": ({"email": "", "mobile": "", "alert_channel": "none"}, "email",
                          "Give an email address, a mobile number, or both"),
    "invalid email": ({"email": "velvet.example.org"}, "email", "Enter an email address"),
    "email with a space": ({"email": "vel vet@example.org"}, "email",
                           "Enter an email address"),
    "email at a special-use domain": ({"email": "a@localhost"}, "email",
                                      "Enter an email address"),
    "invalid phone": ({"mobile": "12345"}, "mobile", "Enter a mobile number"),
    "letters for a phone": ({"mobile": "call me maybe"}, "mobile", "Enter a mobile number"),
    "landline": ({"mobile": "020 7946 0000"}, "mobile", "landline"),
    "text alerts without a mobile": ({"mobile": "", "alert_channel": "sms"}, "alert_channel",
                                     "Text alerts need a mobile number"),
    "email alerts without an email": ({"email": "", "alert_channel": "email"},
                                      "alert_channel", "Email alerts need an email address"),
    "no alert choice": ({"alert_channel": None}, "alert_channel",
                        "Choose how you want to receive alerts"),
    "unknown alert choice": ({"alert_channel": "pigeon"}, "alert_channel",
                             "Choose how you want to receive alerts"),
    "unknown monitoring answer": ({"gender": "robot"}, "gender", "Choose one of the options"),
    "over-long work name": ({"work_name": LONG}, "work_name", "at most 100 characters"),
    "over-long real name": ({"real_name": LONG}, "real_name", "at most 100 characters"),
    "over-long email": ({"email": "a" * 250 + "@example.org"}, "email",
                        "at most 254 characters"),
    "over-long mobile": ({"mobile": "0" * 40}, "mobile", "Enter a mobile number"),
    "NUL in work name": ({"work_name": "Vel\x00vet"}, "work_name", "invisible or control"),
    "escape in work name": ({"work_name": "Vel\x1b[31mvet"}, "work_name",
                            "invisible or control"),
    "right-to-left override in real name": ({"real_name": "Jo\u202eemanlaer"}, "real_name",
                                            "invisible or control"),
    "newline in work name": ({"work_name": "Vel\nvet"}, "work_name", "one line"),
    "zero-width space in work name": ({"work_name": "Vel\u200bvet"}, "work_name",
                                      "invisible or control"),
    "control character in email": ({"email": "velvet\x07@example.org"}, "email",
                                    "Enter an email address"),
    "terms not agreed": ({"agree_terms": None}, "agree_terms",
                         "agree to the membership terms"),
    "passwords not matching": ({"password_again": PASSWORD + "!"}, "password_again",
                               "not the same"),
    "password too short": ({"password": "short", "password_again": "short"}, "password",
                           "at least 10 characters"),
    "password only spaces": ({"password": " " * 12, "password_again": " " * 12}, "password",
                             "only spaces"),
}

BAD_ORGANISATION = {
    "missing organisation name": ({"org_name": ""}, "org_name",
                                  "Enter your organisation's name"),
    "webmail address": ({"org_email": "northside.outreach@gmail.com"}, "org_email",
                        "own domain"),
    "another domain": ({"org_email": "info@elsewhere.example.net"}, "org_email",
                       "own domain"),
    "a lookalike domain": ({"org_email": "info@evilnorthside-outreach.example.org"},
                           "org_email", "own domain"),
    "a public suffix": ({"org_website": "https://northside.org.uk",
                         "org_email": "info@org.uk"}, "org_email", "own domain"),
    "a webmail provider's own site": ({"org_website": "https://www.gmail.com",
                                       "org_email": "info@gmail.com"}, "org_email",
                                      "own domain"),
    "missing email": ({"org_email": ""}, "org_email", "official email address"),
    "invalid email": ({"org_email": "info(at)northside"}, "org_email",
                      "Enter an email address"),
    "missing website": ({"org_website": ""}, "org_website", "website address"),
    "plain http website": ({"org_website": "http://www.northside-outreach.example.org"},
                           "org_website", "https://"),
    "javascript url": ({"org_website": "javascript:alert(1)"}, "org_website",
                       "full address of your website"),
    "website with credentials": ({"org_website": "https://me:pw@northside-outreach.example.org"},
                                 "org_website", "full address of your website"),
    "website by IP address": ({"org_website": "https://192.0.2.7"}, "org_website",
                              "full address of your website"),
    "over-long website": ({"org_website": "https://northside-outreach.example.org/" + "a" * 300},
                          "org_website", "at most 300 characters"),
    "missing key contact": ({"key_contact": ""}, "key_contact", "key contact"),
    "missing description": ({"org_description": "  "}, "org_description",
                            "work with sex workers"),
    "over-long description": ({"org_description": "x" * 2001}, "org_description",
                              "at most 2000 characters"),
    "control character in description": ({"org_description": "We\x07 help"},
                                         "org_description", "invisible or control"),
    "bidi override in description": ({"org_description": "We help\u202e"},
                                     "org_description", "invisible or control"),
    "newline in organisation name": ({"org_name": "North\r\nside"}, "org_name", "one line"),
    "text alerts for an organisation": ({"alert_channel": "sms"}, "alert_channel",
                                        "Choose how you want to receive alerts"),
    "terms not agreed": ({"agree_terms": None}, "agree_terms",
                         "agree to the membership terms"),
    "passwords not matching": ({"password_again": "something else entirely"},
                               "password_again", "not the same"),
}


def _assert_refused(response, conn, before: dict, field: str, message: str) -> None:
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = re.search(rf'id="{field}-error">(.*?)</p>', page, re.S)
    assert error, f"no message next to {field}"
    assert message in re.sub(r"\s+", " ", error.group(1)).replace("&#39;", "'")
    assert f'href="#{field}"' in page, "the summary links to the field"
    assert f'id="{field}"' in page, "and the link has somewhere to go"
    assert rows(conn) == before
    assert PASSWORD not in page, "password fields are never re-filled"


@pytest.mark.parametrize("case", sorted(BAD_INDIVIDUAL))
def test_bad_individual_input_is_refused_and_nothing_is_written(client, conn,
                                                                case: str) -> None:
    applied(client, conn, "/apply/individual", INDIVIDUAL, email="first@example.org",
            mobile="", gender="man")  # so that "nothing written" is not "nothing at all"
    before = rows(conn)
    changes, field, message = BAD_INDIVIDUAL[case]
    response = apply(client, "/apply/individual", INDIVIDUAL, **changes)
    _assert_refused(response, conn, before, field, message)


@pytest.mark.parametrize("case", sorted(BAD_ORGANISATION))
def test_bad_organisation_input_is_refused_and_nothing_is_written(client, conn,
                                                                  case: str) -> None:
    before = rows(conn)
    changes, field, message = BAD_ORGANISATION[case]
    response = apply(client, "/apply/site", ORGANISATION, **changes)
    _assert_refused(response, conn, before, field, message)


def test_every_problem_is_reported_at_once(client, conn) -> None:
    response = apply(client, "/apply/individual", INDIVIDUAL, work_name="", email="nope",
                     mobile="123", agree_terms=None, password="short")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for field in ("work_name", "email", "mobile", "agree_terms", "password"):
        assert f'id="{field}-error"' in page, field
    assert rows(conn)["members"] == 0


def test_refused_form_keeps_what_was_typed_except_passwords(client) -> None:
    response = apply(client, "/apply/individual", INDIVIDUAL, work_name="",
                     real_name="Kept Realname")
    page = response.get_data(as_text=True)
    assert 'value="Kept Realname"' in page
    for name in ("password", "password_again"):
        assert re.search(rf'<input[^>]*name="{name}"[^>]*value=""', page), name


def test_missing_csrf_token_is_refused_and_nothing_is_written(client, conn) -> None:
    before = rows(conn)
    response = client.post("/apply/individual", data=INDIVIDUAL)
    assert response.status_code == 400
    response = client.post("/apply/project", data={**ORGANISATION, "csrf_token": "forged"})
    assert response.status_code == 400
    assert rows(conn) == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_unknown_membership_type_is_not_found(client, method: str) -> None:
    assert getattr(client, method)("/apply/volunteer").status_code == 404


def test_a_failure_while_writing_leaves_nothing(app, client, conn, monkeypatch) -> None:
    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    # After the member row, before the account and the commit.
    monkeypatch.setattr(service.accounts, "create_login", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as production does: a 500 page
    before = rows(conn)
    response = apply(client, "/apply/individual", INDIVIDUAL, gender="woman")
    assert response.status_code == 500
    assert rows(conn) == before


# --- the service without a request ------------------------------------------------------


def test_service_applies_without_a_request(app, conn, server_keys, vetting_key) -> None:
    st = state(app)
    result = service.apply_individual(
        conn, server_keys, st.passwords, st.clock(),
        service.IndividualApplication(work_name="Direct", mobile="07700 900777",
                                      alert_channel="sms", alert_area="ldn", agree_terms=True,
                                      password=PASSWORD, password_again=PASSWORD))
    assert USERNAME_FORM.fullmatch(result.username)
    assert result.username not in repr(result)
    contact = member(conn, result.member_id)[3]
    assert opened(result.member_id, "contact", contact, vetting_key) == {
        "mobile": "+447700900777"}


def test_service_problems_name_fields_not_values(conn, server_keys, app) -> None:
    st = state(app)
    with pytest.raises(service.ApplicationInvalid) as caught:
        service.apply_individual(conn, server_keys, st.passwords, st.clock(),
                                 service.IndividualApplication(work_name="Secret\x00Name"))
    assert "Secret" not in str(caught.value)
    assert "work_name" in caught.value.problems
    assert rows(conn)["members"] == 0


@pytest.mark.parametrize(("email_domain", "host", "ok"), [
    ("example.org", "www.example.org", True),
    ("example.org", "example.org", True),
    ("example.org", "outreach.example.org", True),
    ("outreach.example.org", "www.outreach.example.org", True),
    ("mail.example.org", "www.example.org", False),
    ("gmail.com", "www.example.org", False),
    ("gmail.com", "gmail.com", False),
    ("org.uk", "charity.org.uk", False),
    ("ample.org", "www.example.org", False),
    ("example.org.evil.net", "www.example.org", False),
])
def test_email_domain_must_be_the_website_or_a_parent(email_domain: str, host: str,
                                                      ok: bool) -> None:
    assert validation.email_belongs_to_website(email_domain, host) is ok


# --- the pages themselves ---------------------------------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.controls: list[str] = []
        self.labelled: set[str] = set()
        self.inline = 0
        self.forms: list[dict[str, str | None]] = []
        self._script_src: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "style" in a or any(name.startswith("on") for name in a) or tag == "style":
            self.inline += 1
        if tag == "script":
            self._script_src = a.get("src") or ""
            if not a.get("src"):
                self.inline += 1
        if tag == "label" and a.get("for"):
            self.labelled.add(a["for"] or "")
        if tag == "form":
            self.forms.append(a)
        if tag in ("select", "textarea") or (
                tag == "input" and a.get("type") not in ("hidden", "submit")):
            self.controls.append(a.get("id") or "")


@pytest.mark.parametrize("url", ["/apply", "/apply/individual", "/apply/project",
                                 "/apply/site"])
def test_apply_pages_need_no_script_and_label_every_field(client, url: str) -> None:
    page = _Page()
    page.feed(client.get(url).get_data(as_text=True))
    assert page.inline == 0
    assert all(control and control in page.labelled for control in page.controls), (
        set(page.controls) - page.labelled)
    for form in page.forms:
        assert (form.get("method") or "").lower() == "post"


def test_refused_page_labels_every_field_too(client) -> None:
    page = _Page()
    page.feed(apply(client, "/apply/individual", INDIVIDUAL, work_name="").get_data(
        as_text=True))
    assert page.controls and all(c in page.labelled for c in page.controls)


def test_choose_page_links_to_each_form(client) -> None:
    page = client.get("/apply").get_data(as_text=True)
    for url in ("/apply/individual", "/apply/project", "/apply/site"):
        assert f'href="{url}"' in page
    assert 'href="/apply"' in client.get("/").get_data(as_text=True)


def test_individual_form_explains_burner_contacts_and_shows_the_eight_terms(client) -> None:
    page = text(client.get("/apply/individual"))
    assert "set up just for this scheme" in page
    assert "pay-as-you-go SIM used only for this scheme" in page
    assert "only need to give a mobile number if you want alerts by text message" in page
    assert "Only if you are comfortable" in page
    terms = re.search(r'<ol class="terms">(.*?)</ol>', page, re.S)
    assert terms and terms.group(1).count("<li>") == 8


def test_organisation_form_shows_the_eight_terms(client) -> None:
    page = text(client.get("/apply/site"))
    terms = re.search(r'<ol class="terms">(.*?)</ol>', page, re.S)
    assert terms and terms.group(1).count("<li>") == 8


# --- canaries: what was typed appears nowhere we store or log ---------------------------

CANARY_INDIVIDUAL = {
    "work_name": "Canary Applicant Workname 4471",
    "real_name": "Canary Applicant Realname 8823",
    "email": "canary.applicant.3301@example.org",
    "mobile": "07700 900661",
}
CANARY_ORGANISATION = {
    "org_name": "Canary Organisation Name 5512",
    "org_website": "https://www.canary-org-5512.example.org/about-canary",
    "org_email": "canary.official.7719@canary-org-5512.example.org",
    "key_contact": "Canary Keycontact Person 6630",
    "org_description": "Canary description of outreach work 9904\nsecond canary line 9905",
}


def test_canaries_typed_into_apply_appear_nowhere(app, client, conn, config, database_key,
                                                   all_logs) -> None:
    first = apply(client, "/apply/individual", INDIVIDUAL, alert_channel="sms",
                  gender="woman", **CANARY_INDIVIDUAL)
    second = apply(client, "/apply/project", ORGANISATION, **CANARY_ORGANISATION)
    assert first.status_code == second.status_code == 200
    # A refused application is not stored either, and its values are not logged.
    refused = apply(client, "/apply/individual", INDIVIDUAL, **CANARY_INDIVIDUAL,
                    agree_terms=None)
    assert refused.status_code == 400

    values = [*CANARY_INDIVIDUAL.values(), "+447700900661", "7700900661",
              *CANARY_ORGANISATION.values(), "canary-org-5512", "second canary line 9905",
              "Canary description of outreach work 9904"]
    files = canary.database_files(config.database_path)
    assert any(p.name.endswith("-wal") for p in files), "the WAL must be scanned too"
    for path in files:
        assert canary.find(path.read_bytes(), values) == [], path.name
    dump = canary.decrypted_dump(config.database_path, database_key)
    assert b"members" in dump, "the dump really was decrypted"
    assert canary.find(dump, values) == []
    assert canary.find(all_logs.text.encode("utf-8"), values) == []
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert canary.find(config.database_path.read_bytes(), values) == []


# --- any text at all: a clear refusal or a clean result, never a crash ------------------

_ANY_TEXT = st.text(max_size=400)


@settings(max_examples=150, deadline=None)
@given(work_name=_ANY_TEXT, real_name=_ANY_TEXT, email=_ANY_TEXT, mobile=_ANY_TEXT,
       alert_channel=_ANY_TEXT, gender=_ANY_TEXT)
def test_any_individual_input_is_checked_without_crashing(work_name, real_name, email, mobile,
                                                          alert_channel, gender) -> None:
    application = service.IndividualApplication(
        work_name=work_name, real_name=real_name, email=email, mobile=mobile,
        alert_channel=alert_channel, gender=gender, alert_area="all", agree_terms=True,
        password=PASSWORD, password_again=PASSWORD)
    try:
        checked = service.check_individual(application)
    except service.ApplicationInvalid as invalid:
        assert invalid.problems
        return
    assert checked.identity["work_name"].strip() == checked.identity["work_name"]
    assert all(unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp")
               for value in (*checked.identity.values(), *checked.contact.values())
               for ch in value)


@settings(max_examples=150, deadline=None)
@given(org_website=_ANY_TEXT, org_email=_ANY_TEXT, org_description=_ANY_TEXT)
def test_any_organisation_input_is_checked_without_crashing(org_website, org_email,
                                                            org_description) -> None:
    application = service.OrganisationApplication(
        kind="site", org_name="Org", org_website=org_website, org_email=org_email,
        key_contact="Key", org_description=org_description, alert_channel="none",
        agree_terms=True, password=PASSWORD, password_again=PASSWORD)
    try:
        checked = service.check_organisation(application)
    except service.ApplicationInvalid as invalid:
        assert invalid.problems
        return
    assert checked.identity["org_website"].startswith("https://")


# --- sending the same form twice ----------------------------------------------------------


def test_sending_the_same_form_twice_makes_one_application(client, conn) -> None:
    form = hidden_fields(client, "/apply/individual")
    data = {**INDIVIDUAL, **form}
    first = client.post("/apply/individual", data=data)
    assert first.status_code == 200 and USERNAME.search(first.get_data(as_text=True))
    before = rows(conn)
    again = client.post("/apply/individual", data=data)  # the browser's refresh
    assert again.status_code == 200
    assert "already sent" in text(again)
    assert USERNAME.search(again.get_data(as_text=True)) is None, "the username is shown once"
    assert rows(conn) == before


def test_monitoring_answers_are_not_counted_in_the_transaction_that_makes_the_member(
        app, client, conn) -> None:
    # Two snapshots either side of an application must not show a counter moving with it.
    applied(client, conn, "/apply/individual", INDIVIDUAL, gender="woman", area="sco")
    assert nonzero_counts(conn) == {}
    assert state(app).tally.waiting() == 1


def test_a_flush_waits_for_a_batch_unless_the_oldest_has_waited_a_day(app, client,
                                                                       conn) -> None:
    st = state(app)
    applied(client, conn, "/apply/individual", INDIVIDUAL, gender="woman")
    assert monitoring.flush(conn, st.tally, st.clock()) == 0, "one application: no batch"
    later = st.clock() + monitoring.MAX_WAIT
    assert monitoring.flush(conn, st.tally, later) == 1
    assert nonzero_counts(conn) == {("gender", "woman"): 1}


def test_a_failed_flush_loses_no_answer(app, client, conn, monkeypatch) -> None:
    st = state(app)
    applied(client, conn, "/apply/individual", INDIVIDUAL, gender="man", sector="online")

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(monitoring, "count", broken)
    with pytest.raises(RuntimeError):
        monitoring.flush(conn, st.tally, st.clock(), force=True)
    monkeypatch.undo()
    assert flushed(app, conn) == 2


def test_the_flusher_counts_what_waits_when_the_service_stops(app, config, database_key,
                                                               client, conn) -> None:
    st = state(app)
    applied(client, conn, "/apply/individual", INDIVIDUAL, gender="nb")
    flusher = monitoring.Flusher(st.tally, monitoring.connector(config.database_path,
                                                                 database_key),
                                 st.clock, every=3600)
    flusher.start()
    flusher.stop()
    assert nonzero_counts(conn) == {("gender", "nb"): 1}
