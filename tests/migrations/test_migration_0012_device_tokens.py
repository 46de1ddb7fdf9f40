"""0012: the device_tokens table (sign-in throttling's known browsers), on a populated v11."""

from __future__ import annotations

import pytest

from app.vault import db, log, migrations
from tests.migrations.databases import REPO, contents, fresh_schema, table_sql, user_tables

MIGRATIONS = REPO / "migrations"


@pytest.fixture
def v6_conn(at_version):
    """A populated version-11 database: the v5 fixture taken through every step before 0012."""
    return at_version(11)


def _apply_0012(conn: db.Connection) -> None:
    [step] = [m for m in migrations.discover(MIGRATIONS) if m.version == 12]
    migrations.apply(conn, step)


def test_0012_keeps_every_row_of_every_table_and_adds_an_empty_device_tokens(v6_conn) -> None:
    before = contents(v6_conn)
    assert sum(1 for _columns, rows in before.values() if rows) >= 20, "a populated database"
    _apply_0012(v6_conn)
    after = contents(v6_conn)
    assert db.schema_version(v6_conn) == 12
    assert set(after) == set(before) | {"device_tokens"}
    for table in before:
        assert after[table] == before[table], table
    assert after["device_tokens"] == (("token_hash", "account_id", "created_at",
                                       "last_used_at"), [])
    assert log.verify(v6_conn).ok


def test_after_0012_device_tokens_follow_their_account(v6_conn) -> None:
    _apply_0012(v6_conn)
    account_id = "a-new-staff"
    with db.transaction(v6_conn):
        v6_conn.execute("INSERT INTO accounts (id, username, password_hash, role, status, "
                        "created_at) VALUES (?, 'new-staff-0001', 'x', 'auditor', 'active', "
                        "'2026-03-01T00:00:00+00:00')", (account_id,))
        v6_conn.execute("INSERT INTO device_tokens VALUES (x'01', ?, 'a', 'b')", (account_id,))
    with pytest.raises(db.IntegrityError, match="FOREIGN KEY"):
        v6_conn.execute("INSERT INTO device_tokens VALUES (x'02', 'no-such-account', 'a', 'b')")
    with db.transaction(v6_conn):
        v6_conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
    assert db.count(v6_conn, "SELECT count(*) FROM device_tokens") == 0
    assert v6_conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_0012_makes_the_table_schema_sql_declares(v6_conn, tmp_path, database_key) -> None:
    _apply_0012(v6_conn)
    with fresh_schema(tmp_path, database_key) as fresh:
        assert table_sql(v6_conn, "device_tokens") == table_sql(fresh, "device_tokens")
        assert "device_tokens" in user_tables(fresh)
