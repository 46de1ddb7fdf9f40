"""Building, reading and comparing test databases for the migration tests."""

from __future__ import annotations

import os
import re
from pathlib import Path

from app.vault import db

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).resolve().parent / "schemas"


def build_database(path: Path, key: bytes, schema_sql: str) -> None:
    """An encrypted database from a schema's text, made as init_database makes one.

    init_database itself only takes the current schema.sql; a kept older schema is how a
    test gets the database an older release made.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    conn = db.connect(path, key)
    try:
        conn.executescript(schema_sql)
    finally:
        conn.close()


def user_tables(conn: db.Connection) -> list[str]:
    return [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]


def contents(conn: db.Connection) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
    """Every table's column names and rows (in a stable order), by table."""
    found = {}
    for table in user_tables(conn):
        columns = tuple(row[1] for row in conn.execute(f'PRAGMA table_info("{table}")'))
        rows = [tuple(row) for row in conn.execute(f'SELECT * FROM "{table}"')]  # noqa: S608
        found[table] = (columns, sorted(rows, key=repr))
    return found


def raw_schema(conn: db.Connection) -> list[tuple]:
    return sorted((tuple(row) for row in conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master")), key=repr)


def snapshot(conn: db.Connection) -> tuple[int, list[tuple], dict]:
    """Everything a step could change: the version, the schema and every row."""
    return db.schema_version(conn), raw_schema(conn), contents(conn)


def normalise_sql(sql: str | None) -> str | None:
    """One spelling for SQL that SQLite reads the same way.

    Comments and layout differ between schema.sql and a migration by design, and
    ALTER TABLE ... RENAME stores the new name quoted ("reports").
    """
    if sql is None:  # the automatic indexes of PRIMARY KEY and UNIQUE
        return None
    sql = re.sub(r"--[^\n]*", " ", sql)
    sql = re.sub(r'"(\w+)"', r"\1", sql)
    sql = re.sub(r"\s+", " ", sql)
    sql = re.sub(r"\s*([(),])\s*", r"\1", sql)
    return sql.strip()


def normalised_schema(conn: db.Connection) -> list[tuple]:
    return sorted(((kind, name, table, normalise_sql(sql))
                   for kind, name, table, sql in raw_schema(conn)), key=repr)


def upgrade_to(path: Path, key: bytes, version: int) -> None:
    """Apply the repository's migrations up to `version` only: one step's own test."""
    from app.vault import migrations

    steps = [m for m in migrations.discover(REPO / "migrations") if m.version <= version]
    conn = db.connect(path, key)
    try:
        migrations.upgrade(conn, steps, None, str(path))
    finally:
        conn.close()
