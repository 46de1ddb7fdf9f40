"""Members who lose access: recovery codes, turning two-step off, and a coordinator's help
from the member's page (two-step reset, a reset code over the member's own channel)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta

import pyotp
from flask import Flask

from app.auth import recovery
from app.web.state import state
from app.worker.delivery import deliver_all_due
from tests import canary
from tests.loopback import smtp_server
from tests.people import PASSWORD, Person, make_member, make_staff, sign_in, signed_in_client
from tests.test_worker import _courier, delivery_key  # noqa: F401 (a fixture)
from tests.webtools import plain, post_form


def _later(app: Flask, seconds: int = 31) -> None:
    """Move the clock on: each authenticator code is accepted once."""
    moved = state(app).clock() + timedelta(seconds=seconds)
    state(app).clock = lambda: moved


def _entries(conn, event: str) -> list[dict]:
    return [body for body in (json.loads(row["body"]) for row in conn.execute(
        "SELECT body FROM disclosure_log ORDER BY seq")) if body.get("event") == event]


def _with_two_step(app: Flask, person: Person) -> tuple[Person, list[str], object]:
    """Turn two-step on through the pages; returns the person, their codes and the client."""
    client = signed_in_client(app, person)
    page = client.get("/account/two-step").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    shown = post_form(client, "/account/two-step",
                      {"code": pyotp.TOTP(secret).at(state(app).clock())})
    assert shown.status_code == 200
    codes = re.findall(r'<code class="secret">([a-z0-9-]+)</code>', shown.get_data(as_text=True))
    _later(app)
    return replace(person, totp_secret=secret), codes, client


def _code_step(app: Flask, person: Person, code: str):
    client = app.test_client()
    first = post_form(client, "/login", {"username": person.username, "password": PASSWORD})
    assert first.headers["Location"].endswith("/login/code")
    return client, post_form(client, "/login/code", {"code": code})


def test_turning_on_two_step_shows_ten_codes_once_and_keeps_only_keyed_hashes(
        app, conn, config, database_key) -> None:
    person, codes, client = _with_two_step(app, make_member(app))
    assert len(codes) == len(set(codes)) == 10
    assert all(recovery.looks_like_a_code(code) for code in codes)
    again = client.get("/account/two-step")
    assert again.status_code == 302, "never shown a second time"
    assert conn.execute("SELECT count(*) FROM recovery_codes WHERE account_id = ?",
                        (person.account_id,)).fetchone()[0] == 10
    dump = canary.decrypted_dump(config.database_path, database_key)
    for code in codes:
        assert code.encode() not in dump and recovery.normalise(code).encode() not in dump
    assert "10 unused recovery codes" in plain(client.get("/account"))


def test_a_recovery_code_signs_in_in_place_of_the_app_once_only(app) -> None:
    person, codes, _client = _with_two_step(app, make_member(app))
    client, used = _code_step(app, person, codes[3].upper().replace("-", " "))
    assert used.status_code == 302, "case, spaces and hyphens do not matter"
    assert "9 recovery codes left" in plain(client.get("/account"))
    _again_client, again = _code_step(app, person, codes[3])
    assert again.status_code == 401, "a code works once"
    _wrong_client, wrong = _code_step(app, person, "abcd-efgh-jkmn")
    assert wrong.status_code == 401
    # The authenticator still works too: the legitimate user is never locked out by codes.
    _app_client, by_app = _code_step(app, person,
                                     pyotp.TOTP(person.totp_secret).at(state(app).clock()))
    assert by_app.status_code == 302


def test_staff_cannot_sign_in_with_something_shaped_like_a_recovery_code(app) -> None:
    staff = make_staff(app, "coordinator")
    _client, attempt = _code_step(app, staff, "abcd-efgh-jkmn")
    assert attempt.status_code == 401


def test_members_turn_two_step_off_with_their_password_and_a_code(app, conn) -> None:
    person, codes, client = _with_two_step(app, make_member(app))
    wrong = post_form(client, "/account/two-step/off", {"password": "not my password",
                                                         "code": codes[0]},
                      form_url="/account")
    assert wrong.status_code == 400 and "do not match" in plain(wrong)
    no_code = post_form(client, "/account/two-step/off", {"password": PASSWORD,
                                                           "code": "000000"},
                        form_url="/account")
    assert no_code.status_code == 400
    assert conn.execute("SELECT totp_secret IS NOT NULL FROM accounts WHERE id = ?",
                        (person.account_id,)).fetchone()[0] == 1
    off = post_form(client, "/account/two-step/off", {"password": PASSWORD, "code": codes[0]},
                    form_url="/account")
    assert off.status_code == 302
    assert conn.execute("SELECT count(*) FROM recovery_codes").fetchone()[0] == 0
    assert sign_in(app, app.test_client(), replace(person, totp_secret=None)
                   ).status_code == 302, "now the password alone signs in"


def _member_page_post(client, member_id: str, action: str, prefix: str, **data: str):
    url = f"/coordinator/members/{member_id}"
    return post_form(client, f"{url}/{action}", {f"{prefix}-{k}": v for k, v in data.items()},
                     form_url=url)


def test_a_coordinator_resets_a_members_two_step_logged_and_the_member_is_told(
        app, conn) -> None:
    person, _codes, _client = _with_two_step(app, make_member(app))
    coordinator = make_staff(app, "coordinator")
    client = signed_in_client(app, coordinator)
    page = plain(client.get(f"/coordinator/members/{person.member_id}"))
    assert "Two-step sign-in is on, with 10 recovery codes left." in page
    unconfirmed = _member_page_post(client, person.member_id, "reset-two-step", "two_step")
    assert unconfirmed.status_code == 400
    assert _entries(conn, "member_two_step_reset") == []
    done = _member_page_post(client, person.member_id, "reset-two-step", "two_step",
                             checked="y")
    assert done.status_code == 302
    [entry] = _entries(conn, "member_two_step_reset")
    assert entry["actor"] == coordinator.account_id
    assert entry["records"] == [f"members/{person.member_id}", f"accounts/{person.account_id}"]
    assert entry["member_notified"] is True
    member_client = app.test_client()
    assert sign_in(app, member_client, replace(person, totp_secret=None)).status_code == 302
    assert "a coordinator turned off two-step sign-in" in plain(member_client.get("/account"))
    again = _member_page_post(client, person.member_id, "reset-two-step", "two_step",
                              checked="y")
    assert again.status_code == 409 and len(_entries(conn, "member_two_step_reset")) == 1


def test_a_coordinator_sends_a_reset_code_to_the_members_own_channel_and_it_works(
        app, conn, delivery_key) -> None:  # noqa: F811 (the fixture)
    person = make_member(app, alert_channel="email", email="lost.password@example.org")
    client = signed_in_client(app, make_staff(app, "coordinator"))
    sent = _member_page_post(client, person.member_id, "send-reset-code", "reset_code",
                             checked="y")
    assert sent.status_code == 302
    [entry] = _entries(conn, "member_reset_code_sent")
    assert entry["channel"] == "email" and "lost.password" not in json.dumps(entry)
    with smtp_server() as smtp:
        deliver_all_due(conn, _courier(delivery_key, smtp), state(app).clock)
        [mail] = smtp.messages
    assert "lost.password@example.org" in mail.to
    code = mail.body.split("code is ")[1][:8]
    member = app.test_client()
    done = post_form(member, "/reset/code", {"username": person.username, "code": code,
                                            "new": "a brand new password",
                                            "confirm": "a brand new password"})
    assert done.status_code == 302
    assert sign_in(app, member, replace(person, password="a brand new password")
                   ).status_code == 302
    assert "sent a password reset code" in plain(member.get("/account"))


def test_no_reset_code_for_a_member_without_a_channel_and_nothing_is_written(app, conn) -> None:
    person = make_member(app, alert_channel="none")
    client = signed_in_client(app, make_staff(app, "coordinator"))
    assert "No reset code can be sent" in plain(
        client.get(f"/coordinator/members/{person.member_id}"))
    refused = _member_page_post(client, person.member_id, "send-reset-code", "reset_code",
                                checked="y")
    assert refused.status_code == 409
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM account_notices").fetchone()[0] == 0
    assert _entries(conn, "member_reset_code_sent") == []
