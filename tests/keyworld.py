"""A populated database with key holders, in a keys folder of its own, for key commands.

Built from the version-5 fixture (tests/migrations/version5.py), which seals something in
every sealed place, upgraded to the current schema, with the session ceremony's first
holders installed. The keys folder is a copy, because rotation rewrites its vetting.pub
and the session's folder is shared by every test.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app import create_app
from app.vault import db, holders, migrations
from app.web.config import Config
from crypto import envelope, keystore
from crypto.keys import BoxPrivateKey
from tests.conftest import holder_file, holder_passphrase
from tests.migrations.databases import REPO
from tests.migrations.version5 import Sealed, build_v5, populate_v5

# The version-5 fixture's coordinator logins.
COORDINATOR_ONE, COORDINATOR_TWO = "coordinator-one", "coordinator-two"


@dataclass(frozen=True)
class World:
    config: Config
    sealed: Sealed
    database_key: bytes
    tmp: Path

    def connect(self) -> db.Connection:
        return db.connect(self.config.database_path, self.database_key)

    def cli(self, *args: str, input: str | None = None):
        return create_app(self.config).test_cli_runner().invoke(args=list(args), input=input)

    def holder(self, number: int) -> Path:
        return holder_file(self.config.keys_dir, number)

    def passphrase_file(self, number: int) -> Path:
        path = self.tmp / f"passphrase-{number}.txt"
        if not path.exists():
            path.write_text(holder_passphrase(number) + "\n")
        return path

    def text_file(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(text + "\n")
        return path


def build_world(tmp: Path, keys_dir: Path, database_key: bytes) -> World:
    own_keys = tmp / "ceremony" / "keys"
    shutil.copytree(keys_dir.parent, own_keys.parent)
    path = tmp / "var" / "uglymugs.db"
    build_v5(path, database_key)
    conn = db.connect(path, database_key)
    try:
        sealed = populate_v5(conn, keystore.load_server_keys(own_keys),
                             keystore.load_audit_signing_key(own_keys))
        migrations.upgrade(conn, migrations.discover(REPO / "migrations"))
        # Migration 0009 erases the reset codes of finished notices: they open no more.
        erased = {place for place in sealed if place[:2] == ("outbox", "payload")
                  and conn.execute("SELECT payload FROM outbox WHERE id = ?",
                                   (place[2],)).fetchone()["payload"] is None}
        sealed = {place: values for place, values in sealed.items() if place not in erased}
        first = keystore.read_first_holders(own_keys)
        assert first is not None
        holders.install_first(conn, first, datetime.now(UTC))
    finally:
        conn.close()
    config = Config(keys_dir=own_keys, database_path=path, testing=True,
                    cheap_password_hashing=True)
    return World(config, sealed, database_key, tmp)


def envelopes(conn: db.Connection) -> dict[tuple[str, str, str], bytes]:
    """Every envelope in the database, by (table, column, row id)."""
    found = {}
    for table, column, row_id in _places(conn):
        found[(table, column, row_id)] = bytes(db.scalar(
            conn, f"SELECT {column} FROM {table} WHERE id = ?", (row_id,)))  # noqa: S608
    return found


def _places(conn: db.Connection):
    from app.vault.sealing import SEALED_PLACES

    for table, column in SEALED_PLACES:
        for row in conn.execute(f"SELECT id FROM {table} "  # noqa: S608
                                f"WHERE {column} IS NOT NULL ORDER BY id"):
            yield table, column, str(row["id"])


def opened(conn: db.Connection, vetting: BoxPrivateKey,
           delivery: BoxPrivateKey) -> dict[tuple[str, str, str], dict[str, str]]:
    """Every sealed value group, opened at the envelope layer with the key it is for."""
    import json

    from app.vault.rotation import DELIVERY_ONLY_PLACES
    from app.vault.sealing import associated_data

    result = {}
    for (table, column, row_id), sealed in envelopes(conn).items():
        key = delivery if (table, column) in DELIVERY_ONLY_PLACES else vetting
        payload = envelope.open_envelope(sealed, key, associated_data(table, column, row_id))
        result[(table, column, row_id)] = json.loads(payload)
    return result


def current_vetting_key(world: World, number: int = 1) -> BoxPrivateKey:
    conn = world.connect()
    try:
        key = holders.open_holder_key(world.holder(number).read_bytes(),
                                      holder_passphrase(number))
        return holders.open_vetting_keys(conn, key)[holders.VettingKeyState.CURRENT]
    finally:
        conn.close()
