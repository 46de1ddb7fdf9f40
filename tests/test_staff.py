"""Staff who come and go: the `staff` commands, the coordinators' staff page, and what a
disabled login loses at once (sessions, unlocked keys)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from flask import Flask

from app import create_app
from app.auth import staff as staff_logins
from app.vault import db, log
from app.web.state import state
from tests.flows import unlock
from tests.people import (
    PASSWORD,
    Person,
    current_code,
    make_member,
    make_staff,
    sign_in,
    signed_in_client,
)
from tests.webtools import hidden_fields, plain, post_form

NEW_PASSWORD = "my own chosen passphrase"


def _cli(app: Flask, *args: str, input: str | None = None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


def _entries(conn, event: str) -> list[dict]:
    return [body for body in (json.loads(row["body"]) for row in conn.execute(
        "SELECT body FROM disclosure_log ORDER BY seq")) if body.get("event") == event]


def _password_file(tmp_path: Path, password: str) -> str:
    path = tmp_path / "password.txt"
    path.write_text(password + "\n", encoding="utf-8")
    return str(path)


def _created(app: Flask, tmp_path: Path, *args: str) -> Person:
    result = _cli(app, "staff", "create", "--role", "coordinator", "--password-file",
                  _password_file(tmp_path, PASSWORD), *args)
    assert result.exit_code == 0, result.output
    username = re.search(r"username (\S+)", result.output).group(1)
    secret = re.search(r"TOTP secret: (\S+)", result.output).group(1)
    found = staff_logins.find(_conn(app), username)
    return Person(username, PASSWORD, "coordinator", found.account_id, totp_secret=secret)


def _later(app: Flask, seconds: int = 31) -> None:
    """Move the clock on: a TOTP code is accepted once, so a second sign-in needs the next."""
    moved = state(app).clock() + timedelta(seconds=seconds)
    state(app).clock = lambda: moved


def _conn(app: Flask):
    from tests.people import _conn as people_conn

    return people_conn(app)


COMMANDS = ("create", "list", "label", "disable", "enable", "reset-two-step", "reset-password")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_staff_command_has_help(app: Flask, command: str) -> None:
    result = _cli(app, "staff", command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


@pytest.mark.parametrize("args", [
    ("label", "{name}", "Sam"), ("disable", "{name}", "--reason", "left"),
    ("enable", "{name}", "--reason", "returned"), ("reset-two-step", "{name}"),
    ("reset-password", "{name}"),
])
def test_an_unknown_or_member_username_fails_clearly_with_exit_1(app: Flask, args) -> None:
    member = make_member(app)
    for name in ("no-such-person", member.username):
        result = _cli(app, "staff", *(a.format(name=name) for a in args))
        assert result.exit_code == 1, result.output
        assert "No coordinator or auditor has the username" in result.output
        assert "Traceback" not in result.output
    # A member's username gets the very same answer as a name nobody has.
    assert member.username not in _cli(app, "staff", "list").output


def test_create_then_list_shows_username_role_label_days_and_two_step(app, tmp_path) -> None:
    person = _created(app, tmp_path, "--label", "Sam (Manchester)")
    listed = _cli(app, "staff", "list")
    assert listed.exit_code == 0
    header, *lines = listed.output.splitlines()
    assert header.split()[:4] == ["username", "role", "status", "label"]
    line = next(text for text in lines if text.startswith(person.username))
    today = state(app).clock().date().isoformat()
    assert "coordinator" in line and "active" in line and "Sam (Manchester)" in line
    assert today in line and "never" in line and "on, not yet used" in line
    assert "must change" in line
    assert _entries(_conn(app), "staff_created")[-1]["records"] == [
        f"accounts/{person.account_id}"]


def test_create_refuses_a_short_password_from_a_file_without_creating_anyone(
        app, tmp_path) -> None:
    result = _cli(app, "staff", "create", "--role", "auditor", "--password-file",
                  _password_file(tmp_path, "short"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(staff_logins.list_staff(_conn(app))) == 0


def test_a_new_staff_password_must_be_changed_before_anything_else_and_then_works(
        app, tmp_path) -> None:
    person = _created(app, tmp_path)
    client = app.test_client()
    assert sign_in(app, client, person).status_code == 302
    blocked = client.get("/coordinator/")
    assert blocked.status_code == 302 and blocked.headers["Location"].endswith("/account")
    page = client.get("/account")
    assert "Choose your own password" in plain(page)
    changed = post_form(client, "/account/password",
                        {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                        form_url="/account")
    assert changed.status_code == 302
    assert client.get("/coordinator/").status_code == 200
    member = staff_logins.find(_conn(app), person.username)
    assert not member.password_must_change
    assert member.last_sign_in_on == state(app).clock().date().isoformat()


def test_label_shows_in_the_staff_list_and_the_audit_log(app, tmp_path) -> None:
    coordinator = make_staff(app, "coordinator")
    result = _cli(app, "staff", "label", coordinator.username, "Sam (Manchester)")
    assert result.exit_code == 0, result.output
    labelled = _entries(_conn(app), "staff_labelled")[-1]
    assert labelled["actor"] == log.OPERATOR
    assert "Sam" not in json.dumps(labelled), "the log names the login, never the label"
    # The coordinator does something logged, then an auditor reads the log.
    client = signed_in_client(app, coordinator)
    other = make_staff(app, "coordinator")
    post_form(client, f"/coordinator/staff/{other.account_id}/label", {"label": "Alex"},
              form_url=f"/coordinator/staff/{other.account_id}")
    auditor = signed_in_client(app, make_staff(app, "auditor"))
    page = plain(auditor.get("/audit/"))
    assert f"Sam (Manchester) · {coordinator.username}" in page
    assert "Alex" in plain(client.get("/coordinator/staff/"))
    found = auditor.get("/audit/", query_string={"who": "Sam (Manchester)"})
    assert "staff_labelled" not in plain(found) and "display name set" in plain(found)


def test_a_label_with_control_characters_is_refused_with_a_message(app) -> None:
    coordinator = make_staff(app, "coordinator")
    result = _cli(app, "staff", "label", coordinator.username, "Sam\u202e")
    assert result.exit_code == 1 and "one line of ordinary text" in result.output
    client = signed_in_client(app, make_staff(app, "coordinator"))
    url = f"/coordinator/staff/{coordinator.account_id}"
    page = post_form(client, url + "/label", {"label": "two\nlines"}, form_url=url)
    assert page.status_code == 400 and "one line of ordinary text" in plain(page)
    assert staff_logins.find(_conn(app), coordinator.username).label is None


def test_a_disabled_coordinators_session_and_unlocked_key_end_at_once(app, keys_dir) -> None:
    admin = make_staff(app, "coordinator")
    leaver = make_staff(app, "coordinator")
    leaver_client = signed_in_client(app, leaver)
    assert unlock(leaver_client, keys_dir).status_code == 302
    assert len(state(app).unlocks) == 1
    client = signed_in_client(app, admin)
    url = f"/coordinator/staff/{leaver.account_id}"
    # Without the confirmation nothing happens.
    unconfirmed = post_form(client, url + "/disable", {"reason": "left"}, form_url=url)
    assert unconfirmed.status_code == 400 and len(state(app).unlocks) == 1
    done = post_form(client, url + "/disable", {"reason": "left", "confirm": "y"}, form_url=url)
    assert done.status_code == 302
    assert len(state(app).unlocks) == 0, "the key is forgotten in the same request"
    gone = leaver_client.get("/coordinator/")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
    assert sign_in(app, app.test_client(), leaver).status_code == 403
    entry = _entries(_conn(app), "staff_disabled")[-1]
    assert entry["actor"] == admin.account_id and entry["reason"] == "left"
    assert entry["sessions_ended"] == 1 and entry["records"] == [f"accounts/{leaver.account_id}"]
    # Enabled again, the same person gets in with the same password and authenticator.
    back = post_form(client, url + "/enable", {"reason": "returned", "confirm": "y"},
                     form_url=url)
    assert back.status_code == 302
    _later(app)
    assert sign_in(app, app.test_client(), leaver).status_code == 302
    assert _entries(_conn(app), "staff_enabled")[-1]["reason"] == "returned"


def test_disabling_from_the_command_line_ends_sessions_and_the_web_forgets_the_key(
        app, config, keys_dir) -> None:
    make_staff(app, "coordinator")
    leaver = make_staff(app, "coordinator")
    leaver_client = signed_in_client(app, leaver)
    assert unlock(leaver_client, keys_dir).status_code == 302
    # The operator's command runs in another process: another app, another memory.
    operator = create_app(replace(config))
    result = _cli(operator, "staff", "disable", leaver.username, "--reason", "device_lost")
    assert result.exit_code == 0, result.output
    assert "1 session ended" in result.output
    assert len(state(app).unlocks) == 1
    app.test_client().get("/")  # any request at all, by anyone
    assert len(state(app).unlocks) == 0
    assert leaver_client.get("/coordinator/").status_code == 302
    entry = _entries(_conn(app), "staff_disabled")[-1]
    assert entry["actor"] == "operator" and entry["reason"] == "device_lost"


def test_nobody_disables_themselves_or_the_last_active_coordinator(app) -> None:
    only = make_staff(app, "coordinator")
    auditor = make_staff(app, "auditor")
    conn = _conn(app)
    now = state(app).clock()
    with pytest.raises(staff_logins.StaffError):
        staff_logins.disable(conn, only.account_id, reason="left", actor="operator", now=now)
    result = _cli(app, "staff", "disable", only.username, "--reason", "left")
    assert result.exit_code == 1 and "only active coordinator" in result.output
    other = make_staff(app, "coordinator")
    with pytest.raises(staff_logins.StaffError):
        staff_logins.disable(conn, other.account_id, reason="left", actor=other.account_id,
                             now=now)
    client = signed_in_client(app, other)
    assert "cannot disable your own login" in plain(
        client.get(f"/coordinator/staff/{other.account_id}"))
    # Auditors watch coordinators: no coordinator page can change one.
    assert client.get(f"/coordinator/staff/{auditor.account_id}").status_code == 404
    assert staff_logins.find(conn, only.username).status == "active"
    assert _entries(conn, "staff_disabled") == []


def test_a_reason_outside_the_list_is_refused(app) -> None:
    make_staff(app, "coordinator")
    target = make_staff(app, "coordinator")
    result = _cli(app, "staff", "disable", target.username, "--reason", "because")
    assert result.exit_code == 2 and "Traceback" not in result.output
    client = signed_in_client(app, make_staff(app, "coordinator"))
    url = f"/coordinator/staff/{target.account_id}"
    page = post_form(client, url + "/disable", {"reason": "because", "confirm": "y"}, form_url=url)
    assert page.status_code == 400
    assert staff_logins.find(_conn(app), target.username).status == "active"


def test_reset_two_step_prints_a_new_secret_and_only_it_works(app) -> None:
    person = make_staff(app, "coordinator")
    signed_in = signed_in_client(app, person)
    result = _cli(app, "staff", "reset-two-step", person.username)
    assert result.exit_code == 0, result.output
    secret = re.search(r"TOTP secret: (\S+)", result.output).group(1)
    assert "otpauth://totp/" in result.output and secret != person.totp_secret
    assert signed_in.get("/coordinator/").status_code == 302, "its sessions ended"
    assert sign_in(app, app.test_client(), person).status_code == 401, "the old secret fails"
    renewed = replace(person, totp_secret=secret)
    assert sign_in(app, app.test_client(), renewed).status_code == 302
    assert pyotp.TOTP(secret).at(state(app).clock()) == current_code(app, secret)
    assert _entries(_conn(app), "staff_two_step_reset")[-1]["sessions_ended"] == 1


def test_reset_password_gives_a_password_that_must_be_changed(app, tmp_path) -> None:
    person = make_staff(app, "auditor")
    result = _cli(app, "staff", "reset-password", person.username)
    assert result.exit_code == 0, result.output
    given = re.search(r"password:\s+(.+)$", result.output, re.MULTILINE).group(1).strip()
    assert sign_in(app, app.test_client(), person).status_code == 401, "the old one fails"
    client = app.test_client()
    assert sign_in(app, client, replace(person, password=given)).status_code == 302
    assert client.get("/audit/").status_code == 302, "first, a password of their own"
    assert post_form(client, "/account/password", {
        "current": given, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        form_url="/account").status_code == 302
    assert client.get("/audit/").status_code == 200
    typed = _cli(app, "staff", "reset-password", person.username, "--password-file",
                 _password_file(tmp_path, "another long passphrase"))
    assert typed.exit_code == 0 and "another long passphrase" not in typed.output
    assert len(_entries(_conn(app), "staff_password_reset")) == 2


def test_the_staff_page_lists_staff_with_labels_for_coordinators_only(app) -> None:
    coordinator = make_staff(app, "coordinator")
    auditor = make_staff(app, "auditor")
    conn = _conn(app)
    staff_logins.set_label(conn, auditor.account_id, "Auditor Jo", actor="operator",
                           now=state(app).clock())
    client = signed_in_client(app, coordinator)
    page = client.get("/coordinator/staff/")
    assert page.status_code == 200
    text = plain(page)
    assert coordinator.username in text and "Auditor Jo" in text and "(you)" in text
    assert "csrf_token" in hidden_fields(client, f"/coordinator/staff/{coordinator.account_id}")


def test_disabling_a_coordinator_deletes_their_key_holder_wrap_at_once(app, conn) -> None:
    from app.auth import staff as staff_logins
    from app.vault import holders
    from tests.people import make_staff

    person = make_staff(app, "coordinator")
    assert holders.live_holder_for_account(conn, person.account_id) is not None
    other = make_staff(app, "coordinator")
    with db.transaction(conn):
        staff_logins.disable(conn, person.account_id, reason=staff_logins.DISABLE_REASONS[0][0],
                             actor=other.account_id, now=state(app).clock())
    assert holders.live_holder_for_account(conn, person.account_id) is None


def test_staff_list_shows_the_key_holder_fingerprint_or_no(app: Flask) -> None:
    from crypto.keyfile import read_private_key_header

    make_staff(app, "coordinator")  # someone must still coordinate once `holder` leaves
    holder = make_staff(app, "coordinator")
    auditor = make_staff(app, "auditor")
    assert holder.key_file is not None
    fingerprint = read_private_key_header(holder.key_file).public.fingerprint
    listed = _cli(app, "staff", "list")
    assert listed.exit_code == 0, listed.output
    header, *lines = listed.output.splitlines()
    assert header.rstrip().endswith("key holder")
    by_name = {line.split()[0]: line for line in lines}
    assert by_name[holder.username].rstrip().endswith(fingerprint)
    assert by_name[auditor.username].rstrip().endswith(" no")
    # Disabling a coordinator removes their wrap: the list no longer calls them a holder.
    disabled = _cli(app, "staff", "disable", holder.username, "--reason", "left")
    assert disabled.exit_code == 0, disabled.output
    after = {line.split()[0]: line for line in _cli(app, "staff", "list").output.splitlines()}
    assert after[holder.username].rstrip().endswith(" no")
