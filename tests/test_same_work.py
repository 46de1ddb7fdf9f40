"""Pages that take a username do the same work, and answer the same bytes, for every name.

The work is counted, not timed: Argon2id hashes and verifies, keyed hashes (blind
indexes), envelopes sealed, and the shape of every SQL statement the request's connection
runs (from SQLite's trace callback, with literal values taken out). Each page is tried for
an unknown username and for accounts in every state a stranger might want to tell apart.
scripts/measure_reset_timing.py measures the time the same way over many samples.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from app.auth import accounts
from app.auth import reset as reset_codes
from app.vault import db, outbox, sealing
from app.web.limits import ResetLimiter, SignInThrottle
from app.web.state import load_keys, state
from crypto.blind_index import BlindIndexer
from tests.flows import resolve_waiting_resets
from tests.people import Person, make_member, make_staff, sign_in
from tests.webtools import post_form

CASES = ("unknown", "active_push", "active_no_channel", "pending", "revoked", "staff",
         "active_push_with_code_pending")
_LITERAL = re.compile(r"'(?:[^']|'')*'|\bX'[0-9A-Fa-f]*'|\b\d+(?:\.\d+)?\b")
_TOKEN = re.compile(rb'(name="csrf_token"[^>]*value=")[^"]+(")')


@dataclass
class Work:
    hashes: int = 0
    verifies: int = 0
    blind_indexes: Counter[tuple[str, str]] = field(default_factory=Counter)
    sealed: int = 0
    statements: list[str] = field(default_factory=list)

    def shape(self) -> tuple[object, ...]:
        return (self.hashes, self.verifies, sorted(self.blind_indexes.items()), self.sealed,
                self.statements)


@pytest.fixture
def counted(app, monkeypatch) -> Callable[[], Iterator[Work]]:
    """A context that counts the work the app does inside it."""
    st = state(app)
    load_keys(app)
    pool = st.connection_pool()
    current: list[Work] = []

    def trace(statement: str) -> None:
        if current:
            current[-1].statements.append(_LITERAL.sub("?", statement))

    real_acquire, real_release = pool.acquire, pool.release

    def acquire() -> db.Connection:
        conn = real_acquire()
        conn.set_trace_callback(trace)
        return conn

    def release(conn: db.Connection) -> None:
        conn.set_trace_callback(None)
        real_release(conn)

    monkeypatch.setattr(pool, "acquire", acquire)
    monkeypatch.setattr(pool, "release", release)
    real_hash, real_verify = st.passwords.hash, st.passwords.verify

    def count_hash(password: str) -> str:
        if current:
            current[-1].hashes += 1
        return real_hash(password)

    def count_verify(stored: str | None, password: str) -> bool:
        if current:
            current[-1].verifies += 1
        return real_verify(stored, password)

    monkeypatch.setattr(st.passwords, "hash", count_hash)
    monkeypatch.setattr(st.passwords, "verify", count_verify)
    real_compute = BlindIndexer.compute

    def compute(self: BlindIndexer, table: str, column: str, *parts: str) -> bytes:
        if current:
            current[-1].blind_indexes[(table, column)] += 1
        return real_compute(self, table, column, *parts)

    monkeypatch.setattr(BlindIndexer, "compute", compute)
    real_seal = sealing.seal_group

    def seal(*args: object, **kwargs: object) -> bytes:
        if current:
            current[-1].sealed += 1
        return real_seal(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sealing, "seal_group", seal)
    monkeypatch.setattr(outbox, "seal_group", seal)

    @contextmanager
    def counting() -> Iterator[Work]:
        current.append(Work())
        try:
            yield current[-1]
        finally:
            current.pop()

    return counting


def _same_length_unknown(username: str) -> str:
    """A username of the same length that names no account."""
    return username[::-1]


@pytest.fixture
def people(app, conn) -> dict[str, Person]:
    made = {
        "active_push": make_member(app, alert_channel="email", email="push@example.org"),
        "active_no_channel": make_member(app),
        "pending": make_member(app, status="pending", alert_channel="email",
                               email="pending@example.org"),
        "revoked": make_member(app, alert_channel="email", email="revoked@example.org"),
        "staff": make_staff(app, "coordinator"),
        "active_push_with_code_pending": make_member(app, alert_channel="email",
                                                     email="code@example.org"),
    }
    with db.transaction(conn):
        conn.execute("UPDATE members SET status = 'revoked' WHERE id = ?",
                     (made["revoked"].member_id,))
        conn.execute("UPDATE accounts SET status = 'disabled' WHERE id = ?",
                     (made["revoked"].account_id,))
    account = accounts.by_username(conn, made["active_push_with_code_pending"].username)
    assert account is not None
    with db.transaction(conn):
        assert reset_codes.send_code(conn, load_keys(app), account, state(app).clock())
    made["unknown"] = Person(_same_length_unknown(made["active_push"].username), "x", "none",
                             "")
    return made


def _fresh_limits(app) -> None:
    """Every case starts with the same limits, so no case is refused for another's tries."""
    st = state(app)
    st.throttle, st.reset_limiter = SignInThrottle(), ResetLimiter()


def _comparable(response, username: str) -> tuple[object, ...]:
    """Status, headers and body, with the per-session CSRF token and the typed name blanked."""
    body = _TOKEN.sub(rb"\1-\2", response.get_data()).replace(username.encode(), b"<name>")
    headers = sorted((name, value) for name, value in response.headers.items()
                     if name not in ("Set-Cookie", "Content-Length"))
    cookies = sorted((c.split("=", 1)[0], len(c.split(";", 1)[0]), c.split(";", 1)[1:])
                     for c in response.headers.getlist("Set-Cookie"))
    return (response.status_code, headers, cookies, len(response.get_data()), body)


def _try_each(app, counted, people, send: Callable[[object, Person], object],
              form_url: str) -> dict[str, tuple[Work, tuple[object, ...]]]:
    """Each case, and beside it an unknown username of the same length: work and page."""
    results = {}
    for case in CASES:
        pairs = [(case, people[case])]
        if case != "unknown":
            pairs.append((f"unknown like {case}", Person(
                _same_length_unknown(people[case].username), "x", "none", "")))
        for name, person in pairs:
            _fresh_limits(app)
            client = app.test_client()
            client.get(form_url)
            with counted() as work:
                response = send(client, person)
            results[name] = (work, _comparable(response, person.username))
    return results


def _assert_all_alike(results: dict[str, tuple[Work, tuple[object, ...]]]) -> None:
    unknown_work, unknown_page = results["unknown"]
    for case, (work, page) in results.items():
        assert work.shape() == unknown_work.shape(), case
        if case.startswith("unknown"):
            continue
        # Status, headers, cookies and the body, byte for byte but the CSRF token and the
        # typed name, against an unknown name of the same length: the same body length.
        assert page == results[f"unknown like {case}"][1], case
        assert page[:3] == unknown_page[:3] and page[4] == unknown_page[4], case


def test_reset_request_does_the_same_work_and_answers_the_same_bytes_for_every_username(
        app, counted, people) -> None:
    results = _try_each(app, counted, people, lambda client, person: post_form(
        client, "/reset", {"username": person.username}), "/reset")
    _assert_all_alike(results)
    assert results["unknown"][1][0] == 200
    work = results["unknown"][0]
    assert (work.hashes, work.verifies, work.sealed, sum(work.blind_indexes.values())) == \
        (0, 0, 0, 0), "a request only queues the name; the lookup happens later"
    assert work.statements == [], "a request reads and writes nothing"


def test_queued_reset_requests_send_a_code_only_to_an_active_member_with_a_channel(
        app, conn, people) -> None:
    _fresh_limits(app)
    before = conn.execute("SELECT count(*) FROM password_resets").fetchone()[0]
    for case in CASES:
        post_form(app.test_client(), "/reset", {"username": people[case].username})
    assert conn.execute("SELECT count(*) FROM password_resets").fetchone()[0] == before, \
        "nothing is written while the request is answered"
    resolve_waiting_resets(app)
    pending = {row["account_id"] for row in conn.execute("SELECT account_id FROM "
                                                         "password_resets")}
    assert pending == {people["active_push"].account_id,
                       people["active_push_with_code_pending"].account_id}
    assert len(state(app).reset_requests) == 0


def test_wrong_password_does_the_same_work_and_answers_the_same_bytes_for_every_username(
        app, counted, people) -> None:
    results = _try_each(app, counted, people, lambda client, person: post_form(
        client, "/login", {"username": person.username, "password": "not the password"}),
        "/login")
    _assert_all_alike(results)
    work = results["unknown"][0]
    assert work.statements, "the trace saw the request's statements"
    assert results["unknown"][1][0] == 401
    assert (work.verifies, work.hashes) == (1, 0), "one Argon2id verify, known or not"


def test_wrong_password_from_a_browser_known_to_another_account_does_the_same_work(
        app, counted, people) -> None:
    """A stranger with a device cookie of their own account: the same reads for every name."""
    own = make_member(app)

    def send(client, person: Person):
        assert sign_in(app, client, own).status_code == 302
        post_form(client, "/logout", {}, form_url="/account")
        with counted() as work:
            response = post_form(client, "/login", {"username": person.username,
                                                    "password": "not the password"})
        return work, response

    results = {}
    for case in CASES:
        _fresh_limits(app)
        work, response = send(app.test_client(), people[case])
        results[case] = (work, response.status_code)
    assert results["unknown"][0].statements
    for case, (work, status) in results.items():
        assert (work.shape(), status) == (results["unknown"][0].shape(), 401), case


def test_wrong_reset_code_does_the_same_work_and_answers_the_same_bytes_for_every_username(
        app, counted, people) -> None:
    results = _try_each(app, counted, people, lambda client, person: post_form(
        client, "/reset/code", {"username": person.username, "code": "00000000",
                                "new": "a brand new password",
                                "confirm": "a brand new password"}), "/reset/code")
    _assert_all_alike(results)
    work = results["unknown"][0]
    assert work.statements, "the trace saw the request's statements"
    assert results["unknown"][1][0] == 400
    assert work.hashes == 1 and work.blind_indexes == Counter(
        {("password_resets", "code"): 1})
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
                   for s in work.statements), "a wrong code is counted later, in a batch"


def test_wrong_reset_codes_still_use_up_a_code_after_five_tries(app, conn, people) -> None:
    person = people["active_push_with_code_pending"]
    for _ in range(reset_codes.MAX_TRIES):
        _fresh_limits(app)
        post_form(app.test_client(), "/reset/code", {
            "username": person.username, "code": "00000000", "new": "a brand new password",
            "confirm": "a brand new password"})
    # Counted in memory until the batch writes them: the limit already holds.
    assert state(app).reset_failures.count(person.account_id) == reset_codes.MAX_TRIES
    resolve_waiting_resets(app)
    assert conn.execute("SELECT attempts FROM password_resets WHERE account_id = ?",
                        (person.account_id,)).fetchone()[0] == reset_codes.MAX_TRIES


def test_the_right_code_after_five_wrong_ones_is_refused_before_the_batch_is_written(
        app, conn, people) -> None:
    person = people["active_no_channel"]
    code = "24681357"
    with db.transaction(conn):
        conn.execute("INSERT INTO password_resets (account_id, code_hash, expires_at) "
                     "VALUES (?, ?, ?)", (person.account_id, reset_codes._code_hash(
                         load_keys(app), person.account_id, code),
                         (state(app).clock() + timedelta(minutes=5)).isoformat()))
    for _ in range(reset_codes.MAX_TRIES):
        _fresh_limits(app)
        post_form(app.test_client(), "/reset/code", {
            "username": person.username, "code": "00000000", "new": "a brand new password",
            "confirm": "a brand new password"})
    _fresh_limits(app)
    right = post_form(app.test_client(), "/reset/code", {
        "username": person.username, "code": code, "new": "a brand new password",
        "confirm": "a brand new password"})
    assert right.status_code == 400
