"""0014: an index on alerts in the feed's order, so a feed page stops after its rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.alerts import service
from app.vault import db, log
from tests.migrations.databases import contents, upgrade_to

FEED_QUERY = ("SELECT a.id FROM alerts a JOIN alert_versions v "  # noqa: S608  # constant SQL
              "ON v.alert_id = a.id AND v.version = a.current_version" + service._FEED_WHERE +
              " ORDER BY a.published_at DESC, a.id LIMIT ? OFFSET ?")


@pytest.fixture
def v13_path(v5_sealed, v5_path: Path, database_key: bytes) -> Path:
    """A populated version-13 database: the v5 fixture taken through every step before."""
    upgrade_to(v5_path, database_key, 13)
    return v5_path


@pytest.fixture
def v13_conn(v13_path: Path, database_key: bytes):
    connection = db.connect(v13_path, database_key)
    yield connection
    connection.close()


def _plan(conn: db.Connection) -> list[str]:
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + FEED_QUERY,
                                           ("m-none", "m-none", 21, 0))]


def test_upgrading_a_populated_v13_database_keeps_every_row_and_adds_the_feed_index(
        v13_conn, v13_path, database_key) -> None:
    assert db.schema_version(v13_conn) == 13
    before = contents(v13_conn)
    assert before["alerts"][1], "the fixture has alerts to index"
    upgrade_to(v13_path, database_key, 14)
    assert db.schema_version(v13_conn) == 14
    assert contents(v13_conn) == before
    assert db.scalar(v13_conn, "SELECT tbl_name FROM sqlite_master WHERE type = 'index' "
                               "AND name = 'alerts_feed'") == "alerts"
    assert db.scalar(v13_conn, "PRAGMA integrity_check") == "ok"
    assert log.verify(v13_conn).ok


def test_after_0014_the_feed_reads_published_alerts_in_index_order_without_sorting(
        v13_conn, v13_path, database_key) -> None:
    assert any("TEMP B-TREE" in step for step in _plan(v13_conn)), "sorted before 0014"
    upgrade_to(v13_path, database_key, 14)
    upgraded = db.connect(v13_path, database_key)  # plans made afresh, with the new index
    try:
        plan = _plan(upgraded)
        assert any("USING INDEX alerts_feed" in step for step in plan), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan
        # The index changes the plan, not the answer: the published alert, as before.
        assert [row[0] for row in upgraded.execute(FEED_QUERY,
                                                   ("m-none", "m-none", 21, 0))] == ["al-1"]
    finally:
        upgraded.close()
