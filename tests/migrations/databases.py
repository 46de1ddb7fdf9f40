"""Building, reading and comparing test databases for the migration tests."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
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


def table_sql(conn: db.Connection, *tables: str) -> list[str]:
    """The tables' and their indexes' SQL, normalised: what a step must make as schema.sql does."""
    marks = ",".join("?" * len(tables))
    return sorted(normalise_sql(row["sql"]) or "" for row in conn.execute(
        f"SELECT sql FROM sqlite_master WHERE tbl_name IN ({marks})", tables))  # noqa: S608


@contextmanager
def fresh_schema(folder: Path, key: bytes) -> Iterator[db.Connection]:
    """A new database made from today's schema.sql, to compare a migrated one with."""
    path = folder / "fresh.db"
    db.init_database(path, key, REPO / "schema.sql")
    fresh = db.connect(path, key)
    try:
        yield fresh
    finally:
        fresh.close()


def upgrade_to(path: Path, key: bytes, version: int) -> None:
    """Apply the real migrations/ steps up to `version` only (a later step's test starts
    from the database this leaves; an earlier step's test stops at its own version)."""
    from app.vault import migrations

    conn = db.connect(path, key)
    try:
        for migration in migrations.discover(REPO / "migrations"):
            if db.schema_version(conn) < migration.version <= version:
                migrations.apply(conn, migration)
    finally:
        conn.close()
