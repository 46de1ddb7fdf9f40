"""Counting the work a request does, for tests that a page works the same for every name.

The work is counted, not timed: Argon2id hashes and verifies, keyed hashes (blind
indexes), envelopes sealed, and the shape of every SQL statement the request's connection
runs (from SQLite's trace callback, with literal values taken out). `people` makes an
account in every state a stranger might want to tell apart from an unknown username.
tests/test_same_work.py and tests/threats/test_stranger_on_the_network.py use these.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from app.auth import accounts
from app.auth import reset as reset_codes
from app.vault import db, outbox, sealing
from app.web.limits import ResetLimiter, SignInThrottle
from app.web.state import load_keys, state
from crypto.blind_index import BlindIndexer
from tests.people import Person, make_member, make_staff

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


def same_length_unknown(username: str) -> str:
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
    made["unknown"] = Person(same_length_unknown(made["active_push"].username), "x", "none",
                             "")
    return made


def fresh_limits(app) -> None:
    """Every case starts with the same limits, so no case is refused for another's tries."""
    st = state(app)
    st.throttle, st.reset_limiter = SignInThrottle(), ResetLimiter()


def comparable(response, username: str) -> tuple[object, ...]:
    """Status, headers and body, with the per-session CSRF token and the typed name blanked."""
    body = _TOKEN.sub(rb"\1-\2", response.get_data()).replace(username.encode(), b"<name>")
    headers = sorted((name, value) for name, value in response.headers.items()
                     if name not in ("Set-Cookie", "Content-Length"))
    cookies = sorted((c.split("=", 1)[0], len(c.split(";", 1)[0]), c.split(";", 1)[1:])
                     for c in response.headers.getlist("Set-Cookie"))
    return (response.status_code, headers, cookies, len(response.get_data()), body)


def try_each(app, counted, people, send: Callable[[object, Person], object],
              form_url: str) -> dict[str, tuple[Work, tuple[object, ...]]]:
    """Each case, and beside it an unknown username of the same length: work and page."""
    results = {}
    for case in CASES:
        pairs = [(case, people[case])]
        if case != "unknown":
            pairs.append((f"unknown like {case}", Person(
                same_length_unknown(people[case].username), "x", "none", "")))
        for name, person in pairs:
            fresh_limits(app)
            client = app.test_client()
            client.get(form_url)
            with counted() as work:
                response = send(client, person)
            results[name] = (work, comparable(response, person.username))
    return results


def assert_all_alike(results: dict[str, tuple[Work, tuple[object, ...]]]) -> None:
    unknown_work, unknown_page = results["unknown"]
    for case, (work, page) in results.items():
        assert work.shape() == unknown_work.shape(), case
        if case.startswith("unknown"):
            continue
        # Status, headers, cookies and the body, byte for byte but the CSRF token and the
        # typed name, against an unknown name of the same length: the same body length.
        assert page == results[f"unknown like {case}"][1], case
        assert page[:3] == unknown_page[:3] and page[4] == unknown_page[4], case


