"""0015: the decision_notes table (a decision's sealed note), on a populated version 14."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.vault import db, decision_notes, log, migrations, unseal
from tests.migrations.databases import REPO, contents, fresh_schema, table_sql, user_tables

MIGRATIONS = REPO / "migrations"


@pytest.fixture
def v14_conn(at_version):
    """A populated version-14 database: the v5 fixture taken through every step before 0015."""
    return at_version(14)


def _apply_0015(conn: db.Connection) -> None:
    [step] = [m for m in migrations.discover(MIGRATIONS) if m.version == 15]
    migrations.apply(conn, step)


def test_0015_keeps_every_row_of_every_table_and_adds_an_empty_decision_notes(v14_conn) -> None:
    before = contents(v14_conn)
    assert sum(1 for _columns, rows in before.values() if rows) >= 20, "a populated database"
    _apply_0015(v14_conn)
    after = contents(v14_conn)
    assert db.schema_version(v14_conn) == 15
    assert set(after) == set(before) | {"decision_notes"}
    for table in before:
        assert after[table] == before[table], table
    assert after["decision_notes"] == (("id", "event", "record", "actor_id", "created_at",
                                        "body"), [])
    assert log.verify(v14_conn).ok
    assert v14_conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_after_0015_a_sealed_note_is_stored_and_opens_only_through_a_logged_unseal(
        v14_conn, server_keys, vetting_key) -> None:
    _apply_0015(v14_conn)
    now = datetime(2026, 3, 2, 10, tzinfo=UTC)
    with db.transaction(v14_conn):
        note_id = decision_notes.add(v14_conn, server_keys.vetting_public,
                                     event="report_marked_malicious", record="reports/r1",
                                     actor_id="c1", text="Canaryqz0014 note", now=now)
    stored = db.scalar(v14_conn, "SELECT body FROM decision_notes WHERE id = ?", (note_id,))
    assert b"Canaryqz0014" not in bytes(stored)
    entries = len(log.entries(v14_conn))
    opened = unseal.unseal(v14_conn, unseal.UnsealRequest(
        actor_id="c1", purpose="report_review", table="decision_notes", row_ids=[note_id],
        fields={"body": ["note"]}), vetting_key, now)
    assert opened[note_id]["body"]["note"] == "Canaryqz0014 note"
    assert len(log.entries(v14_conn)) == entries + 1


def test_0015_makes_the_table_schema_sql_declares(v14_conn, tmp_path, database_key) -> None:
    _apply_0015(v14_conn)
    with fresh_schema(tmp_path, database_key) as fresh:
        assert table_sql(v14_conn, "decision_notes") == table_sql(fresh, "decision_notes")
        assert "decision_notes" in user_tables(fresh)
