"""0016: audit_cosignatures, for the audit key's handover checkpoints; nothing else moves."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import nacl.signing
import pytest

from app.audit.checkpoints import hand_over, make_checkpoint
from app.audit.verification import verify_log
from app.vault import db, log
from crypto import keystore
from tests.migrations.databases import REPO, contents, upgrade_to

MIGRATIONS = REPO / "migrations"


@pytest.fixture
def v15_path(v5_sealed, v5_path: Path, database_key: bytes) -> Path:
    """A populated version-15 database: the v5 fixture taken through every step before."""
    upgrade_to(v5_path, database_key, 15)
    return v5_path


def test_upgrading_a_populated_v15_database_keeps_every_row_and_adds_the_table(
        v15_path, database_key) -> None:
    conn = db.connect(v15_path, database_key)
    assert db.schema_version(conn) == 15
    before = contents(conn)
    assert before["audit_checkpoints"][1], "the fixture has checkpoints to keep verifying"
    upgrade_to(v15_path, database_key, 16)
    after = contents(conn)
    assert db.schema_version(conn) == 16
    assert {table: rows for table, rows in after.items() if table != "audit_cosignatures"} \
        == before
    assert after["audit_cosignatures"][1] == []
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_after_0016_old_checkpoints_verify_and_a_handover_can_be_stored(
        v15_path, database_key, keys_dir) -> None:
    upgrade_to(v15_path, database_key, 16)
    conn = db.connect(v15_path, database_key)
    old = keystore.load_audit_signing_key(keys_dir)
    assert verify_log(conn, old.verify_key).ok
    new = nacl.signing.SigningKey.generate()
    hand_over(conn, old, new, datetime.now(UTC))
    assert log.verify(conn).ok
    verdict = verify_log(conn, new.verify_key)
    assert verdict.ok, verdict.summary()
    assert make_checkpoint(conn, new, datetime.now(UTC)) is None  # the head is covered
