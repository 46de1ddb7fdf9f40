"""0011: report references, withdrawals and additions; confirmed alert settings; an
organisation's sealed later changes. Tested on a populated version-10 database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.audit.verification import verify_log
from app.common.ids import REFERENCE_ALPHABET
from app.vault import db, log, sealing
from crypto import envelope
from tests.migrations.databases import contents, upgrade_to

REFERENCE = re.compile(rf"[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}")
NEW_COLUMNS = {"members": ("settings_confirmed_at", "identity_change"),
               "reports": ("reference", "withdrawn_at")}


@pytest.fixture
def v6(v5_sealed, v5_path: Path, database_key: bytes):
    """The populated fixture database, brought to version 10 by the real steps before 0011."""
    upgrade_to(v5_path, database_key, 10)
    connection = db.connect(v5_path, database_key)
    assert db.schema_version(connection) == 10
    yield connection
    connection.close()


def _upgrade(path: Path, key: bytes) -> None:
    upgrade_to(path, key, 11)


def test_upgrading_a_populated_v10_database_keeps_every_row_and_adds_only_new_columns(
        v6, v5_path, database_key) -> None:
    before = contents(v6)
    _upgrade(v5_path, database_key)
    after = contents(v6)
    assert db.schema_version(v6) == 11
    assert set(after) == set(before) | {"report_additions"}
    assert after["report_additions"][1] == []
    for table, (columns, rows) in before.items():
        added = NEW_COLUMNS.get(table, ())
        new_columns, new_rows = after[table]
        assert new_columns == columns + added, table
        kept = sorted((row[:len(columns)] for row in new_rows), key=repr)
        assert kept == rows, table


def test_every_existing_report_gets_its_own_reference_and_nothing_is_marked(
        v6, v5_path, database_key) -> None:
    _upgrade(v5_path, database_key)
    rows = v6.execute("SELECT reference, withdrawn_at FROM reports").fetchall()
    references = [row["reference"] for row in rows]
    assert references and all(REFERENCE.fullmatch(r) for r in references)
    assert len(set(references)) == len(references)
    assert all(row["withdrawn_at"] is None for row in rows)
    unconfirmed = db.scalar(v6, "SELECT count(*) FROM members "
                                "WHERE settings_confirmed_at IS NULL")
    assert unconfirmed == db.scalar(v6, "SELECT count(*) FROM members"), \
        "every existing member is asked once to confirm their alert settings"
    with pytest.raises(db.IntegrityError, match="UNIQUE"):
        v6.execute("UPDATE reports SET reference = ? WHERE id != ?",
                   (references[0], rows[0]["reference"]))


def test_the_log_verifies_and_every_sealed_value_still_opens_after_0011(
        v6, v5_sealed, v5_path, database_key, server_keys, vetting_key,
        delivery_key) -> None:
    _upgrade(v5_path, database_key)
    assert log.verify(v6).ok
    verdict = verify_log(v6, server_keys.audit_verify_key)
    assert verdict.ok, verdict.summary()
    for (table, column, row_id), values in v5_sealed.items():
        if (table, column) == ("outbox", "payload"):
            continue  # 0009 erased the reset codes of finished notices, by design
        stored = db.scalar(v6, f'SELECT "{column}" FROM "{table}" WHERE id = ?',  # noqa: S608
                           (int(row_id) if table == "outbox" else row_id,))
        key = delivery_key if (table, column) == ("outbox", "payload") else vetting_key
        opened = envelope.open_envelope(bytes(stored), key,
                                        sealing.associated_data(table, column, row_id))
        assert json.loads(opened) == values


def test_after_0011_additions_cascade_with_their_report_and_keys_still_act(
        v6, v5_path, database_key) -> None:
    _upgrade(v5_path, database_key)
    with db.transaction(v6):
        v6.execute("INSERT INTO report_additions (id, report_id, created_at, body) "
                   "VALUES ('ad-1', 'r-1', '2026-03-01T10:00:00+00:00', x'00')")
    with pytest.raises(db.IntegrityError, match="FOREIGN KEY"):
        v6.execute("INSERT INTO report_additions (id, report_id, created_at, body) "
                   "VALUES ('ad-2', 'no-such-report', '2026-03-01T10:00:00+00:00', x'00')")
    with db.transaction(v6):
        v6.execute("DELETE FROM reports WHERE id = 'r-1'")
    assert db.scalar(v6, "SELECT count(*) FROM report_additions") == 0
    assert v6.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.scalar(v6, "PRAGMA integrity_check") == "ok"
