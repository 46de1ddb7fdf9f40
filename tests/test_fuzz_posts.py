"""Every POST route, driven with arbitrary forms: never a 5xx, and a refused post writes nothing.

The routes come from the app's URL map, so a new form is covered the day it is added (a
route whose URL needs an argument this file cannot fill fails loudly instead). Each is
posted as a role that may reach it, signed in through the real pages, with a valid CSRF
token, so the handler itself runs, not only the CSRF check. Forms are multidicts of keys
the templates use, numbered-row keys with odd numbers, and arbitrary text (NULs, lone
surrogates, right-to-left marks, non-ASCII digits), with repeated and missing keys and
values up to past the size limit. The body is encoded by hand, so a lone surrogate goes
out as the invalid UTF-8 an attacker would send.

`make test` runs DEFAULT_EXAMPLES examples per route (seeded by the route, so each run of
it is the same); UGLYMUGS_FUZZ_EXAMPLES=N runs N per route with fresh randomness and prints
the counts (with -s): posts sent, 5xx seen, partial writes.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from flask import Flask
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from wtforms.fields.core import UnboundField

import app as app_package
from app.web.access import (
    ANONYMOUS,
    AUDITOR,
    COORDINATOR,
    MEMBER,
    ORG_CONTACT,
    ORG_STAFF,
    PENDING,
    allowed_roles,
)
from app.web.state import state
from tests.people import (
    Person,
    make_member,
    make_published_alert,
    make_report,
    make_staff,
    sign_in,
)
from tests.test_disclosures import make_contact_request, make_disclosure_request
from tests.test_routes_by_role import _ask
from tests.webtools import hidden_fields

DEFAULT_EXAMPLES = 10
FUZZ_EXAMPLES = int(os.environ.get("UGLYMUGS_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"
# Who posts: anyone may, if anonymous may (sign-in, applying, reset); else staff first.
ROLE_PREFERENCE = (ANONYMOUS, COORDINATOR, MEMBER, ORG_CONTACT, AUDITOR, ORG_STAFF, PENDING)
# A page each signed-in role can read: it says whether the browser is still signed in.
_HOME = {PENDING: "/account/messages"}

ODD_CHARACTERS = ["\x00", "\ud800", "\udfff", "\u202e", "\ufeff", "²", "٣", "\uff10", "①",
                  "\r", "\n", "%", "&", "=", "+", "\\", "'", '"', "<", "é", "😀"]
DIGITS = ["0", "1", "7", "²", "³", "٣", "\uff10", "①", "\u07c0", "\U0001d7d8"]
CHARACTERS = st.one_of(st.characters(exclude_categories=()), st.sampled_from(ODD_CHARACTERS))


def _field_names() -> list[str]:
    """Every field name the templates post, and every WTForms field of a forms module."""
    names: set[str] = set()
    for path in TEMPLATES.rglob("*.html"):
        names.update(re.findall(r'name="([^"{}]+)"', path.read_text("utf-8")))
    for module in pkgutil.walk_packages(app_package.__path__, "app."):
        if not module.name.endswith(".forms"):
            continue
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, type) and issubclass(value, FlaskForm):
                names.update(name for name, attr in vars(value).items()
                             if isinstance(attr, UnboundField))
    names.discard("csrf_token")
    return sorted(names)


@dataclass
class World:
    """The rows the routes' URLs point at, and a signed-in browser per role."""

    app: Flask
    ids: dict[str, str]
    people: dict[str, Person] = field(default_factory=dict)
    clients: dict[str, tuple[object, str]] = field(default_factory=dict)
    offset: timedelta = timedelta(0)
    question_id: str = ""

    def person(self, role: str) -> Person:
        if role == MEMBER:
            return make_member(self.app)
        if role == ORG_CONTACT:
            return make_member(self.app, role="org_contact", kind="project")
        if role == ORG_STAFF:
            organisation = make_member(self.app, role="org_contact", kind="project")
            return make_member(self.app, role="org_staff", kind="project",
                               member_id=organisation.member_id)
        if role == PENDING:
            # An organisation asked a question signs in to answer it, and to nothing else.
            asked = make_member(self.app, role="org_contact", kind="project", status="pending")
            self.question_id = _ask(self.app, asked.member_id)
            return asked
        return make_staff(self.app, role)

    def client(self, role: str) -> tuple[object, str]:
        """A browser for `role` and its CSRF token, signed in afresh if it was signed out."""
        held = self.clients.get(role)
        if held is not None and (role == ANONYMOUS or
                                 held[0].get(_HOME.get(role, "/account")).status_code == 200):
            return held
        browser = self.app.test_client()
        if role != ANONYMOUS:
            person = self.people.get(role)
            if person is None or sign_in(self.app, browser, person).status_code != 302:
                # Signed out for good (it left, or changed its password): a new person.
                person = self.people[role] = self.person(role)
                self.offset += timedelta(seconds=31)  # a fresh TOTP step for staff
                assert sign_in(self.app, browser, person).status_code == 302, role
        token = hidden_fields(browser, "/login" if role == ANONYMOUS
                              else _HOME.get(role, "/account"))
        self.clients[role] = (browser, token["csrf_token"])
        return self.clients[role]


def _world(app: Flask) -> World:
    world = World(app, {})
    state(app).clock = lambda: datetime.now(UTC) + world.offset
    member = world.people[MEMBER] = world.person(MEMBER)
    organisation = world.people[ORG_CONTACT] = world.person(ORG_CONTACT)
    org_staff = make_member(app, role="org_staff", kind="project",
                            member_id=organisation.member_id)
    coordinator = make_staff(app, COORDINATOR)
    applicant = make_member(app, status="pending", work_name="Someone Applying")
    report_id = make_report(app, member)
    request_id = make_disclosure_request(app, coordinator, applicant.member_id)
    contact_id, message_id = make_contact_request(app, coordinator, report_id)
    world.people[PENDING] = world.person(PENDING)
    world.ids = {"question_id": world.question_id, "member_id": applicant.member_id,
                 "report_id": report_id,
                 "alert_id": make_published_alert(app), "request_id": request_id,
                 "contact_id": contact_id, "message_id": message_id, "kind": "project",
                 "account_id": org_staff.account_id,
                 "note_id": _decision_note(app, report_id, coordinator.account_id)}
    return world


def _decision_note(app: Flask, report_id: str, actor_id: str) -> str:
    """A sealed note on a decision, for the route that reads one."""
    from app.vault import decision_notes, holders
    from app.vault.db import transaction
    from app.web.state import load_keys
    from tests.people import _conn

    conn = _conn(app)
    try:
        with transaction(conn):
            return decision_notes.add(
                conn, holders.vetting_recipient(conn, load_keys(app)),
                event="report_marked_malicious", record=f"reports/{report_id}",
                actor_id=actor_id, text="A note", now=datetime.now(UTC))
    finally:
        conn.close()


def _post_routes(app: Flask, world: World) -> list[tuple[str, str, str]]:
    """(endpoint, url, role) for every rule that takes a POST."""
    found = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "POST" not in (rule.methods or ()):
            continue
        missing = set(rule.arguments) - set(world.ids)
        assert not missing, f"{rule.rule}: give this fuzz test a value for {sorted(missing)}"
        roles = allowed_roles(app, rule.endpoint) or frozenset()
        role = next(r for r in ROLE_PREFERENCE if r in roles)
        found.append((rule.endpoint, rule.build({a: world.ids[a] for a in rule.arguments})[1],
                      role))
    return found


def _encode(pairs: Iterable[tuple[str, str]]) -> bytes:
    """x-www-form-urlencoded, a lone surrogate sent as the bytes an attacker would send."""
    return "&".join(f"{quote(k.encode('utf-8', 'surrogatepass'), safe='')}="
                    f"{quote(v.encode('utf-8', 'surrogatepass'), safe='')}"
                    for k, v in pairs).encode("ascii")


def _row_counts(conn) -> dict[str, int]:
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608
            for t in tables}


def _forms(names: list[str], ids: dict[str, str], limit: int):
    texts = st.text(CHARACTERS, max_size=40)
    # Row numbers: plain ones, digits str.isdigit() accepts but int() refuses or misreads,
    # and anything at all.
    odd_digits = st.text(st.sampled_from(DIGITS), min_size=1, max_size=3)
    numbers = st.one_of(st.integers(0, 1200).map(str), odd_digits, odd_digits,
                        st.text(CHARACTERS, max_size=3))
    row_keys = st.builds(lambda number, part: f"identifiers-{number}-{part}", numbers,
                         st.sampled_from(["kind", "value", "publish", "kind", "value", "x"]))
    keys = st.one_of(st.sampled_from(names), row_keys, row_keys, texts)
    common = st.one_of(
        st.sampled_from(["", "y", "1", "phone", "email", "plate", "handle", "ldn", "threats",
                         "evening", "2026-03-02", "2999-01-01", "publish", "preview",
                         "from_report", "not_genuine", "unverifiable", "consent", "members",
                         "reports", "yes", "no", "met", "individual", *ids.values()]),
        texts)
    # At most one big value, in one form of five: a post past the size limit stops at 413.
    big = st.sampled_from([1_000, 20_000, limit - 2_000, limit + 1]).map(lambda n: "7" * n)
    extra = st.one_of(st.just([]), st.just([]), st.just([]), st.just([]),
                      st.tuples(keys, big).map(lambda pair: [pair]))
    return st.builds(lambda pairs, more: [*pairs, *more],
                     st.lists(st.tuples(keys, common), max_size=20), extra)


def _fuzz(world: World, conn, forms, endpoint: str, url: str, role: str,
          counts: dict[str, int], failures: list[str]) -> None:
    """Post FUZZ_EXAMPLES arbitrary forms to one route, counting what goes wrong."""

    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(form=forms)
    def post(form: list[tuple[str, str]]) -> None:
        browser, token = world.client(role)
        before = _row_counts(conn)
        shown = [(k[:40], v[:40]) for k, v in form]
        counts["posts"] += 1
        try:
            response = browser.post(url, data=_encode([("csrf_token", token), *form]),
                                    content_type="application/x-www-form-urlencoded")
        except Exception as error:  # testing mode raises what would have been a 500
            counts["5xx"] += 1
            failures.append(f"{endpoint} as {role}: {type(error).__name__} for {shown!r}")
            return
        if response.status_code >= 500:
            counts["5xx"] += 1
            failures.append(f"{endpoint} as {role}: {response.status_code} for {shown!r}")
        elif response.status_code >= 400 and _row_counts(conn) != before:
            counts["partial writes"] += 1
            failures.append(f"{endpoint} as {role}: {response.status_code} but rows changed "
                            f"for {shown!r}")

    if FUZZ_EXAMPLES == DEFAULT_EXAMPLES:
        # The same examples every run of `make test`, and different ones for each route.
        post = seed(zlib.crc32(endpoint.encode()))(post)
    post()


def test_every_post_route_survives_arbitrary_forms(app, conn, capsys) -> None:
    world = _world(app)
    routes = _post_routes(app, world)
    assert len(routes) >= 30, "every POST route is found from the URL map"
    forms = _forms(_field_names(), world.ids, state(app).config.max_content_length)
    counts = {"posts": 0, "5xx": 0, "partial writes": 0}
    failures: list[str] = []
    for endpoint, url, role in routes:
        _fuzz(world, conn, forms, endpoint, url, role, counts, failures)
    with capsys.disabled():
        print(f"\nfuzzed {len(routes)} POST routes, {FUZZ_EXAMPLES} examples each: "
              + ", ".join(f"{name} {n}" for name, n in counts.items()))
    assert counts["posts"] >= len(routes)
    assert failures == []
