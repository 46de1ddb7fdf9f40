"""Threat row: someone holding the database file (and its WAL, shared memory and backups).

They have those files and nothing else: no key file, no login. What they must not get is
anything but ciphertext, and ciphertext whose size says no more than a padding bucket.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlcipher3

from app.vault import backup, db
from app.web.state import state
from crypto import envelope
from tests import canary
from tests.people import make_report
from tests.threats.planted import Planted, plant


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, keys_dir: Path) -> Planted:
    return plant(tmp_path_factory.mktemp("file-alone"), keys_dir)


@pytest.fixture(scope="module")
def stolen(planted: Planted, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every file the adversary takes: the database, its sidecars and a fresh backup."""
    backups = tmp_path_factory.mktemp("stolen-backups")
    result = planted.app.test_cli_runner().invoke(args=["backup", "create", "--to",
                                                        str(backups)])
    assert result.exit_code == 0, result.output
    files = [*canary.database_files(state(planted.app).config.database_path),
             *sorted(p for p in backups.rglob("*") if p.is_file())]
    return files


def test_the_stolen_files_are_the_database_its_wal_and_a_backup(stolen: list[Path]) -> None:
    names = [p.name for p in stolen]
    assert any(n.endswith("-wal") for n in names), "the WAL holds the latest pages"
    assert any(n.endswith("-shm") for n in names)
    assert len(backup.backups_in(stolen[-1].parent)) == 1


def test_no_canary_in_any_byte_of_the_database_wal_or_backup(planted: Planted,
                                                             stolen: list[Path]) -> None:
    # The canaries are real: the coordinator's question is plain under the database key,
    # and one sealed value opens with it too (so the scan is not of empty files).
    dump = canary.decrypted_dump(state(planted.app).config.database_path,
                                 planted.database_key)
    assert canary.find(dump, planted.unsealed_private), "planted through the real pages"
    assert len(planted.canaries) >= 25
    for path in stolen:
        data = path.read_bytes()
        assert data, path.name
        assert canary.find(data, planted.canaries) == [], path.name


def test_the_database_does_not_open_as_sqlite_without_the_key(planted: Planted,
                                                              stolen: list[Path]) -> None:
    database = state(planted.app).config.database_path
    for path in stolen:
        assert b"SQLite format 3" not in path.read_bytes(), path.name
    plain = sqlite3.connect(database)
    try:
        with pytest.raises(sqlite3.DatabaseError):
            plain.execute("SELECT count(*) FROM sqlite_master").fetchall()
    finally:
        plain.close()
    # SQLCipher itself, with no key or a guessed one, sees no tables either.
    for pragma in ("", "PRAGMA key = 'password'", f"PRAGMA key = \"x'{'00' * 32}'\""):
        guess = sqlcipher3.connect(str(database))
        try:
            if pragma:
                guess.execute(pragma)
            with pytest.raises(sqlcipher3.DatabaseError):
                guess.execute("SELECT count(*) FROM sqlite_master").fetchall()
        finally:
            guess.close()


def _narrative_payload(narrative: str) -> int:
    """The bytes sealing.seal_group encrypts for a report's narrative group."""
    return len(json.dumps({"narrative": narrative, "place": ""}, sort_keys=True,
                          separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def test_envelope_sizes_are_padded_to_buckets_not_exact_lengths(planted: Planted) -> None:
    """If the database key ever leaked too, sizes would still say only a bucket."""
    narratives = {"short": "He shouted.", "medium": "He followed me home. " * 8,
                  "long": "He followed me to the car park and would not leave. " * 7,
                  "longer": "He took the money back and threatened me. " * 50}
    sizes: dict[str, int] = {}
    conn = planted.connect()
    try:
        for name, narrative in narratives.items():
            report_id = make_report(planted.app, planted.member, narrative=narrative)
            sizes[name] = db.scalar(conn, "SELECT length(narrative) FROM reports WHERE id = ?",
                                    (report_id,))
    finally:
        conn.close()
    payloads = {name: _narrative_payload(text) for name, text in narratives.items()}
    buckets = {name: envelope.padded_length(n) for name, n in payloads.items()}
    # Lengths 11 and 168: one bucket, one size.
    assert payloads["short"] != payloads["medium"]
    assert buckets["short"] == buckets["medium"] == envelope.PAD_BLOCK
    assert sizes["short"] == sizes["medium"]
    # Longer ones land in the Padmé buckets, each a multiple of 256, growing by a bucket.
    assert len(set(buckets.values())) == 3
    overhead = sizes["short"] - buckets["short"]
    for name, size in sizes.items():
        assert buckets[name] % envelope.PAD_BLOCK == 0
        assert size - overhead == buckets[name], name
        assert size - overhead > payloads[name], "never shorter than the payload"
