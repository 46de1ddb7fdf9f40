from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlcipher3
from flask import Flask
from nacl.pwhash import argon2id

from app import create_app
from app.vault import db, holders
from app.web.config import Config
from crypto import keystore
from crypto.holder_wrap import unwrap_for_holder
from crypto.keyfile import read_private_key_file
from crypto.keys import BoxPrivateKey

DELIVERY_PASSPHRASE = "correct horse battery staple delivery"
# The ceremony makes this many coordinator key holders; each test database starts with
# all of them unbound, and tests/people.make_staff binds the next one to each coordinator.
HOLDER_COUNT = 6
FAST_KDF = {"kdf_opslimit": argon2id.OPSLIMIT_INTERACTIVE,
            "kdf_memlimit": argon2id.MEMLIMIT_INTERACTIVE}


def holder_passphrase(number: int) -> str:
    return f"correct horse battery staple holder {number}"


def holder_file(keys_dir: Path, number: int) -> Path:
    """Key holder files live beside keys/, never in it: the server does not hold them."""
    return keys_dir.parent / "holders" / f"holder-{number}.key"


# The first holder's passphrase, under the name tests used for the shared vetting key's.
VETTING_PASSPHRASE = holder_passphrase(1)


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One key ceremony for the whole run (INTERACTIVE limits keep it quick)."""
    path = tmp_path_factory.mktemp("ceremony") / "keys"
    holder_file(path, 1).parent.mkdir(parents=True)
    keystore.init_keys(
        path,
        delivery_passphrase=DELIVERY_PASSPHRASE,
        holders=[keystore.HolderOut(holder_file(path, n), holder_passphrase(n))
                 for n in range(1, HOLDER_COUNT + 1)],
        **FAST_KDF,
    )
    return path


@pytest.fixture(scope="session")
def vetting_key(keys_dir: Path) -> BoxPrivateKey:
    return vetting_private_key_in(keys_dir)


def vetting_private_key_in(keys_dir: Path) -> BoxPrivateKey:
    """The vetting private key, as the first holder's wrap gives it."""
    first = keystore.read_first_holders(keys_dir)
    assert first is not None
    holder_key = read_private_key_file(holder_file(keys_dir, 1), holder_passphrase(1))
    [wrap] = [h.wrap for h in first.holders if h.public == holder_key.public]
    return unwrap_for_holder(wrap, holder_key, first.vetting_public)


@pytest.fixture
def config(tmp_path: Path, keys_dir: Path) -> Config:
    return Config(
        keys_dir=keys_dir,
        database_path=tmp_path / "var" / "uglymugs.db",
        testing=True,
        cheap_password_hashing=True,
        # Most tests stand for a deployment with a text-message gateway; the tests of the
        # default (none, so no text alerts offered) turn it off.
        text_alerts=True,
        # Hundreds of short-lived apps: no background checkpointer thread each
        # (tests/test_storage.py runs the checkpointer on its own).
        checkpoint_seconds=None,
    )


@pytest.fixture
def database_key(keys_dir: Path) -> bytes:
    return keystore.load_server_keys(keys_dir).database_key


def install_holders(config: Config, database_key: bytes) -> None:
    """What init-db does after creating a database: store the ceremony's first holders."""
    first = keystore.read_first_holders(config.keys_dir)
    assert first is not None
    connection = db.connect(config.database_path, database_key)
    try:
        holders.install_first(connection, first, datetime.now(UTC))
    finally:
        connection.close()


@pytest.fixture
def app(config: Config, database_key: bytes) -> Flask:
    db.init_database(config.database_path, database_key, config.schema_path)
    install_holders(config, database_key)
    return create_app(config)


@pytest.fixture
def client(app: Flask):
    return app.test_client()


class TupleRow(sqlcipher3.Row):
    """A row the service reads by name, which tests may also compare with a plain tuple.

    Only the tests' own connection uses it: `assert row == ("active", None)` says what is
    stored more plainly than one assertion per column.
    """

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple):
            return tuple(self) == other
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __lt__(self, other: object) -> bool:
        return tuple(self) < (tuple(other) if isinstance(other, sqlcipher3.Row) else other)

    def __repr__(self) -> str:
        return repr(tuple(self))


@pytest.fixture
def conn(app: Flask, config: Config, database_key: bytes):
    connection = db.connect(config.database_path, database_key)
    connection.row_factory = TupleRow
    yield connection
    connection.close()


@pytest.fixture
def server_keys(keys_dir: Path) -> keystore.ServerKeys:
    return keystore.load_server_keys(keys_dir)


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def with_config(config: Config, **changes: object) -> Config:
    return replace(config, **changes)


@pytest.fixture(scope="session")
def translations_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every catalogue in translations/, compiled as `make translations` does (no fuzzy).

    Compiled afresh into a temporary folder, so the tests read the .po files as they are
    in the checkout, whatever .mo files an earlier build left beside them.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    root = tmp_path_factory.mktemp("translations")
    for po in sorted((Path(__file__).resolve().parent.parent / "translations")
                     .glob("*/LC_MESSAGES/messages.po")):
        locale = po.parts[-3]
        with po.open("rb") as source:
            catalog = read_po(source, locale=locale)
        target = root / locale / "LC_MESSAGES" / "messages.mo"
        target.parent.mkdir(parents=True)
        with target.open("wb") as out:
            write_mo(out, catalog, use_fuzzy=False)
    return root
