"""`demo-setup`: what `make run` needs on an empty machine (demo keys, database, staff).

Demo only: it prints passphrases and keeps them in owner-only files, which a real
deployment never does (README, the key ceremony). Both demo coordinators are key holders,
each with their own key file (keys/demo-holder-USERNAME.key) and passphrase.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask

from app.auth import accounts
from app.cli.database import upgrade_and_report
from app.cli.keys import (
    database,
    enrol,
    init_first_holders,
    run_ceremony,
    shown,
    write_demo_passphrases,
)
from app.cli.output import fail, write_private_text
from app.cli.staff import create_staff, print_staff
from app.vault import db, holders
from app.web.state import load_keys, state
from crypto import keystore
from crypto.passphrase import generate_passphrase

DEMO_STAFF_FILE = "demo-staff.txt"
# Two coordinators, so that four-eyes disclosures and per-coordinator key files can be
# tried; one auditor.
DEMO_STAFF = (("coordinator", 2), ("auditor", 1))
_FIRST_HOLDER = "demo-holder-first.key"


def _demo_staff(app: Flask) -> None:
    """The demo's coordinators and auditor, as many as are missing."""
    st = state(app)
    conn = db.connect(st.config.database_path, load_keys(app).database_key)
    try:
        missing = [role for role, wanted in DEMO_STAFF
                   for _ in range(wanted - accounts.count_staff(conn, role))]
    finally:
        conn.close()
    if not missing:
        click.echo(f"Demo staff already exist (see {st.config.keys_dir / DEMO_STAFF_FILE}).")
        return
    click.echo("DEMO staff logins (sign in at /login; staff always need a TOTP code):")
    note = st.config.keys_dir / DEMO_STAFF_FILE
    lines = (note.read_text(encoding="utf-8").splitlines() if note.exists() else
             ["DEMO ONLY. Real staff are created with: flask --app app staff create"])
    for role in missing:
        # Unlike real staff, the demo's are not made to change the printed password: the
        # walk-through signs in with it, and keys/demo-staff.txt keeps it.
        lines += print_staff(create_staff(app, role, None, must_change_password=False),
                             show_password=True, site_name=state(app).config.site_name)
    note.unlink(missing_ok=True)
    write_private_text(note, "\n".join(lines) + "\n")
    click.echo(f"(also written to {note}, mode 0600)")


def _coordinators(conn: db.Connection) -> list[accounts.Account]:
    rows = conn.execute("SELECT username FROM accounts WHERE role = 'coordinator' "
                        "ORDER BY created_at, username").fetchall()
    found = [accounts.by_username(conn, row["username"]) for row in rows]
    return [account for account in found if account is not None]


def _demo_holders(app: Flask, first_phrase: str, delivery_pass: str) -> None:
    """Give each demo coordinator their own key file; keep the passphrases for the demo."""
    keys_dir = state(app).config.keys_dir
    first_file = keys_dir / _FIRST_HOLDER
    with database(app) as conn:
        first, second = _coordinators(conn)[:2]
        first_path = keys_dir / f"demo-holder-{first.username}.key"
        os.link(first_file, first_path)  # never replaces a file
        first_file.unlink()
        holder_key = holders.open_holder_key(first_path.read_bytes(), first_phrase)
        holder = holders.holder_by_key_id(conn, holder_key.key_id)
        assert holder is not None
        holders.bind(conn, holder.id, first.id, "operator", state(app).clock())
        vetting = list(holders.open_vetting_keys(conn, holder_key).values())
        second_phrase = generate_passphrase()
        second_path = keys_dir / f"demo-holder-{second.username}.key"
        enrol(app, conn, account=second, vetting=vetting, key_out=second_path,
              passphrase=second_phrase, source="holder")
    kept: list[tuple[Path, str]] = [(first_path, first_phrase), (second_path, second_phrase)]
    note = write_demo_passphrases(keys_dir, kept, delivery_pass)
    click.echo(f"DEMO key files and passphrases (shown once; also in {note}, mode 0600):")
    for (path, phrase), account in zip(kept, (first, second), strict=True):
        click.echo(f"  coordinator {account.username}: {shown(path)}  passphrase: {phrase}")
    click.echo(f"  delivery key: {delivery_pass}")


def register(app: Flask) -> None:
    @app.cli.command("demo-setup")
    def demo_setup() -> None:
        """Create demo keys and the database if absent, else upgrade it (used by `make run`)."""
        config = state(app).config
        ceremony = None
        if keystore.keys_present(config.keys_dir):
            click.echo(f"Keys already in {config.keys_dir}; leaving them as they are.")
        else:
            click.echo(f"No keys in {config.keys_dir}: running the demo key ceremony.")
            config.keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            _result, phrases, delivery_pass = run_ceremony(
                config.keys_dir, demo=True, holder_outs=[config.keys_dir / _FIRST_HOLDER],
                cheap_kdf=config.cheap_password_hashing)
            ceremony = (phrases[0], delivery_pass)
        if config.database_path.exists():
            # A demo database from an earlier checkout: bring it to this code's schema.
            click.echo(f"Database already at {config.database_path}; upgrading it if needed.")
            upgrade_and_report(app, indent="  ")
        else:
            try:
                keys = load_keys(app)
                db.init_database(config.database_path, keys.database_key, config.schema_path)
                conn = db.connect(config.database_path, keys.database_key)
                try:
                    init_first_holders(app, conn)
                finally:
                    conn.close()
            except db.StartupError as error:
                fail(str(error))
            click.echo(f"Created the encrypted database at {config.database_path}.")
        _demo_staff(app)
        if ceremony is not None:
            _demo_holders(app, *ceremony)

    @app.cli.command("smtp-sink")
    @click.option("--port", type=int, default=8025, show_default=True)
    def smtp_sink(port: int) -> None:
        """A local SMTP server for the demo that prints every notice instead of sending it."""
        from app.demo.smtp_sink import run_sink

        click.echo(f"Demo SMTP sink on 127.0.0.1:{port}: notices are printed here.")
        run_sink(port=port)
