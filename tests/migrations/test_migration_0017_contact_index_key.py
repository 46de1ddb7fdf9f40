"""0017: the truncated index.key contact indexes go; every member waits to be indexed
under the contact-index key at the next unlock (on a populated version-16 database)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.coordinator import vetting
from app.membership import records
from app.vault import contact_index, db
from app.vault.opening import open_group
from tests.migrations.databases import contents, upgrade_to

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def v16_path(v5_sealed, v5_path: Path, database_key: bytes) -> Path:
    upgrade_to(v5_path, database_key, 16)
    return v5_path


@pytest.fixture
def v16_conn(v16_path: Path, database_key: bytes):
    connection = db.connect(v16_path, database_key)
    yield connection
    connection.close()


def test_0017_drops_every_truncated_index_marks_every_member_and_loses_nothing(
        v16_conn, v16_path, database_key) -> None:
    assert db.schema_version(v16_conn) == 16
    before = contents(v16_conn)
    assert before["member_contact_index"][1], "the fixture has truncated indexes to drop"
    upgrade_to(v16_path, database_key, 17)
    after = contents(v16_conn)
    assert db.schema_version(v16_conn) == 17
    assert set(after) == set(before) | {"contact_index_keys"}
    assert after["contact_index_keys"][1] == [], "made at the first unlock, not here"
    assert after["member_contact_index"][1] == []
    for table in set(before) - {"members", "member_contact_index"}:
        assert after[table] == before[table], table
    columns, rows = after["members"]
    assert columns == (*before["members"][0], "contact_indexed_at")
    kept = [i for i, name in enumerate(before["members"][0]) if name != "duplicate_candidates"]
    assert sorted(tuple(row[i] for i in kept) for row in rows) == \
        sorted(tuple(row[i] for i in kept) for row in before["members"][1])
    indexed_at = columns.index("contact_indexed_at")
    duplicates = columns.index("duplicate_candidates")
    assert {row[indexed_at] for row in rows} == {None}, "every member marked for indexing"
    assert {row[duplicates] for row in rows} == {0}


def test_after_0017_every_sealed_value_still_opens(v16_conn, v16_path, database_key,
                                                   v5_sealed, vetting_key,
                                                   delivery_key) -> None:
    upgrade_to(v16_path, database_key, 17)
    for (table, column, row_id), values in v5_sealed.items():
        if (table, column) == ("outbox", "payload"):
            continue  # 0009 erased the reset codes of finished notices
        sealed = db.scalar(v16_conn, f"SELECT {column} FROM {table} "  # noqa: S608
                           "WHERE id = ?", (row_id,))
        if sealed is None:
            continue
        assert open_group(table, column, row_id, bytes(sealed), vetting_key) == values


def test_after_0017_the_first_unlock_indexes_every_member_under_a_new_key(
        v16_conn, v16_path, database_key, vetting_key) -> None:
    upgrade_to(v16_path, database_key, 17)
    opened = contact_index.open_or_create(v16_conn, vetting_key, "c1", NOW)
    assert opened is not None
    indexer = contact_index.indexer(*opened)
    with_contact = db.count(v16_conn, "SELECT count(*) FROM members WHERE contact IS NOT NULL")
    assert records.not_yet_indexed(v16_conn) == with_contact > 0
    done = vetting.index_contacts(v16_conn, vetting_key, indexer, "c1", NOW)
    assert done == with_contact
    assert records.not_yet_indexed(v16_conn) == 0
    values = [bytes(row["value"]) for row in v16_conn.execute(
        "SELECT value FROM member_contact_index")]
    assert values and {len(value) for value in values} == {32}, "full length now"
