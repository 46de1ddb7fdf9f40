"""Sign-in throttling that strangers cannot turn against members (OWASP's device cookie).

Every limit here has its "the legitimate user still gets through" test beside it.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeSerializer

from app.auth import devices
from app.auth import reset as reset_codes
from app.auth.device_cookie import SECURE_NAME
from app.auth.signin import Outcome, ask_for_code, attempt_password
from app.vault import db
from app.web.limits import (
    FIRST_DELAY,
    FREE_FAILURES,
    MAX_DELAY,
    Bucket,
    GrowingDelay,
    ResetLimiter,
)
from app.web.state import load_keys, state
from tests import canary
from tests.flows import resolve_waiting_resets
from tests.people import (
    PASSWORD,
    Person,
    make_member,
    make_staff,
    sign_in,
)
from tests.webtools import post_form, text, without_csrf_tokens

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class SimulatedClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@pytest.fixture
def clock(app) -> SimulatedClock:
    simulated = SimulatedClock()
    state(app).clock = simulated
    return simulated


def _device_cookie(client) -> str | None:
    cookie = client.get_cookie(SECURE_NAME)
    return cookie.value if cookie else None


def _known_browser(app, person: Person):
    """A browser that has signed in to the account once, and signed out again."""
    client = app.test_client()
    assert sign_in(app, client, person).status_code == 302
    assert _device_cookie(client), "a successful sign-in leaves a device cookie"
    post_form(client, "/logout", {}, form_url="/account")
    return client


def _wrong(client, username: str):
    return post_form(client, "/login", {"username": username, "password": "not it at all"})


# The building blocks, on their own.

def test_growing_delay_is_free_at_first_then_doubles_up_to_its_cap() -> None:
    delay = GrowingDelay(free=2, first=timedelta(seconds=10), cap=timedelta(seconds=50))
    now = T0
    waits = []
    for _ in range(7):
        waits.append(delay.wait("k", now).total_seconds())
        delay.fail("k", now)
    assert waits == [0, 0, 10, 20, 40, 50, 50]
    assert delay.wait("k", now + timedelta(seconds=50)) == timedelta(0), "never a long lock"
    assert delay.wait("other", now) == timedelta(0)


def test_growing_delay_forgets_a_quiet_key_and_bounds_its_memory() -> None:
    delay = GrowingDelay(free=0, first=timedelta(seconds=10), cap=timedelta(seconds=10),
                         forget_after=timedelta(minutes=1), max_keys=3)
    for i in range(10):
        delay.fail(f"k{i}", T0)
    assert len(delay._failures) == 3
    assert delay.wait("k9", T0) > timedelta(0)
    assert delay.wait("k9", T0 + timedelta(minutes=2)) == timedelta(0)


def test_the_bucket_allows_a_burst_then_its_rate() -> None:
    bucket = Bucket(burst=3, per_minute=60)
    assert [bucket.take(T0).allowed for _ in range(4)] == [True, True, True, False]
    assert bucket.take(T0).retry_after == timedelta(seconds=1)
    assert bucket.take(T0 + timedelta(seconds=1)).allowed


# Known browsers against strangers, through the real pages.

def test_a_known_browser_signs_in_while_strangers_fail_on_the_same_account(app, clock) -> None:
    member = make_member(app)
    known = _known_browser(app, member)
    stranger = app.test_client()
    for _ in range(FREE_FAILURES + 20):
        _wrong(stranger, member.username)
    assert _wrong(stranger, member.username).status_code == 429
    new_browser = sign_in(app, app.test_client(), member)
    assert new_browser.status_code == 429, "an unknown browser waits, as OWASP's pattern says"
    assert sign_in(app, known, member).status_code == 302


def test_a_known_browser_signs_in_while_strangers_exhaust_the_overall_limit(app, clock) -> None:
    member = make_member(app)
    known = _known_browser(app, member)
    stranger = app.test_client()
    answers = {_wrong(stranger, f"made-up-name-{i:04d}").status_code for i in range(40)}
    assert 429 in answers
    assert sign_in(app, app.test_client(), make_member(app)).status_code == 429
    assert sign_in(app, known, member).status_code == 302


def test_a_known_browser_is_held_to_its_own_failures_only(app, clock) -> None:
    member = make_member(app)
    known = _known_browser(app, member)
    for _ in range(10):
        assert _wrong(known, member.username).status_code == 401
    assert _wrong(known, member.username).status_code == 429, "its own guesses still count"
    assert sign_in(app, app.test_client(), member).status_code == 302, \
        "and they never slow another browser"
    clock.advance(FIRST_DELAY)
    assert sign_in(app, known, member).status_code == 302


def test_an_unknown_browser_gets_in_once_the_delay_has_passed(app, clock) -> None:
    member = make_member(app)
    stranger = app.test_client()
    for _ in range(200):
        _wrong(stranger, member.username)
        clock.advance(timedelta(seconds=3))
    assert sign_in(app, app.test_client(), member).status_code == 429
    clock.advance(MAX_DELAY)
    assert sign_in(app, app.test_client(), member).status_code == 302


def test_unknown_and_known_usernames_are_throttled_alike(app, clock) -> None:
    member = make_member(app)
    pages = []
    for name in (member.username, "no-such-user-0000"):
        client = app.test_client()
        answers = [_wrong(client, name).status_code for _ in range(FREE_FAILURES + 1)]
        page = text(_wrong(client, name)).replace(name, "NAME")
        # Every page carries the language chooser's form, with its own CSRF token.
        pages.append((answers, without_csrf_tokens(page)))
    assert pages[0][0] == pages[1][0] == [401] * FREE_FAILURES + [429]
    assert pages[0][1] == pages[1][1], "the same 429 page: no membership oracle"


def test_a_forged_or_foreign_device_cookie_counts_for_nothing(app, clock) -> None:
    member, other = make_member(app), make_member(app)
    known_to_other = _known_browser(app, other)
    stranger = app.test_client()
    forged = URLSafeSerializer(b"not the session key", salt="uglymugs device tokens")
    stranger.set_cookie(SECURE_NAME, forged.dumps([secrets.token_urlsafe(32)]))
    for client in (stranger, known_to_other):
        for _ in range(FREE_FAILURES):
            _wrong(client, member.username)
    assert _wrong(known_to_other, member.username).status_code == 429, \
        "a token for another account is no token for this one"
    stranger.set_cookie(SECURE_NAME, "garbage" * 50)
    assert _wrong(stranger, member.username).status_code == 429


def test_staff_sign_in_with_code_from_a_known_browser_during_an_attack(app, clock) -> None:
    coordinator = make_staff(app, "coordinator")
    known = _known_browser(app, coordinator)
    stranger = app.test_client()
    for _ in range(50):
        _wrong(stranger, coordinator.username)
    clock.advance(timedelta(seconds=31))  # a fresh TOTP step
    assert sign_in(app, known, coordinator).headers["Location"].endswith("/coordinator/")


# Where the token lives, and what ends it.

def test_the_device_token_is_stored_only_as_a_hash(app, clock, config, database_key) -> None:
    member = make_member(app)
    known = _known_browser(app, member)
    with app.test_request_context():
        load_keys(app)
        serializer = URLSafeSerializer(app.secret_key, salt="uglymugs device tokens")
        [token] = serializer.loads(_device_cookie(known))
    dump = canary.decrypted_dump(config.database_path, database_key)
    assert canary.find(dump, [token]) == []
    conn = db.connect(config.database_path, database_key)
    try:
        assert devices.known_token(conn, [token], member.account_id, clock()) is not None
    finally:
        conn.close()


def test_retention_forgets_browsers_unused_for_the_token_lifetime(app, clock, conn) -> None:
    from app.worker import retention

    member = make_member(app)
    _known_browser(app, member)
    later = clock() + devices.LIFETIME + timedelta(days=1)
    assert retention.purge(conn, clock()).device_tokens == 0
    assert retention.purge(conn, later).device_tokens == 1
    assert db.count(conn, "SELECT count(*) FROM device_tokens WHERE account_id = ?",
                    (member.account_id,)) == 0


def test_plain_sign_out_keeps_the_browser_known(app, clock, conn) -> None:
    member = make_member(app)
    known = _known_browser(app, member)
    assert conn.execute("SELECT count(*) FROM device_tokens").fetchone()[0] == 1
    assert sign_in(app, known, member).status_code == 302
    assert conn.execute("SELECT count(*) FROM device_tokens").fetchone()[0] == 1, \
        "a known browser keeps its token rather than piling up new ones"


def _strangers_fill_the_account(app, username: str) -> None:
    stranger = app.test_client()
    for _ in range(FREE_FAILURES + 1):
        _wrong(stranger, username)


def test_sign_out_everywhere_makes_every_browser_a_stranger(app, clock, conn) -> None:
    member = make_member(app)
    known = _known_browser(app, member)
    assert sign_in(app, known, member).status_code == 302
    post_form(known, "/account/sign-out-everywhere", {}, form_url="/account")
    assert conn.execute("SELECT count(*) FROM device_tokens").fetchone()[0] == 0
    _strangers_fill_the_account(app, member.username)
    assert sign_in(app, known, member).status_code == 429


def test_a_password_change_makes_every_browser_a_stranger(app, clock, conn) -> None:
    member = make_member(app)
    known = _known_browser(app, member)
    assert sign_in(app, known, member).status_code == 302
    new = "a completely new password"
    assert post_form(known, "/account/password", {"current": PASSWORD, "new": new,
                                                 "confirm": new},
                     form_url="/account").status_code == 302
    assert conn.execute("SELECT count(*) FROM device_tokens").fetchone()[0] == 0
    post_form(known, "/logout", {}, form_url="/account")
    _strangers_fill_the_account(app, member.username)
    assert sign_in(app, known, replace(member, password=new)).status_code == 429


def test_a_password_reset_makes_every_browser_a_stranger(app, clock, conn, server_keys) -> None:
    member = make_member(app)
    _known_browser(app, member)
    assert conn.execute("SELECT count(*) FROM device_tokens").fetchone()[0] == 1
    with db.transaction(conn):
        conn.execute("INSERT INTO password_resets (account_id, code_hash, expires_at) "
                     "VALUES (?, ?, ?)", (member.account_id,
                                          reset_codes._code_hash(server_keys, member.account_id,
                                                                 "12345678"),
                                          (clock() + timedelta(minutes=5)).isoformat()))
    done = post_form(app.test_client(), "/reset/code", {
        "username": member.username, "code": "12345678", "new": "a reset new password",
        "confirm": "a reset new password"})
    assert done.status_code == 302
    assert conn.execute("SELECT count(*) FROM device_tokens").fetchone()[0] == 0


# Password reset: its own limits, never a sign-in failure.

def test_reset_requests_never_count_as_sign_in_failures(app, clock) -> None:
    member = make_member(app)
    stranger = app.test_client()
    answers = [post_form(stranger, "/reset", {"username": member.username}).status_code
               for _ in range(30)]
    assert answers[:3] == [200, 200, 200] and 429 in answers
    assert sign_in(app, app.test_client(), member).status_code == 302, \
        "a new browser signs in straight after a flood of resets"


def test_reset_requests_have_their_own_limit_and_the_owner_still_gets_a_code(app, clock,
                                                                             conn) -> None:
    member = make_member(app, alert_channel="email", email="owner@example.org")
    stranger = app.test_client()
    for _ in range(3):
        post_form(stranger, "/reset", {"username": member.username})
    refused = post_form(stranger, "/reset", {"username": member.username})
    assert refused.status_code == 429 and "Please wait before trying again" in text(refused)
    clock.advance(timedelta(hours=1))
    assert post_form(app.test_client(), "/reset",
                     {"username": member.username}).status_code == 200
    resolve_waiting_resets(app)
    assert conn.execute("SELECT count(*) FROM password_resets").fetchone()[0] == 1


def test_guessing_reset_codes_never_slows_sign_in(app, clock) -> None:
    member = make_member(app)
    stranger = app.test_client()
    for _ in range(30):
        post_form(stranger, "/reset/code", {"username": member.username, "code": "00000000",
                                            "new": "whatever password", "confirm":
                                            "whatever password"})
    assert post_form(stranger, "/reset/code", {
        "username": member.username, "code": "00000000", "new": "whatever password",
        "confirm": "whatever password"}).status_code == 429
    assert sign_in(app, app.test_client(), member).status_code == 302


def test_the_reset_limiter_lets_the_owner_through_after_strangers_flood_others() -> None:
    limiter = ResetLimiter(burst=5, per_minute=30)
    for i in range(5):
        limiter.allow_request(f"someone-{i}", T0)
    assert not limiter.allow_request("owner", T0).allowed
    assert limiter.allow_request("owner", T0 + timedelta(seconds=2)).allowed


# The acceptance test: the lock-out attack.

def test_ten_thousand_attempts_cannot_lock_out_known_browsers(app, clock, config,
                                                               database_key) -> None:
    """10,000 sign-in and reset attempts over 20 simulated minutes, made-up and real
    usernames, no passwords: a member and a coordinator who signed in before from their
    browsers sign in throughout; a member on a new browser gets in MAX_DELAY after it ends.
    """
    member, coordinator = make_member(app), make_staff(app, "coordinator")
    newcomer = make_member(app)
    member_browser = _known_browser(app, member)
    clock.advance(timedelta(seconds=31))
    coordinator_browser = _known_browser(app, coordinator)
    st = state(app)
    load_keys(app)
    real = [member.username, coordinator.username, newcomer.username]
    conn = db.connect(config.database_path, database_key, db.Rights.SERVICE)
    sent = refused = 0
    attempts, minutes = 10_000, 20
    step = timedelta(minutes=minutes) / attempts
    try:
        for i in range(attempts):
            username = real[i % 3] if i % 4 == 0 else f"made-up-{i:05d}"
            if i % 5 == 0:
                verdict = ask_for_code(st.reset_requests, st.reset_limiter, username, clock())
                refused += not verdict.allowed
            else:
                attempt = attempt_password(conn, st.passwords, st.throttle, username,
                                           f"guess {i}", clock())
                assert attempt.outcome in (Outcome.FAILED, Outcome.THROTTLED)
                refused += attempt.outcome is Outcome.THROTTLED
            sent += 1
            clock.advance(step)
            if i % 500 == 250:  # about every minute, the known browsers sign in
                assert sign_in(app, member_browser, member).status_code == 302, i
                post_form(member_browser, "/logout", {}, form_url="/account")
                clock.advance(timedelta(seconds=31))
                answer = sign_in(app, coordinator_browser, coordinator)
                assert answer.headers["Location"].endswith("/coordinator/"), i
                post_form(coordinator_browser, "/logout", {}, form_url="/account")
            if i == attempts // 2:
                assert sign_in(app, app.test_client(), newcomer).status_code == 429, \
                    "the attack is real: an unknown browser is held back while it lasts"
    finally:
        conn.close()
    assert sent == attempts and refused > attempts // 2
    clock.advance(MAX_DELAY)
    assert sign_in(app, app.test_client(), newcomer).status_code == 302
