"""0007: staff profiles, recovery codes and account notices, on a populated version-6 database."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.audit.verification import verify_log
from app.auth import staff as staff_logins
from app.vault import db, log
from tests.migrations.databases import REPO, contents, upgrade_to

MIGRATIONS = REPO / "migrations"
NEW_TABLES = {"staff_profiles", "recovery_codes", "account_notices"}


@pytest.fixture
def v6_path(v5_sealed, v5_path: Path, database_key: bytes, tmp_path: Path) -> Path:
    """The populated version-5 database brought to version 6 by the steps up to 0006."""
    upgrade_to(v5_path, database_key, 6)
    return v5_path


def test_upgrading_a_populated_v6_database_keeps_every_row_and_adds_three_tables(
        v6_path, database_key) -> None:
    conn = db.connect(v6_path, database_key)
    try:
        assert db.schema_version(conn) == 6
        before = contents(conn)
        upgrade_to(v6_path, database_key, 7)
        after = contents(conn)
        assert db.schema_version(conn) == 7
        assert set(after) - set(before) == NEW_TABLES
        for table in before:
            assert after[table] == before[table], table
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def test_existing_staff_get_a_profile_and_are_not_made_to_change_their_password(
        v6_path, database_key, server_keys) -> None:
    upgrade_to(v6_path, database_key, 7)
    conn = db.connect(v6_path, database_key)
    try:
        staff_ids = {row["id"] for row in conn.execute(
            "SELECT id FROM accounts WHERE role IN ('coordinator', 'auditor')")}
        assert staff_ids, "the fixture has staff"
        listed = staff_logins.list_staff(conn)
        assert {member.account_id for member in listed} == staff_ids
        assert not any(member.password_must_change or member.label for member in listed)
        assert db.scalar(conn, "SELECT count(*) FROM recovery_codes") == 0
        # The log still verifies, and the new tables take writes with their checks.
        assert log.verify(conn).ok
        assert verify_log(conn, server_keys.audit_verify_key).ok
        member_account = db.scalar(conn, "SELECT id FROM accounts WHERE member_id IS NOT NULL")
        with pytest.raises(db.IntegrityError, match="CHECK constraint failed"):
            conn.execute("INSERT INTO account_notices (account_id, kind, created_at) "
                         "VALUES (?, 'atlantis', '2026-01-01T00:00:00+00:00')",
                         (member_account,))
    finally:
        conn.close()
