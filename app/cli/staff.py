"""Staff logins: `staff create` (coordinators and auditors, always with TOTP)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.auth import accounts
from app.auth.accounts import STAFF_ROLES
from app.cli.output import fail
from app.common.passwords import password_problem
from app.vault import db
from app.web.state import load_keys, state, verify_ready


def create_staff(app: Flask, role: str, password: str | None) -> accounts.NewStaff:
    try:
        verify_ready(app)
    except db.StartupError as error:
        fail(str(error))
    st = state(app)
    conn = db.connect(st.config.database_path, load_keys(app).database_key)
    try:
        return accounts.create_staff(conn, st.passwords, role=role, password=password,
                                     now=st.clock())
    finally:
        conn.close()


def totp_command(secret: str) -> str:
    return f".venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{secret}').now())\""


def print_staff(new: accounts.NewStaff, *, show_password: bool) -> list[str]:
    lines = [
        f"{new.account.role}: username {new.account.username}",
        f"  password:    {new.password if show_password else '(as typed)'}",
        f"  TOTP secret: {new.totp_secret}  (add it to an authenticator app)",
        f"  setup link:  {accounts.totp_uri(new.totp_secret, new.account.username)}",
        f"  current code from the command line: {totp_command(new.totp_secret)}",
    ]
    for line in lines:
        click.echo(line)
    return lines


def register(app: Flask) -> None:
    staff_cli = AppGroup("staff", help="Coordinator and auditor logins.")

    @staff_cli.command("create")
    @click.option("--role", type=click.Choice(STAFF_ROLES), required=True)
    @click.option("--ask-password", is_flag=True,
                  help="Type the password instead of having one generated.")
    def staff_create(role: str, ask_password: bool) -> None:
        """Create a coordinator or auditor login (always with two-step sign-in)."""
        password = None
        if ask_password:
            password = click.prompt("Password (10 characters or more)", hide_input=True,
                                    confirmation_prompt=True, err=True)
            problem = password_problem(password)
            if problem:
                fail(str(problem))
        new = create_staff(app, role, password)
        print_staff(new, show_password=not ask_password)

    app.cli.add_command(staff_cli)
