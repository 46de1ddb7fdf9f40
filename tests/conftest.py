from __future__ import annotations

import logging
import os
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


def _remember_url_builders() -> None:
    """Compile each URL rule's builder once per process, not once per app.

    Werkzeug compiles every rule of every new app into two Python functions (through
    `ast` and `compile`): more than half of what `create_app` costs, paid again by each of
    the suite's thousand-odd apps for the same ninety rules. The generated code depends only
    on the rule's text, its parsed parts, its defaults and whether unknown arguments are
    appended; it reads the converters from the rule it is bound to at call time, so one
    compiled function serves every app's copy of a rule. A rule whose defaults fill one of
    its own variables bakes the converter's output in, so it is compiled afresh each time.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    compiled: dict[tuple[object, ...], object] = {}

    def remembered(self: Rule, append_unknown: bool = True):  # type: ignore[no-untyped-def]
        defaults = self.defaults or {}
        if any(dynamic and name in defaults for dynamic, name in self._trace):
            return compile_builder(self, append_unknown)
        key = (self.rule, tuple(self._trace), tuple(defaults), append_unknown)
        if key not in compiled:
            compiled[key] = compile_builder(self, append_unknown)
        return compiled[key]

    Rule._compile_builder = remembered  # type: ignore[method-assign]


_remember_url_builders()


def _share_compiled_templates() -> None:
    """Compile each template once per process, not once per app's Jinja environment.

    Lexing, parsing and compiling the templates was the largest cost of a typical page
    test after the apps themselves. Jinja's own bytecode cache checks each template's
    source checksum, so an edited template is compiled afresh; the slot also names every
    environment setting that changes the generated code (delimiters, autoescape,
    extensions, new-style gettext), so code is only shared between identical setups.
    """
    from flask import Flask
    from jinja2.bccache import Bucket, BytecodeCache

    def name_of(value: object) -> object:
        return getattr(getattr(value, "__func__", value), "__qualname__", value)

    class SharedTemplateCode(BytecodeCache):
        def __init__(self) -> None:
            self.code: dict[tuple[object, ...], object] = {}

        def slot(self, bucket: Bucket) -> tuple[object, ...]:
            env = bucket.environment
            return (bucket.key, bucket.checksum, env.block_start_string,
                    env.block_end_string, env.variable_start_string,
                    env.variable_end_string, env.comment_start_string,
                    env.comment_end_string, env.line_statement_prefix,
                    env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks,
                    env.newline_sequence, env.keep_trailing_newline, env.optimized,
                    env.is_async, name_of(env.autoescape), name_of(env.finalize),
                    tuple(sorted(env.extensions)),
                    getattr(env, "newstyle_gettext", None))

        def load_bytecode(self, bucket: Bucket) -> None:
            bucket.code = self.code.get(self.slot(bucket))  # type: ignore[assignment]

        def dump_bytecode(self, bucket: Bucket) -> None:
            self.code[self.slot(bucket)] = bucket.code

    Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": SharedTemplateCode()}


_share_compiled_templates()


def _remember_key_file_derivations() -> None:
    """Derive each key file's wrapping key once per process, not once per opening.

    Every unlock through the pages opens a coordinator's holder file with Argon2id at the
    INTERACTIVE limits (about 65 ms, the floor crypto/keyfile accepts), and the suite opens
    the same few ceremony files with the same passphrases more than a thousand times.
    `argon2id.kdf` is a pure function of its arguments, so its answer is remembered for
    the exact (length, passphrase, salt, limits, encoder): a wrong passphrase, another salt
    (every newly written file has its own) or other limits is derived afresh and fails or
    succeeds exactly as before. Password hashing (argon2id.str and verify, salted afresh
    each time and counted by tests/work.py) does not go through it.
    """
    kdf = argon2id.kdf
    derived: dict[tuple[object, ...], bytes] = {}

    def remembered(*args: object, **kwargs: object) -> bytes:
        key = (args, tuple(sorted(kwargs.items())))
        if key not in derived:
            derived[key] = kdf(*args, **kwargs)  # type: ignore[arg-type]
        return derived[key]

    argon2id.kdf = remembered  # type: ignore[assignment]


_remember_key_file_derivations()

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


_unwrapped: dict[tuple[bytes, bytes], BoxPrivateKey] = {}


def vetting_private_key_in(keys_dir: Path) -> BoxPrivateKey:
    """The vetting private key, as the first holder's wrap gives it.

    Opening the holder file costs an Argon2id derivation (~65 ms at the test limits), and
    tests ask for the same key hundreds of times; the answer is remembered for the exact
    bytes of the holder file and its wrap, so a changed file is opened afresh.
    """
    first = keystore.read_first_holders(keys_dir)
    assert first is not None
    path = holder_file(keys_dir, 1)
    file_bytes = path.read_bytes()
    for holder in first.holders:
        remembered = _unwrapped.get((file_bytes, holder.wrap))
        if remembered is not None:
            return remembered
    holder_key = read_private_key_file(path, holder_passphrase(1))
    [wrap] = [h.wrap for h in first.holders if h.public == holder_key.public]
    _unwrapped[(file_bytes, wrap)] = key = unwrap_for_holder(wrap, holder_key,
                                                             first.vetting_public)
    return key


@pytest.fixture
def config(tmp_path: Path, keys_dir: Path) -> Config:
    return config_in(tmp_path, keys_dir)


def config_in(folder: Path, keys_dir: Path) -> Config:
    """The tests' configuration, its database in `folder` (the config fixture's, or a
    module's own folder for a server that module shares)."""
    return Config(
        keys_dir=keys_dir,
        database_path=folder / "var" / "uglymugs.db",
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


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory, keys_dir: Path) -> bytes:
    """The bytes of a new database as init-db leaves it, made once per run (per worker).

    Running schema.sql and storing the holders costs tens of milliseconds, paid by more
    than a thousand tests; copying the finished file gives each test its own identical,
    independent database for a fraction of that.
    """
    key = keystore.load_server_keys(keys_dir).database_key
    template = Config(keys_dir=keys_dir,
                      database_path=tmp_path_factory.mktemp("template") / "uglymugs.db")
    db.init_database(template.database_path, key, template.schema_path)
    install_holders(template, key)
    # The last connection to close checkpoints and removes the WAL, so the main file is
    # the whole database; a sidecar left behind would mean a copy missing its last writes.
    assert not any(template.database_path.parent.glob("*-wal"))
    return template.database_path.read_bytes()


def new_database(path: Path, template: bytes) -> None:
    """Put a copy of the template database at `path`, as init_database would create it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(template)


@pytest.fixture
def app(config: Config, template_database: bytes) -> Flask:
    new_database(config.database_path, template_database)
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
