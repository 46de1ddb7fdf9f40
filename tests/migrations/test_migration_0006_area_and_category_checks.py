"""0006: areas and report categories get CHECKs, by rebuilding four tables."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.audit.verification import verify_log
from app.common import choices
from app.vault import db, log, migrations, sealing
from crypto import envelope
from tests.migrations.databases import REPO, contents, snapshot, upgrade_to, user_tables

MIGRATIONS = REPO / "migrations"
# Sealed places later versions added (0007): a version-5 database cannot hold them.
ADDED_LATER = {("report_additions", "body"), ("members", "identity_change"),
               ("decision_notes", "body"),
               ("contact_index_keys", "key"), ("support_requests", "note"),
               ("support_requests", "answer")}
AREA_COLUMNS = [("reports", "area"), ("alert_areas", "area"), ("member_alert_areas", "area")]
CODE_COLUMNS = [*[(t, c, choices.AREAS) for t, c in AREA_COLUMNS],
                ("report_categories", "category", choices.REPORT_CATEGORIES)]


# Sealed places that later steps added: a version-5 database cannot hold them.
PLACES_AFTER_V6 = {("application_questions", "answer"), ("support_requests", "note")}


def _upgrade(path: Path, key: bytes) -> None:
    upgrade_to(path, key, 6)


@pytest.fixture
def v5_conn(v5_sealed, v5_path: Path, database_key: bytes):
    connection = db.connect(v5_path, database_key)
    yield connection
    connection.close()


@pytest.fixture
def upgraded(v5_sealed, v5_path: Path, database_key: bytes):
    _upgrade(v5_path, database_key)
    connection = db.connect(v5_path, database_key)
    yield connection
    connection.close()


def _check_codes(conn: db.Connection, table: str, column: str) -> list[str]:
    sql = db.scalar(conn, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                    (table,))
    assert isinstance(sql, str)
    found = re.search(rf"CHECK\s*\(\s*{column}\s+IN\s*\(([^)]*)\)\s*\)", sql)
    assert found, f"{table}.{column} has no CHECK (... IN (...))"
    return re.findall(r"'([^']*)'", found.group(1))


def test_the_version_5_fixture_fills_every_table(v5_conn) -> None:
    empty = [table for table in user_tables(v5_conn)
             if db.scalar(v5_conn, f'SELECT count(*) FROM "{table}"') == 0]  # noqa: S608
    assert empty == []
    assert db.schema_version(v5_conn) == 5


def test_upgrading_a_populated_v5_database_keeps_every_row_of_every_table(
        v5_conn, v5_path, database_key) -> None:
    before = contents(v5_conn)
    _upgrade(v5_path, database_key)
    after = contents(v5_conn)
    assert db.schema_version(v5_conn) == 6
    assert after.keys() == before.keys()
    for table in before:
        assert after[table] == before[table], table


def test_the_disclosure_log_and_its_checkpoint_still_verify_after_0006(
        upgraded, server_keys) -> None:
    assert log.verify(upgraded).ok
    verdict = verify_log(upgraded, server_keys.audit_verify_key)
    assert verdict.ok, verdict.summary()
    assert verdict.entries == 3 and verdict.covered_to == 3


def test_every_sealed_value_still_opens_after_0006(upgraded, v5_sealed, vetting_key,
                                                   delivery_key) -> None:
    assert {(t, c) for t, c, _row in v5_sealed} == (
        set(sealing.SEALED_PLACES) - PLACES_AFTER_V6 - ADDED_LATER), \
        "the fixture seals something in every sealed place version 5 had"
    for (table, column, row_id), values in v5_sealed.items():
        stored = db.scalar(upgraded, f'SELECT "{column}" FROM "{table}" WHERE id = ?',  # noqa: S608
                           (int(row_id) if table == "outbox" else row_id,))
        assert isinstance(stored, bytes), (table, column, row_id)
        key = delivery_key if (table, column) == ("outbox", "payload") else vetting_key
        # The envelope layer itself, bound to the same place: it is what every opening
        # path ends in, wherever the app keeps its own open function.
        opened = envelope.open_envelope(stored, key,
                                        sealing.associated_data(table, column, row_id))
        assert json.loads(opened) == values


def test_foreign_keys_check_clean_and_still_act_after_0006(upgraded) -> None:
    assert upgraded.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.scalar(upgraded, "PRAGMA integrity_check") == "ok"
    assert db.scalar(upgraded, "PRAGMA foreign_keys") == 1
    with pytest.raises(db.IntegrityError, match="FOREIGN KEY"):
        upgraded.execute("INSERT INTO report_categories (report_id, category) "
                         "VALUES ('no-such-report', 'other')")
    # The five tables that reference reports still do, with their ON DELETE actions.
    with db.transaction(upgraded):
        upgraded.execute("DELETE FROM reports WHERE id = 'r-1'")
    for table in ("report_categories", "report_identifier_index", "report_events"):
        assert db.scalar(upgraded, f"SELECT count(*) FROM {table} "  # noqa: S608
                                   "WHERE report_id = 'r-1'") == 0, table
    assert db.scalar(upgraded, "SELECT report_id FROM alerts WHERE id = 'al-1'") is None
    assert db.scalar(upgraded, "SELECT report_id FROM contact_requests WHERE id = 'cr-1'") is None
    assert upgraded.execute("PRAGMA foreign_key_check").fetchall() == []


@pytest.mark.parametrize(("table", "column"), [(t, c) for t, c, _codes in CODE_COLUMNS])
def test_after_0006_a_code_the_app_never_writes_is_refused(upgraded, table, column) -> None:
    row = upgraded.execute(f"SELECT * FROM {table} LIMIT 1").fetchone()  # noqa: S608
    values = dict(zip(row.keys(), tuple(row), strict=True))
    if table == "reports":
        values["id"] = "r-new"
    values[column] = "atlantis"
    with pytest.raises(db.IntegrityError, match="CHECK constraint failed"):
        upgraded.execute(f"INSERT INTO {table} ({', '.join(values)}) "  # noqa: S608
                         f"VALUES ({', '.join('?' * len(values))})", list(values.values()))


def test_a_v5_database_holding_an_area_the_app_never_wrote_stays_at_version_5(
        v5_conn, v5_path, database_key) -> None:
    v5_conn.execute("UPDATE reports SET area = 'atlantis' WHERE id = 'r-3'")
    before = snapshot(v5_conn)
    with pytest.raises(migrations.MigrationError) as refused:
        _upgrade(v5_path, database_key)
    assert "CHECK constraint failed" in str(refused.value)
    assert "stays at version 5" in str(refused.value)
    assert snapshot(v5_conn) == before


@pytest.mark.parametrize(("table", "column", "codes"), CODE_COLUMNS)
def test_the_check_lists_are_exactly_the_codes_in_choices(tmp_path, database_key, table,
                                                          column, codes) -> None:
    path = tmp_path / "new.db"
    db.init_database(path, database_key, REPO / "schema.sql")
    conn = db.connect(path, database_key)
    try:
        listed = _check_codes(conn, table, column)
    finally:
        conn.close()
    assert sorted(listed) == sorted(choices.values(codes))
    assert len(listed) == len(set(listed))
