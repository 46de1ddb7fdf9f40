"""0007: the application_questions table, added to a populated database of version 6."""

from __future__ import annotations

import pytest

from app.membership import decisions, questions
from app.vault import db, log, migrations
from tests.migrations.databases import REPO, contents, upgrade_to

MIGRATIONS = REPO / "migrations"


@pytest.fixture
def v7_path(v5_sealed, v5_path, database_key):
    """The populated version-5 fixture brought to version 7 by the steps before this one."""
    upgrade_to(v5_path, database_key, 7)
    return v5_path


def test_0008_keeps_every_row_and_adds_an_empty_questions_table(v7_path,
                                                                database_key) -> None:
    conn = db.connect(v7_path, database_key)
    try:
        before = contents(conn)
        upgrade_to(v7_path, database_key, 8)
        after = contents(conn)
        assert db.schema_version(conn) == 8
        assert set(after) - set(before) == {"application_questions"}
        assert after["application_questions"][1] == []
        for table in before:
            assert after[table] == before[table], table
        assert log.verify(conn).ok
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def test_after_0007_an_organisation_applying_can_be_asked_and_answer(
        v7_path, database_key, server_keys) -> None:
    from datetime import UTC, datetime

    from app.membership.records import insert_member

    migrations.upgrade_database(v7_path, database_key, MIGRATIONS)
    conn = db.connect(v7_path, database_key)
    now = datetime.now(UTC)
    try:
        with db.transaction(conn):
            member_id = insert_member(conn, server_keys, kind="project",
                                      identity={"org_name": "New Project"},
                                      contact={"org_email": "new@example.org"},
                                      alert_channel="email", now=now)
        asked = decisions.request_info(conn, member_id, "website", "Which page?", "c1", now)
        questions.answer(conn, server_keys.vetting_public, member_id, "a-org", asked,
                         "This one.", now)
        assert questions.for_application(conn, member_id)[0].answered_at is not None
        assert [e.body.get("event") for e in log.entries(conn)][-2:] == [
            "information_requested", "information_answered"]
        with pytest.raises(db.IntegrityError, match="CHECK constraint failed"):
            conn.execute("UPDATE application_questions SET reason = 'gossip'")
    finally:
        conn.close()
