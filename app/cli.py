"""Operator commands: `flask --app app <command>`.

keys init / keys show (the key ceremony), init-db, demo-setup (what `make run` needs on
an empty machine) and serve (the development server without address logging).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from werkzeug.serving import WSGIRequestHandler, run_simple

from crypto import keystore
from crypto.errors import KeyFileError, KeysExist
from crypto.passphrase import generate_passphrase

from . import db
from .audit import cli as audit_cli
from .auth import accounts
from .auth.accounts import STAFF_ROLES
from .auth.passwords import password_problem
from .state import load_keys, state, verify_ready
from .worker import cli as worker_cli

DEMO_PASSPHRASE_FILE = "demo-passphrases.txt"  # noqa: S105 (a file name)
DEMO_STAFF_FILE = "demo-staff.txt"
DEMO_DELIVERY_PASSPHRASE_FILE = "demo-delivery-passphrase.txt"  # noqa: S105 (a file name)


class AddresslessRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the per-request line that starts with the client IP."""

    def address_string(self) -> str:
        return "-"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return  # the app writes its own request line without address or user agent


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    raise SystemExit(1)


def _write_private_text(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _ask_passphrase(label: str) -> str:
    while True:
        value = click.prompt(f"Passphrase for the {label} key (12 characters or more)",
                             hide_input=True, confirmation_prompt=True, err=True)
        if len(value) >= 12:
            return value
        click.echo("Too short: use at least 12 characters, ideally several words.", err=True)


def run_ceremony(keys_dir: Path, *, demo: bool, vetting_key_out: Path | None) -> None:
    if demo:
        vetting_pass, delivery_pass = generate_passphrase(), generate_passphrase()
    else:
        vetting_pass = _ask_passphrase("vetting")
        delivery_pass = _ask_passphrase("delivery")
    try:
        result = keystore.init_keys(
            keys_dir,
            vetting_passphrase=vetting_pass,
            delivery_passphrase=delivery_pass,
            vetting_key_out=vetting_key_out,
            progress=lambda message: click.echo(f"  {message}"),
        )
    except KeysExist as error:
        _fail(f"{error}\nkeys init never overwrites keys. Move the old ones away first "
              "if you really mean to start again (everything sealed to them is then lost).")
    except (KeyFileError, ValueError) as error:
        _fail(str(error))
    click.echo("Key fingerprints (compare these with what coordinators and auditors hold):")
    for name, fingerprint in result.fingerprints.items():
        click.echo(f"  {name:<10} {fingerprint}")
    click.echo(f"Vetting key file:  {result.vetting_key_path}")
    click.echo(f"Delivery key file: {result.delivery_key_path}")
    if demo:
        note = keys_dir / DEMO_PASSPHRASE_FILE
        _write_private_text(
            note,
            "DEMO ONLY. A real deployment never writes passphrases to disk.\n"
            f"vetting  {vetting_pass}\ndelivery {delivery_pass}\n",
        )
        # The demo worker reads this; a real worker gets its passphrase from the operator.
        _write_private_text(keys_dir / DEMO_DELIVERY_PASSPHRASE_FILE, delivery_pass + "\n")
        click.echo("DEMO passphrases (shown once; also in "
                   f"{note}, mode 0600):")
        click.echo(f"  vetting key:  {vetting_pass}")
        click.echo(f"  delivery key: {delivery_pass}")
    else:
        click.echo("Move the vetting key file to the coordinators' own devices and delete it "
                   "from this server: the server must never hold it at rest.")


def _create_staff(app: Flask, role: str, password: str | None) -> accounts.NewStaff:
    try:
        verify_ready(app)
    except db.StartupError as error:
        _fail(str(error))
    st = state(app)
    conn = db.connect(st.config.database_path, load_keys(app).database_key)
    try:
        return accounts.create_staff(conn, st.passwords, role=role, password=password,
                                     now=st.clock())
    finally:
        conn.close()


def _totp_command(secret: str) -> str:
    return f".venv/bin/python -c \"import pyotp; print(pyotp.TOTP('{secret}').now())\""


def _print_staff(new: accounts.NewStaff, *, show_password: bool) -> list[str]:
    lines = [
        f"{new.account.role}: username {new.account.username}",
        f"  password:    {new.password if show_password else '(as typed)'}",
        f"  TOTP secret: {new.totp_secret}  (add it to an authenticator app)",
        f"  setup link:  {accounts.totp_uri(new.totp_secret, new.account.username)}",
        f"  current code from the command line: {_totp_command(new.totp_secret)}",
    ]
    for line in lines:
        click.echo(line)
    return lines


def _demo_staff(app: Flask) -> None:
    """One coordinator and one auditor for the demo, if there are none yet."""
    st = state(app)
    conn = db.connect(st.config.database_path, load_keys(app).database_key)
    try:
        missing = [role for role in STAFF_ROLES if accounts.count_staff(conn, role) == 0]
    finally:
        conn.close()
    if not missing:
        click.echo(f"Demo staff already exist (see {st.config.keys_dir / DEMO_STAFF_FILE}).")
        return
    click.echo("DEMO staff logins (sign in at /login; staff always need a TOTP code):")
    lines = ["DEMO ONLY. Real staff are created with: flask --app app staff create"]
    for role in missing:
        lines += _print_staff(_create_staff(app, role, None), show_password=True)
    note = st.config.keys_dir / DEMO_STAFF_FILE
    note.unlink(missing_ok=True)
    _write_private_text(note, "\n".join(lines) + "\n")
    click.echo(f"(also written to {note}, mode 0600)")


def register(app: Flask) -> None:
    audit_cli.register(app)
    worker_cli.register(app)
    keys_cli = AppGroup("keys", help="The key ceremony and key fingerprints.")

    @keys_cli.command("init")
    @click.option("--vetting-key-out", type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to write the sealed vetting key file (default: keys/).")
    @click.option("--demo", is_flag=True,
                  help="Generate and print passphrases instead of asking (local demo only).")
    def keys_init(vetting_key_out: Path | None, demo: bool) -> None:
        """Create the database, index, vetting, delivery, audit and session keys."""
        run_ceremony(state(app).config.keys_dir, demo=demo, vetting_key_out=vetting_key_out)

    @keys_cli.command("show")
    def keys_show() -> None:
        """Print the fingerprint of every key (public information only)."""
        keys_dir = state(app).config.keys_dir
        if not keystore.keys_present(keys_dir):
            _fail(f"No keys in {keys_dir}. Create them with: flask --app app keys init")
        for name, fingerprint in keystore.describe_keys(keys_dir).items():
            click.echo(f"{name:<10} {fingerprint}")

    app.cli.add_command(keys_cli)

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the encrypted database from schema.sql (never overwrites)."""
        config = state(app).config
        try:
            keys = load_keys(app)
            db.init_database(config.database_path, keys.database_key, config.schema_path)
        except db.StartupError as error:
            _fail(str(error))
        click.echo(f"Created the encrypted database at {config.database_path} "
                   f"(schema version {db.SCHEMA_VERSION}).")

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
                _fail(problem)
        new = _create_staff(app, role, password)
        _print_staff(new, show_password=not ask_password)

    app.cli.add_command(staff_cli)

    @app.cli.command("demo-setup")
    def demo_setup() -> None:
        """Create demo keys and the database if they are absent (used by `make run`)."""
        config = state(app).config
        if keystore.keys_present(config.keys_dir):
            click.echo(f"Keys already in {config.keys_dir}; leaving them as they are.")
        else:
            click.echo(f"No keys in {config.keys_dir}: running the demo key ceremony.")
            run_ceremony(config.keys_dir, demo=True, vetting_key_out=None)
        if config.database_path.exists():
            click.echo(f"Database already at {config.database_path}.")
        else:
            try:
                keys = load_keys(app)
                db.init_database(config.database_path, keys.database_key, config.schema_path)
            except db.StartupError as error:
                _fail(str(error))
            click.echo(f"Created the encrypted database at {config.database_path}.")
        _demo_staff(app)

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")),
                  show_default="$PORT or 5000")
    def serve(host: str, port: int) -> None:
        """Check keys and database, then serve with the development server."""
        try:
            verify_ready(app)
        except db.StartupError as error:
            _fail(f"Not starting: {error}")
        click.echo(f"Serving uglymugs on http://{host}:{port}/ (Ctrl+C to stop)")
        sys.stdout.flush()
        run_simple(host, port, app, threaded=True, request_handler=AddresslessRequestHandler)
