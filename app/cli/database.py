"""The encrypted database: `init-db`, `db upgrade`, `db status`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.cli import backup as backup_cli
from app.cli.keys import init_first_holders
from app.cli.output import fail
from app.vault import db, migrations
from app.web.state import load_keys, state


def upgrade_and_report(app: Flask, indent: str = "", *, take_backup: bool = True) -> None:
    """Apply the pending migrations, printing each step; exit 1 with the reason if refused.

    Shared by `db upgrade` and `demo-setup`, so `make run` upgrades the demo database the
    same way an operator upgrades a real one. With steps pending and `take_backup`, a
    backup is made first and its path printed: the way back if a step goes wrong.
    """
    config = state(app).config
    try:
        status = migrations.database_status(
            config.database_path, load_keys(app).database_key, config.migrations_path)
    except db.StartupError as error:
        fail(str(error))
    if status.pending and status.refusal is None:
        if take_backup:
            made = backup_cli.take_backup(app)
            click.echo(f"{indent}Backed up the database first: {made.path}")
        else:
            click.echo(f"{indent}No backup taken (--no-backup).")
    try:
        outcome = migrations.upgrade_database(
            config.database_path, load_keys(app).database_key, config.migrations_path,
            progress=lambda step: click.echo(f"{indent}{step.line}"))
    except db.StartupError as error:
        fail(str(error))
    if outcome.applied:
        click.echo(f"{indent}The database at {config.database_path} is now at version "
                   f"{outcome.after} (it was at {outcome.before}).")
    else:
        click.echo(f"{indent}The database at {config.database_path} is already at version "
                   f"{outcome.after}, nothing to do.")


def register(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the encrypted database from schema.sql (never overwrites)."""
        config = state(app).config
        try:
            keys = load_keys(app)
            db.init_database(config.database_path, keys.database_key, config.schema_path)
        except db.StartupError as error:
            fail(str(error))
        click.echo(f"Created the encrypted database at {config.database_path} "
                   f"(schema version {db.SCHEMA_VERSION}).")
        conn = db.connect(config.database_path, keys.database_key)
        try:
            installed = init_first_holders(app, conn)
        finally:
            conn.close()
        if installed:
            holders = "1 key holder" if installed == 1 else f"{installed} key holders"
            click.echo(f"Stored the key ceremony's {holders}.")

    db_cli = AppGroup("db", help="The database's schema version: status and upgrade.")

    @db_cli.command("status")
    def db_status() -> None:
        """Show the database's schema version, this code's, and the steps between them."""
        config = state(app).config
        try:
            status = migrations.database_status(
                config.database_path, load_keys(app).database_key, config.migrations_path)
        except db.StartupError as error:
            fail(str(error))
        click.echo(f"Database: {config.database_path}, schema version {status.current}.")
        click.echo(f"This code: schema version {status.latest}.")
        if status.refusal is not None:
            fail(status.refusal)
        if not status.pending:
            click.echo("Up to date: no pending steps.")
            return
        click.echo(f"Pending steps ({len(status.pending)}), applied in order by "
                   "flask --app app db upgrade:")
        for migration in status.pending:
            click.echo(f"  {migration.label}")

    @db_cli.command("upgrade")
    @click.option("--no-backup", is_flag=True,
                  help="Do not take a backup before applying the steps.")
    def db_upgrade(no_backup: bool) -> None:
        """Back up, then apply the pending migrations: one transaction per step."""
        upgrade_and_report(app, take_backup=not no_backup)

    app.cli.add_command(db_cli)
