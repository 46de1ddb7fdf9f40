"""A stranger on the network, with the public pages only (DESIGN.md's threat table).

They must not get a way to lock members or staff out, to flood the coordinators, or to
tell who is a member. Each test plays that stranger: a browser with no session and no
device cookie of the account it aims at, posting to public pages, however often the
limits let it.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta

import pytest

from app.auth import accounts
from app.delivery import DeliverySettings, SendRate, channels
from app.web.limits import RESET_REQUESTS_PER_ACCOUNT
from app.web.state import state
from app.worker.delivery import Courier, deliver_all_due
from crypto import keystore
from tests import work
from tests.conftest import DELIVERY_PASSPHRASE
from tests.flows import INDIVIDUAL, USERNAME, resolve_waiting_resets
from tests.loopback import smtp_server
from tests.people import Person, make_member, make_staff, sign_in
from tests.test_application_flood import Clock, _flood, _waiting
from tests.webtools import hidden_fields, post_form
from tests.work import assert_all_alike, comparable, fresh_limits, try_each

counted, people = work.counted, work.people  # fixtures
WRONG = "not the password at all"


@pytest.fixture
def clock(app) -> Clock:
    simulated = Clock()
    state(app).clock = simulated
    return simulated


def _owners_browser(app, person: Person):
    """The owner's own browser: signed in once (so it holds a device cookie), signed out."""
    browser = app.test_client()
    assert sign_in(app, browser, person).status_code == 302
    assert post_form(browser, "/logout", {}, form_url="/").status_code == 302
    return browser


def _stranger_floods_sign_in(app, clock: Clock, username: str, tries: int = 200) -> list[int]:
    stranger = app.test_client()
    answers = []
    for _ in range(tries):
        answers.append(post_form(stranger, "/login", {"username": username,
                                                      "password": WRONG}).status_code)
        clock.now += timedelta(seconds=1)
    return answers


# --- no lock-out -------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["member", "coordinator"])
def test_a_flood_of_wrong_passwords_never_stops_the_owner_signing_in_from_their_device(
        app, clock, role: str) -> None:
    person = make_member(app) if role == "member" else make_staff(app, "coordinator")
    browser = _owners_browser(app, person)
    answers = _stranger_floods_sign_in(app, clock, person.username)
    assert 429 in answers, "the flood was throttled: the username's counter is full"
    assert sign_in(app, browser, person).status_code == 302, \
        "the owner's own browser is held to its own count, never the stranger's"
    assert post_form(app.test_client(), "/login", {"username": person.username,
                                                   "password": person.password}
                     ).status_code == 429, "a new browser waits, as the README says"


def test_reset_requests_never_change_the_password_and_leave_the_owner_a_working_code(
        app, clock, conn, keys_dir) -> None:
    person = make_member(app, alert_channel="email", email="owner.reset@example.org")
    stranger = app.test_client()
    answers = [post_form(stranger, "/reset", {"username": person.username}).status_code
               for _ in range(30)]
    assert answers.count(200) == RESET_REQUESTS_PER_ACCOUNT and 429 in answers
    resolve_waiting_resets(app)
    assert sign_in(app, app.test_client(), person).status_code == 302, \
        "no reset request changes the password"
    # What the README documents: each code replaces the one before, so the owner has one
    # working code, the newest, by their own channel.
    assert conn.execute("SELECT count(*) FROM password_resets").fetchone()[0] == 1
    delivery = keystore.load_delivery_private_key(keys_dir, DELIVERY_PASSPHRASE)
    settings = DeliverySettings()
    with smtp_server() as smtp:
        settings = replace(settings, smtp=smtp.settings())
        deliver_all_due(conn, Courier(key=delivery, channels=channels(settings),
                                      rates={"email": SendRate(10**6), "sms": SendRate(10**6)},
                                      settings=settings), state(app).clock)
        codes = [mail.body.split("code is ")[1][:8] for mail in smtp.messages]
    assert 1 <= len(codes) <= RESET_REQUESTS_PER_ACCOUNT
    fresh_limits(app)
    done = post_form(app.test_client(), "/reset/code", {
        "username": person.username, "code": codes[-1], "new": "the owner's new password",
        "confirm": "the owner's new password"})
    assert done.status_code == 302


def test_wrong_reset_codes_from_a_stranger_never_change_the_password(app, clock) -> None:
    person = make_member(app, alert_channel="email", email="owner.codes@example.org")
    stranger = app.test_client()
    for _ in range(40):
        post_form(stranger, "/reset/code", {"username": person.username,
                                            "code": f"{secrets.randbelow(10**8):08d}",
                                            "new": "a stranger's password",
                                            "confirm": "a stranger's password"})
    resolve_waiting_resets(app)
    assert sign_in(app, app.test_client(), person).status_code == 302


# --- no flood of the coordinators ----------------------------------------------------------

def test_a_flood_of_applications_leaves_the_coordinators_at_most_the_hourly_cap(
        app, clock, conn) -> None:
    cap = state(app).config.applications_per_hour
    answers = _flood(app, clock, conn, cap * 3, timedelta(minutes=5))
    assert answers.count(200) == cap and answers.count(429) == cap * 2
    assert _waiting(conn) == cap


# --- no telling who is a member ------------------------------------------------------------

def test_reset_tells_a_stranger_nothing_about_who_has_an_account(app, counted, people) -> None:
    assert_all_alike(try_each(app, counted, people, lambda client, person: post_form(
        client, "/reset", {"username": person.username}), "/reset"))


def test_sign_in_tells_a_stranger_nothing_about_who_has_an_account(app, counted,
                                                                   people) -> None:
    results = try_each(app, counted, people, lambda client, person: post_form(
        client, "/login", {"username": person.username, "password": WRONG}), "/login")
    assert_all_alike(results)
    assert results["unknown"][0].verifies == 1


def test_reset_code_tells_a_stranger_nothing_about_who_has_an_account(app, counted,
                                                                      people) -> None:
    assert_all_alike(try_each(app, counted, people, lambda client, person: post_form(
        client, "/reset/code", {"username": person.username, "code": "00000000",
                                "new": "a stranger's password",
                                "confirm": "a stranger's password"}), "/reset/code"))


def test_applying_with_a_members_contact_looks_like_applying_with_a_new_one(
        app, counted, conn) -> None:
    member = make_member(app, alert_channel="email", email="known.member@example.org")
    assert accounts.by_username(conn, member.username) is not None
    pages = {}
    for label, email in (("member's", "known.member@example.org"),
                         ("new", "never.seen.4242@example.org")):
        fresh_limits(app)
        client = app.test_client()
        fields = hidden_fields(client, "/apply/individual")
        with counted() as done:
            response = client.post("/apply/individual", data={
                **fields, **INDIVIDUAL, "email": email, "mobile": "",
                "submission": secrets.token_urlsafe(16)})
        username = USERNAME.search(response.get_data(as_text=True))
        assert username, label
        pages[label] = (done, comparable(response, username[1]))
    (known_work, known_page), (new_work, new_page) = pages["member's"], pages["new"]
    assert known_page[0] == new_page[0] == 200
    assert known_page[1:3] == new_page[1:3], "the same headers and cookies"
    assert known_page[4] == new_page[4], "the same page, but for the new username"
    assert (known_work.hashes, known_work.verifies, known_work.blind_indexes,
            known_work.sealed) == (new_work.hashes, new_work.verifies,
                                   new_work.blind_indexes, new_work.sealed)
    assert known_work.statements == new_work.statements, "the same statements"


def test_the_checker_is_closed_to_a_stranger_whatever_they_type(app, counted) -> None:
    member = make_member(app, alert_channel="email", email="checked.member@example.org")
    answers = []
    for value in (member.username, "checked.member@example.org", "nobody.9191@example.org"):
        client = app.test_client()
        with counted() as done:
            response = client.post("/check", data={"kind": "email", "value": value})
        answers.append((response.status_code, done.shape()))
        assert done.blind_indexes == {}, "nothing typed is even looked up"
    assert len(set(map(repr, answers))) == 1
    assert answers[0][0] in (302, 403)
