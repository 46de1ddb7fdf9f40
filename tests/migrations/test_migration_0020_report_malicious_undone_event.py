"""0020: report_events may record a malicious mark being taken off. Tested on a populated
version-19 database."""

from __future__ import annotations

import pytest

from app.audit.verification import verify_log
from app.vault import db, log
from tests.migrations.databases import contents, fresh_schema, table_sql, upgrade_to


@pytest.fixture
def v19(at_version):
    """The populated fixture database, brought to version 19 by the real steps before 0020."""
    return at_version(19)


def test_upgrading_a_populated_v19_database_keeps_every_row_and_its_id(
        v19, v5_path, database_key) -> None:
    before = contents(v19)
    assert before["report_events"][1], "the fixture has report events to carry over"
    upgrade_to(v5_path, database_key, 20)
    after = contents(v19)
    assert db.schema_version(v19) == 20
    assert after == before, "the same tables, columns, rows and ids"


def test_after_0020_the_new_action_is_accepted_and_others_still_refused(
        v19, v5_path, database_key, server_keys) -> None:
    upgrade_to(v5_path, database_key, 20)
    report_id = db.scalar(v19, "SELECT id FROM reports LIMIT 1")
    v19.execute("INSERT INTO report_events (report_id, action, at) "
                "VALUES (?, 'malicious_undone', '2026-12-01T00:00:00+00:00')", (report_id,))
    with pytest.raises(db.IntegrityError, match="CHECK"):
        v19.execute("INSERT INTO report_events (report_id, action, at) "
                    "VALUES (?, 'deleted', '2026-12-01T00:00:00+00:00')", (report_id,))
    with pytest.raises(db.IntegrityError, match="FOREIGN KEY"):
        v19.execute("INSERT INTO report_events (report_id, action, at) "
                    "VALUES ('no-such-report', 'review', '2026-12-01T00:00:00+00:00')")
    assert v19.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.scalar(v19, "PRAGMA integrity_check") == "ok"
    assert log.verify(v19).ok
    assert verify_log(v19, server_keys.audit_verify_key).ok


def test_0020_makes_the_table_schema_sql_declares(v19, v5_path, tmp_path,
                                                  database_key) -> None:
    upgrade_to(v5_path, database_key, 20)
    with fresh_schema(tmp_path, database_key) as fresh:
        assert table_sql(v19, "report_events") == table_sql(fresh, "report_events")
