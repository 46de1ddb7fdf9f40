"""0013: accounts get a locale column (their chosen language), by rebuilding the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.audit.verification import verify_log
from app.auth import accounts
from app.vault import db, log
from tests.migrations.databases import REPO, contents, upgrade_to

MIGRATIONS = REPO / "migrations"


@pytest.fixture
def v6_path(v5_sealed, v5_path: Path, database_key: bytes) -> Path:
    """A populated version-12 database: the v5 fixture taken through every step before."""
    upgrade_to(v5_path, database_key, 12)
    return v5_path


@pytest.fixture
def v6_conn(v6_path: Path, database_key: bytes):
    connection = db.connect(v6_path, database_key)
    yield connection
    connection.close()


def test_upgrading_a_populated_v6_database_keeps_every_row_and_adds_no_locale(
        v6_conn, v6_path, database_key) -> None:
    assert db.schema_version(v6_conn) == 12
    before = contents(v6_conn)
    assert before["accounts"][1], "the fixture has accounts to carry over"
    upgrade_to(v6_path, database_key, 13)
    after = contents(v6_conn)
    assert db.schema_version(v6_conn) == 13
    assert after.keys() == before.keys()
    for table in before:
        if table != "accounts":
            assert after[table] == before[table], table
    columns, rows = after["accounts"]
    assert columns == (*before["accounts"][0], "locale")
    assert sorted(row[:-1] for row in rows) == sorted(before["accounts"][1])
    assert {row[-1] for row in rows} == {None}


def test_after_0013_foreign_keys_to_accounts_still_hold_and_still_act(
        v6_conn, v6_path, database_key) -> None:
    upgrade_to(v6_path, database_key, 13)
    assert v6_conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.scalar(v6_conn, "PRAGMA integrity_check") == "ok"
    assert db.count(v6_conn, "SELECT count(*) FROM sessions WHERE account_id = 'c1'") == 1
    with pytest.raises(db.IntegrityError, match="FOREIGN KEY"):
        v6_conn.execute("INSERT INTO sessions (token_hash, account_id, created_at, "
                        "last_seen_at) VALUES (x'00', 'no-such-account', 'x', 'x')")
    with db.transaction(v6_conn):
        v6_conn.execute("INSERT INTO accounts (id, username, password_hash, role, status, "
                        "created_at) VALUES ('a-new', 'new-user-0001', 'h', 'auditor', "
                        "'active', 'x')")
        v6_conn.execute("INSERT INTO sessions (token_hash, account_id, created_at, "
                        "last_seen_at) VALUES (x'01', 'a-new', 'x', 'x')")
        v6_conn.execute("DELETE FROM accounts WHERE id = 'a-new'")
    # sessions' ON DELETE CASCADE still acts on the rebuilt table.
    assert db.count(v6_conn, "SELECT count(*) FROM sessions WHERE account_id = 'a-new'") == 0


def test_after_0013_the_log_verifies_and_a_locale_can_be_stored(
        v6_conn, v6_path, database_key, server_keys) -> None:
    upgrade_to(v6_path, database_key, 13)
    assert log.verify(v6_conn).ok
    assert verify_log(v6_conn, server_keys.audit_verify_key).ok
    account_id = db.scalar(v6_conn, "SELECT id FROM accounts WHERE role = 'member' LIMIT 1")
    accounts.set_locale(v6_conn, account_id, "ro")
    assert accounts.by_id(v6_conn, account_id).locale == "ro"


@pytest.mark.parametrize("bad", ["x", "ro'; --", "pt-BR", "a" * 13, "ro\n"])
def test_after_0013_a_locale_of_the_wrong_shape_is_refused(v6_conn, v6_path, database_key,
                                                           bad) -> None:
    upgrade_to(v6_path, database_key, 13)
    with pytest.raises(db.IntegrityError, match="CHECK constraint failed"):
        v6_conn.execute("UPDATE accounts SET locale = ?", (bad,))
