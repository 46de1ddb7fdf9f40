"""The encrypted database: `init-db`, `db upgrade`, `db status`."""

from __future__ import annotations

import click
from flask import Flask

from app.cli.output import fail
from app.vault import db
from app.web.state import load_keys, state


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
