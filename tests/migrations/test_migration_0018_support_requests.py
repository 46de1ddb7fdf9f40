"""0018: the support queue, filled from existing reports; member messages gain 'support'.
Tested on a populated version-17 database."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.audit.verification import verify_log
from app.vault import db, log
from tests.migrations.databases import contents, fresh_schema, table_sql, upgrade_to


@pytest.fixture
def v17(v5_sealed, v5_path: Path, database_key: bytes):
    """The populated fixture database, brought to version 17 by the real steps before 0018,
    with one report that did not ask for support."""
    upgrade_to(v5_path, database_key, 17)
    connection = db.connect(v5_path, database_key)
    assert db.schema_version(connection) == 17
    first = db.scalar(connection, "SELECT id FROM reports ORDER BY id LIMIT 1")
    with db.transaction(connection):
        connection.execute("UPDATE reports SET wants_support = 0 WHERE id = ?", (first,))
    yield connection
    connection.close()


def test_upgrading_a_populated_v17_database_keeps_every_row(v17, v5_path, database_key) -> None:
    before = contents(v17)
    assert before["member_messages"][1], "the fixture has messages to carry over"
    upgrade_to(v5_path, database_key, 18)
    after = contents(v17)
    assert db.schema_version(v17) == 18
    assert set(after) == set(before) | {"support_requests"}
    for table in before:
        if table != "member_messages":
            assert after[table] == before[table], table
    columns, rows = after["member_messages"]
    assert columns == (*before["member_messages"][0], "support_request_id")
    assert sorted((row[:-1] for row in rows), key=repr) == before["member_messages"][1]
    assert {row[-1] for row in rows} == {None}


def test_every_existing_report_that_asked_for_support_gets_a_new_request(
        v17, v5_path, database_key) -> None:
    asked = {row["id"]: row["created_at"] for row in v17.execute(
        "SELECT id, created_at FROM reports WHERE wants_support = 1")}
    assert asked and db.count(v17, "SELECT count(*) FROM reports WHERE wants_support = 0") == 1
    upgrade_to(v5_path, database_key, 18)
    rows = v17.execute("SELECT * FROM support_requests").fetchall()
    assert {row["report_id"]: row["created_at"] for row in rows} == asked
    assert {row["status"] for row in rows} == {"new"}
    assert all(row["note"] is None and row["updated_by"] is None for row in rows)
    assert len({row["id"] for row in rows}) == len(rows)
    assert all(len(row["id"]) == 32 for row in rows)  # 128 random bits, in hex


def test_after_0018_the_checks_hold_and_the_log_verifies(v17, v5_path, database_key,
                                                         server_keys) -> None:
    upgrade_to(v5_path, database_key, 18)
    assert v17.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.scalar(v17, "PRAGMA integrity_check") == "ok"
    assert log.verify(v17).ok
    assert verify_log(v17, server_keys.audit_verify_key).ok
    request_id = db.scalar(v17, "SELECT id FROM support_requests LIMIT 1")
    with pytest.raises(db.IntegrityError, match="CHECK"):
        v17.execute("UPDATE support_requests SET status = 'lost' WHERE id = ?", (request_id,))
    with pytest.raises(db.IntegrityError, match="CHECK"):
        v17.execute("INSERT INTO member_messages (id, member_id, kind, created_at) "
                    "VALUES ('x', 'm-active', 'support', 'x')")
    with db.transaction(v17):
        v17.execute("INSERT INTO member_messages (id, member_id, kind, support_request_id, "
                    "created_at) VALUES ('x', 'm-active', 'support', ?, 'x')", (request_id,))
        v17.execute("DELETE FROM support_requests WHERE id = ?", (request_id,))
    # ON DELETE CASCADE acts on the rebuilt table.
    assert db.count(v17, "SELECT count(*) FROM member_messages WHERE id = 'x'") == 0


def test_0014_makes_the_tables_schema_sql_declares(v17, v5_path, tmp_path,
                                                  database_key) -> None:
    # With the later steps too: schema.sql is the current schema (0019 adds two columns).
    upgrade_to(v5_path, database_key, db.SCHEMA_VERSION)
    tables = ("support_requests", "member_messages")
    with fresh_schema(tmp_path, database_key) as fresh:
        assert table_sql(v17, *tables) == table_sql(fresh, *tables)
