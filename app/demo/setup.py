"""`demo-setup`: what `make run` needs on an empty machine (demo keys, database, staff).

Demo only: it prints passphrases and keeps them in owner-only files, which a real
deployment never does (README, the key ceremony).
"""

from __future__ import annotations

import click
from flask import Flask

from app.auth import accounts
from app.auth.accounts import STAFF_ROLES
from app.cli.database import upgrade_and_report
from app.cli.keys import run_ceremony
from app.cli.output import fail, write_private_text
from app.cli.staff import create_staff, print_staff
from app.vault import db
from app.web.state import load_keys, state
from crypto import keystore

DEMO_STAFF_FILE = "demo-staff.txt"


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
        # Unlike real staff, the demo's are not made to change the printed password: the
        # walk-through signs in with it, and keys/demo-staff.txt keeps it.
        lines += print_staff(create_staff(app, role, None, must_change_password=False),
                             show_password=True)
    note = st.config.keys_dir / DEMO_STAFF_FILE
    note.unlink(missing_ok=True)
    write_private_text(note, "\n".join(lines) + "\n")
    click.echo(f"(also written to {note}, mode 0600)")


def register(app: Flask) -> None:
    @app.cli.command("demo-setup")
    def demo_setup() -> None:
        """Create demo keys and the database if absent, else upgrade it (used by `make run`)."""
        config = state(app).config
        if keystore.keys_present(config.keys_dir):
            click.echo(f"Keys already in {config.keys_dir}; leaving them as they are.")
        else:
            click.echo(f"No keys in {config.keys_dir}: running the demo key ceremony.")
            run_ceremony(config.keys_dir, demo=True, vetting_key_out=None)
        if config.database_path.exists():
            # A demo database from an earlier checkout: bring it to this code's schema.
            click.echo(f"Database already at {config.database_path}; upgrading it if needed.")
            upgrade_and_report(app, indent="  ")
        else:
            try:
                keys = load_keys(app)
                db.init_database(config.database_path, keys.database_key, config.schema_path)
            except db.StartupError as error:
                fail(str(error))
            click.echo(f"Created the encrypted database at {config.database_path}.")
        _demo_staff(app)

    @app.cli.command("smtp-sink")
    @click.option("--port", type=int, default=8025, show_default=True)
    def smtp_sink(port: int) -> None:
        """A local SMTP server for the demo that prints every notice instead of sending it."""
        from app.demo.smtp_sink import run_sink

        click.echo(f"Demo SMTP sink on 127.0.0.1:{port}: notices are printed here.")
        run_sink(port=port)
