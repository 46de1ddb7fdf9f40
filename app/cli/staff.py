"""Staff logins: create, list, label, disable, enable, reset two-step, reset password.

Every command that changes a login writes a disclosure-log entry whose actor is
"operator" (app.vault.log.OPERATOR): whoever runs it on the server has no account. Unknown
usernames, and usernames that are not a coordinator's or auditor's, stop with a message
and exit status 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from app.auth import accounts
from app.auth import staff as staff_logins
from app.auth.accounts import STAFF_ROLES
from app.cli.output import fail
from app.common.passwords import password_problem
from app.common.validation import Invalid
from app.vault import db, holders, log
from app.web.state import load_keys, state, verify_ready


@contextmanager
def _connection(app: Flask) -> Iterator[db.Connection]:
    try:
        verify_ready(app)
    except db.StartupError as error:
        fail(str(error))
    conn = db.connect(state(app).config.database_path, load_keys(app).database_key)
    try:
        yield conn
    finally:
        conn.close()


def create_staff(app: Flask, role: str, password: str | None, *,
                 label: str | None = None,
                 must_change_password: bool = True) -> accounts.NewStaff:
    st = state(app)
    with _connection(app) as conn:
        try:
            return staff_logins.create(conn, st.passwords, role=role, password=password,
                                       label=label, must_change_password=must_change_password,
                                       now=st.clock())
        except Invalid as invalid:
            fail(str(invalid.message))


def totp_command(secret: str) -> str:
    return f".venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{secret}').now())\""


def print_totp(secret: str, username: str, site_name: str | None) -> list[str]:
    lines = [
        f"  TOTP secret: {secret}  (add it to an authenticator app)",
        f"  setup link:  {accounts.totp_uri(secret, username, site_name)}",
        f"  current code from the command line: {totp_command(secret)}",
    ]
    for line in lines:
        click.echo(line)
    return lines


def print_staff(new: accounts.NewStaff, *, show_password: bool,
                site_name: str | None) -> list[str]:
    lines = [
        f"{new.account.role}: username {new.account.username}",
        f"  password:    {new.password if show_password else '(as typed)'}",
    ]
    for line in lines:
        click.echo(line)
    return lines + print_totp(new.totp_secret, new.account.username, site_name)


def _password(ask: bool, password_file: Path | None) -> str | None:
    """A typed or file-given password (checked), or None to have one generated."""
    if ask and password_file:
        fail("Give --ask-password or --password-file, not both.")
    if password_file:
        try:
            lines = password_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            fail(f"Cannot read {password_file}: {error.__class__.__name__}.")
        password = lines[0] if lines else ""
    elif ask:
        password = click.prompt("Password (10 characters or more)", hide_input=True,
                                confirmation_prompt=True, err=True)
    else:
        return None
    problem = password_problem(password)
    if problem:
        fail(str(problem))
    return password


def _staff_member(conn: db.Connection, username: str) -> staff_logins.StaffMember:
    member = staff_logins.find(conn, username)
    if member is None:
        fail(f"No coordinator or auditor has the username {username!r}. "
             "`flask --app app staff list` shows them all.")
    return member


def _run(change: Callable[[], object]) -> object:
    try:
        return change()
    except staff_logins.StaffError as error:
        fail(str(error.message))
    except Invalid as invalid:
        fail(str(invalid.message))


_COLUMNS = ("username", "role", "status", "label", "created", "last sign-in", "two-step",
            "password", "key holder")


def staff_table(members: list[staff_logins.StaffMember],
                key_holders: dict[str, str] | None = None) -> list[str]:
    """One aligned line per login under a header; `key_holders` maps an account id to its
    live holder key's fingerprint (the last column says "no" for everyone else)."""
    held = key_holders or {}
    rows = [_COLUMNS] + [(
        m.username, m.role, m.status, m.label or "-", m.created_on,
        m.last_sign_in_on or "never",
        "on, not yet used" if m.two_step_unused else "on",
        "must change" if m.password_must_change else "set",
        held.get(m.account_id, "no"),
    ) for m in members]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows]


_REASON_HELP = "; ".join(code for code, _label in staff_logins.DISABLE_REASONS)
_ENABLE_HELP = "; ".join(code for code, _label in staff_logins.ENABLE_REASONS)


def register(app: Flask) -> None:
    staff_cli = AppGroup("staff", help="Coordinator and auditor logins.")

    def now() -> datetime:
        return state(app).clock()

    @staff_cli.command("create")
    @click.option("--role", type=click.Choice(STAFF_ROLES), required=True)
    @click.option("--ask-password", is_flag=True,
                  help="Type the password instead of having one generated.")
    @click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
                  help="Read the password from the first line of this file.")
    @click.option("--label", help='A display name, e.g. "Sam (Manchester)"; need not be a '
                                  "real name.")
    def staff_create(role: str, ask_password: bool, password_file: Path | None,
                     label: str | None) -> None:
        """Create a coordinator or auditor login (always with two-step sign-in).

        The password must be changed at the first sign-in.
        """
        password = _password(ask_password, password_file)
        new = create_staff(app, role, password, label=label)
        print_staff(new, show_password=password is None, site_name=state(app).config.site_name)
        click.echo("  The password must be changed at the first sign-in.")

    @staff_cli.command("list")
    def staff_list() -> None:
        """Every coordinator and auditor: username, role, status, label, created, last
        sign-in day, two-step state, whether the password must still be changed, and the
        fingerprint of their key if they are a key holder ("no" if not)."""
        with _connection(app) as conn:
            key_holders = {h.account_id: h.public.fingerprint for h in holders.holders(conn)
                           if h.account_id is not None}
            for line in staff_table(staff_logins.list_staff(conn), key_holders):
                click.echo(line)

    @staff_cli.command("label")
    @click.argument("username")
    @click.argument("label")
    def staff_label(username: str, label: str) -> None:
        """Give USERNAME a display name (LABEL), shown in staff lists and the audit log.

        A label says who is who, e.g. "Sam (Manchester)"; it need not be a real name.
        """
        with _connection(app) as conn:
            member = _staff_member(conn, username)
            clean = _run(lambda: staff_logins.set_label(conn, member.account_id, label,
                                                        actor=log.OPERATOR, now=now()))
        click.echo(f"{member.username} is now labelled {clean!r}.")

    @staff_cli.command("disable")
    @click.argument("username")
    @click.option("--reason", required=True,
                  type=click.Choice([c for c, _l in staff_logins.DISABLE_REASONS]),
                  help=f"Why (logged as a code): {_REASON_HELP}.")
    def staff_disable(username: str, reason: str) -> None:
        """Disable USERNAME now: every session ends and any vetting key it unlocked is
        forgotten. `staff enable` undoes it."""
        with _connection(app) as conn:
            member = _staff_member(conn, username)
            ended = _run(lambda: staff_logins.disable(
                conn, member.account_id, reason=reason, actor=log.OPERATOR, now=now(),
                unlocks=state(app).unlocks))
        sessions = "1 session" if ended == 1 else f"{ended} sessions"
        click.echo(f"{member.username} is disabled; {sessions} ended. A web process "
                   "forgets any key it unlocked on its next request.")

    @staff_cli.command("enable")
    @click.argument("username")
    @click.option("--reason", required=True,
                  type=click.Choice([c for c, _l in staff_logins.ENABLE_REASONS]),
                  help=f"Why (logged as a code): {_ENABLE_HELP}.")
    def staff_enable(username: str, reason: str) -> None:
        """Let a disabled USERNAME sign in again, with its password and two-step as they were."""
        with _connection(app) as conn:
            member = _staff_member(conn, username)
            _run(lambda: staff_logins.enable(conn, member.account_id, reason=reason,
                                             actor=log.OPERATOR, now=now()))
        click.echo(f"{member.username} is enabled again.")

    @staff_cli.command("reset-two-step")
    @click.argument("username")
    def staff_reset_two_step(username: str) -> None:
        """Give USERNAME a new TOTP secret (the old one stops working); sessions end."""
        with _connection(app) as conn:
            member = _staff_member(conn, username)
            secret = _run(lambda: staff_logins.reset_two_step(
                conn, member.account_id, actor=log.OPERATOR, now=now(),
                unlocks=state(app).unlocks))
        assert isinstance(secret, str)
        click.echo(f"{member.username}: a new two-step secret. Give it to them in person.")
        print_totp(secret, member.username, state(app).config.site_name)

    @staff_cli.command("reset-password")
    @click.argument("username")
    @click.option("--ask-password", is_flag=True,
                  help="Type the password instead of having one generated.")
    @click.option("--password-file", type=click.Path(dir_okay=False, path_type=Path),
                  help="Read the password from the first line of this file.")
    def staff_reset_password(username: str, ask_password: bool,
                             password_file: Path | None) -> None:
        """Give USERNAME a new password, which must be changed at the next sign-in;
        sessions end."""
        password = _password(ask_password, password_file)
        with _connection(app) as conn:
            member = _staff_member(conn, username)
            given = _run(lambda: staff_logins.reset_password(
                conn, state(app).passwords, member.account_id, actor=log.OPERATOR,
                now=now(), password=password, unlocks=state(app).unlocks))
        click.echo(f"{member.username}: password reset; it must be changed at the next "
                   "sign-in.")
        if password is None:
            click.echo(f"  password:    {given}")

    app.cli.add_command(staff_cli)
