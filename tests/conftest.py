from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
import sqlcipher3
from flask import Flask
from nacl.pwhash import argon2id

from app import create_app
from app.vault import db
from app.web.config import Config
from crypto import keystore
from crypto.keyfile import read_private_key_file
from crypto.keys import BoxPrivateKey

VETTING_PASSPHRASE = "correct horse battery staple vetting"
DELIVERY_PASSPHRASE = "correct horse battery staple delivery"


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One key ceremony for the whole run (INTERACTIVE limits keep it quick)."""
    path = tmp_path_factory.mktemp("ceremony") / "keys"
    keystore.init_keys(
        path,
        vetting_passphrase=VETTING_PASSPHRASE,
        delivery_passphrase=DELIVERY_PASSPHRASE,
        kdf_opslimit=argon2id.OPSLIMIT_INTERACTIVE,
        kdf_memlimit=argon2id.MEMLIMIT_INTERACTIVE,
    )
    return path


@pytest.fixture(scope="session")
def vetting_key(keys_dir: Path) -> BoxPrivateKey:
    return read_private_key_file(keys_dir / "vetting.key", VETTING_PASSPHRASE)


@pytest.fixture
def config(tmp_path: Path, keys_dir: Path) -> Config:
    return Config(
        keys_dir=keys_dir,
        database_path=tmp_path / "var" / "uglymugs.db",
        testing=True,
        cheap_password_hashing=True,
    )


@pytest.fixture
def database_key(keys_dir: Path) -> bytes:
    return keystore.load_server_keys(keys_dir).database_key


@pytest.fixture
def app(config: Config, database_key: bytes) -> Flask:
    db.init_database(config.database_path, database_key, config.schema_path)
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
