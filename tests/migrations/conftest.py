from __future__ import annotations

from pathlib import Path

import pytest

from app.vault import db
from crypto import keystore
from tests.conftest import DELIVERY_PASSPHRASE
from tests.migrations.databases import upgrade_to
from tests.migrations.version5 import Sealed, build_v5, populate_v5


@pytest.fixture
def v5_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "uglymugs-v5.db"


@pytest.fixture
def v5_sealed(v5_path: Path, database_key: bytes, server_keys: keystore.ServerKeys,
              keys_dir: Path) -> Sealed:
    """A populated version-5 database at v5_path; returns what its envelopes hold."""
    build_v5(v5_path, database_key)
    conn = db.connect(v5_path, database_key)
    try:
        return populate_v5(conn, server_keys, keystore.load_audit_signing_key(keys_dir))
    finally:
        conn.close()


@pytest.fixture
def at_version(v5_sealed: Sealed, v5_path: Path, database_key: bytes):
    """Open the populated version-5 fixture brought to a version by the real migrations/
    steps (what a step's own test starts from); every connection it opens is closed after."""
    opened: list[db.Connection] = []

    def open_at(version: int) -> db.Connection:
        upgrade_to(v5_path, database_key, version)
        connection = db.connect(v5_path, database_key)
        opened.append(connection)
        assert db.schema_version(connection) == version
        return connection

    yield open_at
    for connection in opened:
        connection.close()


@pytest.fixture(scope="session")
def delivery_key(keys_dir: Path):
    return keystore.load_delivery_private_key(keys_dir, DELIVERY_PASSPHRASE)
