"""The number checker (/check) and the alert identifier index it answers from.

Alerts are inserted directly (the Alerts issue will publish them) and indexed through
app/alert_index.py, the one writer of alert_identifier_index.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from app.alerts.index import NotInTransaction, clear_alert_identifiers, index_alert_identifiers
from app.checker import service
from app.common import identifiers
from app.common.clock import uk_day
from app.common.tally import DailyTally
from app.vault import db
from app.web.limits import CheckLimiter
from app.web.state import state
from crypto.blind_index import BlindIndexer
from crypto.errors import NormalisationError
from tests import canary
from tests.conftest import with_config
from tests.people import make_member, make_staff, signed_in_client
from tests.webtools import post_form, text

CHECK = "/check"
FOUND_ONE = "1 published alert mentions this."
NOT_FOUND = "No published alert mentions this. That is not a guarantee of safety."
TOO_MANY = ("You have made a lot of checks in the last hour. "
            "Please wait a while before checking again.")

# As a reporter would type them, and as a member checking might.
PUBLISHED = [("phone", "+44 7700 900123"), ("email", "Foo.Bar+x@gmail.com"),
             ("plate", "ab12 cde"), ("handle", "@Dodgy_Dave")]
OTHER_SPELLINGS = [("phone", "07700 900123"), ("email", "foobar@googlemail.com"),
                   ("plate", "AB12CDE"), ("handle", "dodgy_dave")]


@pytest.fixture
def indexer(server_keys) -> BlindIndexer:
    return BlindIndexer(server_keys.index_key)


def add_alert(conn, indexer: BlindIndexer, found: list[tuple[str, str]], *,
              status: str = "published", title: str = "Man in a silver estate car",
              published_at: datetime | None = datetime(2026, 3, 12, 21, 0, tzinfo=UTC)) -> str:
    alert_id = secrets.token_hex(8)
    stamp = published_at.isoformat(timespec="seconds") if published_at else None
    with db.transaction(conn):
        conn.execute("INSERT INTO alerts (id, status, current_version, created_at, "
                     "published_at) VALUES (?, ?, 1, ?, ?)",
                     (alert_id, status, "2026-03-10T09:00:00+00:00", stamp))
        conn.execute("INSERT INTO alert_versions (alert_id, version, title, national, areas, "
                     "categories, incident_date, description, identifiers, edited_at) "
                     "VALUES (?, 1, ?, 1, '', 'threats', '2026-03-09', '', '[]', ?)",
                     (alert_id, title, "2026-03-10T09:00:00+00:00"))
        index_alert_identifiers(conn, indexer, alert_id, found)
    return alert_id


def check(client, kind: str, value: str):
    return post_form(client, CHECK, {"kind": kind, "value": value})


def today_count(app: Flask, conn) -> int:
    service.flush_counts(conn, state(app).check_tally)
    return service.checks_on(conn, uk_day(state(app).clock()))


def all_counts(app: Flask, conn) -> list[tuple[str, int]]:
    """What is stored once the counts held in memory are written."""
    service.flush_counts(conn, state(app).check_tally)
    return conn.execute("SELECT day, count FROM check_counts").fetchall()


@pytest.fixture
def member_client(app: Flask):
    return signed_in_client(app, make_member(app))


# --- finding published alerts -------------------------------------------------------------

@pytest.mark.parametrize(("kind", "value"), OTHER_SPELLINGS + PUBLISHED)
def test_published_identifier_is_found_in_any_spelling(app, conn, indexer, member_client,
                                                       kind: str, value: str) -> None:
    add_alert(conn, indexer, PUBLISHED)
    response = check(member_client, kind, value)
    assert response.status_code == 200
    page = text(response)
    assert FOUND_ONE in page
    assert NOT_FOUND not in page
    assert today_count(app, conn) == 1


def test_answer_lists_each_alert_title_and_uk_date_newest_first(app, conn, indexer,
                                                               member_client) -> None:
    add_alert(conn, indexer, [("phone", "07700 900123")], title="Older alert about a driver",
              published_at=datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    # 23:30 UTC on 30 June is already 1 July in the UK (BST).
    add_alert(conn, indexer, [("phone", "+447700900123")], title="Newer alert & warning",
              published_at=datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    add_alert(conn, indexer, [("phone", "07700 900999")], title="About someone else")
    page = text(check(member_client, "phone", "0044 7700 900123"))
    assert "2 published alerts mention this." in page
    assert "Newer alert &amp; warning" in page and "1 July 2026" in page
    assert "Older alert about a driver" in page and "5 January 2026" in page
    assert page.index("Newer alert") < page.index("Older alert")
    assert "About someone else" not in page


def test_alert_titles_link_to_the_alert_page(app, conn, indexer, member_client) -> None:
    alert_id = add_alert(conn, indexer, PUBLISHED)
    page = check(member_client, "plate", "AB 12 CDE").get_data(as_text=True)
    assert f'href="/alerts/{alert_id}"' in page
    assert member_client.get(f"/alerts/{alert_id}").status_code == 200


def test_draft_and_withdrawn_alerts_are_not_found(app, conn, indexer, member_client) -> None:
    add_alert(conn, indexer, [("phone", "07700 900123")], status="draft", published_at=None)
    # Withdrawn without its index cleared: the status alone keeps it out of answers.
    add_alert(conn, indexer, [("phone", "07700 900123")], status="withdrawn")
    page = text(check(member_client, "phone", "+44 7700 900123"))
    assert NOT_FOUND in page
    assert "Trust your instincts" in page and "tell someone you trust where you are" in page
    assert "1 published alert" not in page and "2 published alerts" not in page


def test_identifier_only_in_an_unvetted_report_is_not_found(app, conn, indexer,
                                                           member_client) -> None:
    report_id = secrets.token_hex(8)
    with db.transaction(conn):
        conn.execute(
            "INSERT INTO reports (id, created_at, incident_date, incident_time, area, late, "
            "third_party, consent_alert, consent_police_anonymous, consent_police_details, "
            "wants_support, narrative, offender) "
            "VALUES (?, ?, '2026-03-01', 'evening', 'ldn', 0, 0, 1, 0, 0, 0, ?, ?)",
            (report_id, "2026-03-02T10:00:00+00:00", b"x", b"x"))
        for kind, value in PUBLISHED:
            conn.executemany(
                "INSERT INTO report_identifier_index (report_id, index_name, value) "
                "VALUES (?, ?, ?)",
                [(report_id, name, index) for name, index in
                 identifiers.index_values(indexer, kind, value)])
    for kind, value in OTHER_SPELLINGS:
        page = text(check(member_client, kind, value))
        assert NOT_FOUND in page, kind
    assert today_count(app, conn) == len(OTHER_SPELLINGS)


def test_answer_names_the_kind_checked_without_showing_the_value(app, conn, indexer,
                                                                member_client) -> None:
    for kind, words in (("phone", "the phone number you entered"),
                        ("email", "the email address you entered"),
                        ("plate", "the vehicle registration you entered"),
                        ("handle", "the username or handle you entered")):
        value = dict(OTHER_SPELLINGS)[kind]
        page = text(check(member_client, kind, value))
        assert words in page
        assert value not in page and value.casefold() not in page.casefold()


def test_service_answers_without_a_request(app, conn, indexer) -> None:
    alert_id = add_alert(conn, indexer, PUBLISHED)
    when = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
    tally = DailyTally()
    result = service.run_check(conn, indexer, "email", "FOOBAR@gmail.com", when, tally)
    assert [alert.alert_id for alert in result.alerts] == [alert_id]
    assert service.run_check(conn, indexer, "plate", "ZZ99 ZZZ", when, tally).alerts == []
    with pytest.raises(service.InvalidCheck) as refused:
        service.run_check(conn, indexer, "phone", "call me", when, tally)
    assert refused.value.field == "value"
    assert str(refused.value.message) == "That is not a possible phone number."
    assert service.flush_counts(conn, tally) == 2
    assert all_counts(app, conn) == [("2026-03-14", 2)]


# --- the alert identifier index --------------------------------------------------------------

def test_reindexing_an_alert_replaces_its_identifiers(app, conn, indexer) -> None:
    alert_id = add_alert(conn, indexer, PUBLISHED)
    when = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
    with db.transaction(conn):
        written = index_alert_identifiers(conn, indexer, alert_id,
                                          [("phone", "07700 900555"), ("phone", "+447700900555")])
    assert written == 1  # two spellings of one number: one row
    assert service.published_alerts_mentioning(conn, indexer, "phone", "07700 900123",
                                               ) == []
    assert len(service.run_check(conn, indexer, "phone", "07700 900 555", when,
                                 DailyTally()).alerts) == 1


def test_alert_index_is_the_report_index(app, conn, indexer) -> None:
    alert_id = add_alert(conn, indexer, [("email", "Foo.Bar+x@gmail.com")])
    rows = set(conn.execute("SELECT index_name, value FROM alert_identifier_index "
                            "WHERE alert_id = ?", (alert_id,)).fetchall())
    # Exactly the values a report naming the same address gets (reports use index_values).
    assert rows == set(identifiers.index_values(indexer, "email", "Foo.Bar+x@gmail.com"))
    # The provider-canonical index is what another spelling meets.
    assert dict(identifiers.index_values(indexer, "email", "foobar@googlemail.com"))[
        "email_canonical"] == dict(rows)["email_canonical"]


def test_a_bad_identifier_leaves_the_alert_index_untouched(app, conn, indexer) -> None:
    alert_id = add_alert(conn, indexer, PUBLISHED)
    before = conn.execute("SELECT count(*) FROM alert_identifier_index").fetchone()[0]
    for bad in ([("phone", "07700 900555"), ("phone", "not a number")],
                [("fax", "01632 960000")]):
        with pytest.raises((NormalisationError, ValueError)), db.transaction(conn):
            index_alert_identifiers(conn, indexer, alert_id, bad)
    assert conn.execute("SELECT count(*) FROM alert_identifier_index").fetchone()[0] == before


def test_alert_index_changes_only_inside_a_transaction(app, conn, indexer) -> None:
    alert_id = add_alert(conn, indexer, PUBLISHED)
    with pytest.raises(NotInTransaction):
        index_alert_identifiers(conn, indexer, alert_id, [("phone", "07700 900555")])
    with pytest.raises(NotInTransaction):
        clear_alert_identifiers(conn, alert_id)


def test_clearing_an_alert_index_stops_it_answering(app, conn, indexer) -> None:
    alert_id = add_alert(conn, indexer, PUBLISHED)
    with db.transaction(conn):
        assert clear_alert_identifiers(conn, alert_id) == 5  # email has two indexes
    for kind, value in OTHER_SPELLINGS:
        assert service.published_alerts_mentioning(conn, indexer, kind, value) == []


# --- rate limit ------------------------------------------------------------------------------

def test_31st_check_in_an_hour_is_refused_politely_and_not_counted(app, conn,
                                                                  member_client) -> None:
    for _ in range(30):
        assert check(member_client, "phone", "07700 900123").status_code == 200
    refused = check(member_client, "phone", "07700 900123")
    assert refused.status_code == 429
    assert TOO_MANY in text(refused)
    assert today_count(app, conn) == 30
    # The page itself still opens; only checks are refused.
    assert member_client.get(CHECK).status_code == 200

    other = signed_in_client(app, make_member(app, work_name="Another Member"))
    assert check(other, "phone", "07700 900123").status_code == 200
    assert today_count(app, conn) == 31


def test_invalid_checks_use_up_the_limit_too(app, conn, member_client) -> None:
    state(app).check_limiter = CheckLimiter("3 per hour")
    assert check(member_client, "phone", "not a phone").status_code == 400
    assert check(member_client, "gopher", "07700 900123").status_code == 400
    assert check(member_client, "phone", "").status_code == 400
    refused = check(member_client, "phone", "07700 900123")
    assert refused.status_code == 429 and TOO_MANY in text(refused)
    assert all_counts(app, conn) == []


def test_the_limit_is_a_moving_hour() -> None:
    start = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    offset = [timedelta(0)]
    limiter = CheckLimiter("2 per hour", clock=lambda: start + offset[0])
    assert limiter.allow("account-a") and limiter.allow("account-a")
    assert not limiter.allow("account-a")
    assert limiter.allow("account-b")
    offset[0] = timedelta(minutes=30)
    assert not limiter.allow("account-a")
    offset[0] = timedelta(minutes=61)
    assert limiter.allow("account-a")
    limiter.reset("account-b")
    assert limiter.allow("account-b") and limiter.allow("account-b")


# --- privacy ---------------------------------------------------------------------------------

CANARIES = {
    # (kind, value as typed): valid values, checked; some match a published alert.
    ("phone", "07700 900461"), ("email", "Canary.Checker+tag4471@example.org"),
    ("plate", "CN71 KRY"), ("handle", "@canary_handle_7731"),
}
INVALID_CANARIES = {("phone", "canary-not-a-number-5521"),
                    ("email", "canary-no-at-sign-8812"),
                    ("plate", "CANARY\x00PLATE9")}


def _searchable(kind: str, value: str) -> set[str]:
    forms = {value}
    if "\x00" in value:
        forms |= set(value.split("\x00"))
    else:
        with contextlib.suppress(NormalisationError):
            forms |= {normaliser(value) for normaliser in _normalisers(kind)}
    return {f for f in forms if len(f) >= 5}


def _normalisers(kind: str):
    from crypto import normalise

    return {"phone": [normalise.normalise_phone],
            "email": [normalise.normalise_email, normalise.canonical_email],
            "plate": [normalise.normalise_plate],
            "handle": [normalise.normalise_handle]}[kind]


def test_checked_values_are_never_stored_logged_or_echoed(app, conn, indexer, config,
                                                          database_key, all_logs) -> None:
    add_alert(conn, indexer, [("phone", "+44 7700 900461"), ("plate", "cn71kry")],
              title="Alert about a caller")
    conn.close()
    person = make_member(app)
    client = signed_in_client(app, person)
    bodies = []
    for kind, value in sorted(CANARIES | INVALID_CANARIES):
        response = check(client, kind, value)
        assert response.status_code == (400 if (kind, value) in INVALID_CANARIES else 200)
        assert not response.request.query_string
        bodies.append(response.get_data())
        bodies.append(json.dumps(dict(response.headers)).encode())
    canaries = set().union(*(_searchable(kind, value)
                             for kind, value in CANARIES | INVALID_CANARIES))

    hits = {"bodies": canary.find(b"\n".join(bodies), canaries),
            "logs": canary.find(all_logs.text.encode(), canaries),
            "decrypted database": canary.find(
                canary.decrypted_dump(config.database_path, database_key), canaries)}
    for path in canary.database_files(config.database_path):
        hits[path.name] = canary.find(path.read_bytes(), canaries)
    cookie = client.get_cookie("session")
    if cookie is not None:
        session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
        hits["session"] = canary.find(json.dumps(session).encode(), canaries)
    assert {where: found for where, found in hits.items() if found} == {}

    reopened = db.connect(config.database_path, database_key)
    try:
        assert today_count(app, reopened) == len(CANARIES)
        assert [row[0] for row in all_counts(app, reopened)] == [
            uk_day(state(app).clock())]
    finally:
        reopened.close()


def test_daily_count_uses_the_uk_date(app, conn) -> None:
    tally = state(app).check_tally
    service.count_check(tally, datetime(2026, 6, 30, 23, 30, tzinfo=UTC))  # 00:30 BST
    service.count_check(tally, datetime(2026, 12, 31, 23, 30, tzinfo=UTC))  # GMT
    service.count_check(tally, datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert sorted(all_counts(app, conn)) == [("2026-07-01", 1), ("2026-12-31", 2)]


def test_a_check_leaves_no_stored_trace_until_a_batch_is_written(app, conn,
                                                               member_client) -> None:
    # A durable write per check would let someone watching the file time each check.
    assert check(member_client, "plate", "AB12CDE").status_code == 200
    assert conn.execute("SELECT count(*) FROM check_counts").fetchone()[0] == 0
    assert state(app).check_tally.pending(uk_day(state(app).clock())) == 1
    assert today_count(app, conn) == 1


def test_counts_held_in_memory_are_written_at_clean_shutdown(app, conn,
                                                             member_client) -> None:
    for _ in range(3):
        assert check(member_client, "plate", "AB12CDE").status_code == 200
    state(app).shutdown()
    assert conn.execute("SELECT sum(count) FROM check_counts").fetchone()[0] == 3


def test_the_flush_job_writes_counts_on_its_timer(app, config, conn, member_client) -> None:
    state(app).config = with_config(config, check_flush_seconds=0.05)
    assert check(member_client, "plate", "AB12CDE").status_code == 200
    deadline = time.monotonic() + 5
    while (conn.execute("SELECT count(*) FROM check_counts").fetchone()[0] == 0
           and time.monotonic() < deadline):
        time.sleep(0.02)
    assert conn.execute("SELECT sum(count) FROM check_counts").fetchone()[0] == 1
    state(app).shutdown()


def test_counts_survive_a_failed_write(app, config, database_key, conn) -> None:
    tally = DailyTally()
    tally.add("2026-03-14", 4)
    broken = db.connect(config.database_path, database_key)
    broken.close()
    with pytest.raises(db.sqlcipher3.ProgrammingError):
        service.flush_counts(broken, tally)
    assert tally.pending("2026-03-14") == 4
    assert service.flush_counts(conn, tally) == 4
    assert service.checks_on(conn, "2026-03-14") == 4


def test_the_check_query_reads_the_identifier_index(app, conn, indexer) -> None:
    # With a million published identifiers a scan would take the check past 1 ms.
    pairs = identifiers.index_values(indexer, "phone", "07700 900123")
    clause, params = identifiers.matching_clause(pairs, "i")
    plan = " ".join(str(row[3]) for row in conn.execute(
        "EXPLAIN QUERY PLAN " + service.MENTIONS_QUERY.format(clause=clause), params))
    assert "USING INDEX alert_identifier_lookup" in plan or \
        "USING COVERING INDEX alert_identifier_lookup" in plan, plan
    assert "SCAN i" not in plan and "SCAN alert_identifier_index" not in plan, plan


def test_check_counts_by_the_app_clock(app, conn) -> None:
    late_evening = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # 00:30 on 1 July in the UK
    state(app).clock = lambda: late_evening
    client = signed_in_client(app, make_member(app))
    assert check(client, "plate", "AB12CDE").status_code == 200
    assert all_counts(app, conn) == [("2026-07-01", 1)]


# --- bad input -------------------------------------------------------------------------------

BAD_INPUT = [
    ("phone", "", "Type the phone number you want to check."),
    ("handle", "   ", "Type the username or handle you want to check."),
    ("phone", "07700\x00900123", "invisible control character"),
    ("handle", "dodgy\x1b[31mdave", "invisible control character"),
    ("phone", "\x0707700 900123", "invisible control character"),
    ("email", "5" * 10 * 1024, "far too long"),
    ("phone", "12", "That is not a possible phone number."),
    ("email", "nobody-at-all", "That is not an email address."),
    ("plate", "ÅB12 CDE", "That is not a vehicle registration"),
    ("carrier-pigeon", "07700 900123", "Choose whether you are checking a phone number"),
    ("link", "https://example.org/advert", "Choose whether you are checking a phone number"),
    ("", "07700 900123", "Choose whether you are checking a phone number"),
]


@pytest.mark.parametrize(("kind", "value", "message"), BAD_INPUT)
def test_bad_input_gets_a_clear_400_and_is_not_counted(app, conn, member_client, kind: str,
                                                       value: str, message: str) -> None:
    response = check(member_client, kind, value)
    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert "Please check the form" in page  # the problem summary, linked to the field
    field = "kind" if message.startswith("Choose") else "value"
    assert f'id="{field}-error"' in page
    if len(value.strip()) >= 3:
        assert value not in response.get_data(as_text=True)
    assert all_counts(app, conn) == []


def test_missing_fields_get_a_400_not_a_500(app, conn, member_client) -> None:
    response = post_form(member_client, CHECK, {})
    assert response.status_code == 400
    response = member_client.post(CHECK, data={"kind": "phone", "value": "07700 900123"})
    assert response.status_code == 400  # no CSRF token
    assert all_counts(app, conn) == []


# --- who may check ---------------------------------------------------------------------------

def test_anonymous_is_sent_to_sign_in(client) -> None:
    response = client.get(CHECK)
    assert response.status_code == 302
    assert "/login?required=1" in response.headers["Location"]
    assert client.post(CHECK, data={"kind": "phone", "value": "07700 900123"}
                       ).status_code == 403


@pytest.mark.parametrize("role", ["coordinator", "auditor"])
def test_staff_cannot_check(app, conn, role: str) -> None:
    staff = signed_in_client(app, make_staff(app, role))
    assert staff.get(CHECK).status_code == 403
    response = post_form(staff, CHECK, {"kind": "phone", "value": "07700 900123"},
                         form_url="/account")
    assert response.status_code == 403
    assert all_counts(app, conn) == []


def test_organisation_staff_can_check(app, conn, indexer) -> None:
    add_alert(conn, indexer, PUBLISHED)
    organisation = make_member(app, role="org_contact", kind="project")
    staff = make_member(app, role="org_staff", kind="project",
                        member_id=organisation.member_id)
    for person in (organisation, staff):
        assert FOUND_ONE in text(check(signed_in_client(app, person), "handle", "Dodgy_Dave"))


# --- the page --------------------------------------------------------------------------------

def test_form_works_without_javascript_and_labels_every_field(member_client) -> None:
    page = member_client.get(CHECK).get_data(as_text=True)
    assert '<form method="post" action="/check"' in page
    assert '<label class="field-label" for="value">' in page
    assert '<legend class="field-label">What are you checking?</legend>' in page
    for kind in identifiers.CHECKABLE:
        assert f'id="kind-{identifiers.CHECKABLE.index(kind)}"' in page
        assert f'value="{kind}"' in page
    assert 'value="link"' not in page
    assert 'autocomplete="off"' in page
    assert "<script" not in page.replace(
        '<script src="/static/quick-exit.js" defer></script>', "")


def test_members_see_the_checker_in_the_navigation(app, member_client) -> None:
    assert 'href="/check"' in member_client.get("/account").get_data(as_text=True)
    staff = signed_in_client(app, make_staff(app, "auditor"))
    assert 'href="/check"' not in staff.get("/account").get_data(as_text=True)
