"""0019: support requests gain the reporter's sealed answer and when it was given.
Tested on a populated version-18 database."""

from __future__ import annotations

import pytest

from app.audit.verification import verify_log
from app.vault import db, log
from tests.migrations.databases import contents, fresh_schema, table_sql, upgrade_to


@pytest.fixture
def v18(at_version):
    """The populated fixture database, brought to version 18 by the real steps before 0019."""
    return at_version(18)


def test_upgrading_a_populated_v18_database_keeps_every_row_with_no_answer(
        v18, v5_path, database_key) -> None:
    before = contents(v18)
    assert before["support_requests"][1], "the fixture has support requests to carry over"
    upgrade_to(v5_path, database_key, 19)
    after = contents(v18)
    assert db.schema_version(v18) == 19
    assert set(after) == set(before)
    for table in before:
        if table != "support_requests":
            assert after[table] == before[table], table
    columns, rows = after["support_requests"]
    assert columns == (*before["support_requests"][0], "answer", "answered_at")
    assert sorted((row[:-2] for row in rows), key=repr) == before["support_requests"][1]
    assert {row[-2:] for row in rows} == {(None, None)}


def test_after_0019_the_checks_hold_and_the_log_verifies(v18, v5_path, database_key,
                                                         server_keys) -> None:
    upgrade_to(v5_path, database_key, 19)
    assert v18.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.scalar(v18, "PRAGMA integrity_check") == "ok"
    assert log.verify(v18).ok
    assert verify_log(v18, server_keys.audit_verify_key).ok
    request_id = db.scalar(v18, "SELECT id FROM support_requests LIMIT 1")
    # STRICT still holds for the added columns.
    with pytest.raises(db.IntegrityError, match="cannot store"):
        v18.execute("UPDATE support_requests SET answered_at = x'00' WHERE id = ?",
                    (request_id,))


def test_0019_makes_the_table_schema_sql_declares(v18, v5_path, tmp_path,
                                                  database_key) -> None:
    upgrade_to(v5_path, database_key, 19)
    with fresh_schema(tmp_path, database_key) as fresh:
        assert table_sql(v18, "support_requests") == table_sql(fresh, "support_requests")
