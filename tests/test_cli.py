from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from nacl.pwhash import argon2id

from app import create_app
from app.web.config import Config
from crypto.keyfile import read_private_key_file, read_private_key_header


@pytest.fixture
def fresh(tmp_path: Path) -> Config:
    """No keys and no database yet. The ceremony seals with the INTERACTIVE limits (as every
    test's does): these tests are about what the commands write and refuse, and the
    MODERATE limits a real ceremony uses are checked once, by the one that asks for
    passphrases (`production`)."""
    return Config(keys_dir=tmp_path / "keys", database_path=tmp_path / "var" / "u.db",
                  testing=True, cheap_password_hashing=True)


@pytest.fixture
def production(fresh: Config) -> Config:
    return replace(fresh, cheap_password_hashing=False)


def _run(config: Config, *args: str):
    return create_app(config).test_cli_runner().invoke(args=list(args))


def test_demo_setup_creates_keys_and_database_then_leaves_them(fresh: Config) -> None:
    first = _run(fresh, "demo-setup")
    assert first.exit_code == 0, first.output
    assert "demo-holder-" in first.output and "demo-passphrases.txt" in first.output
    assert fresh.database_path.exists()
    assert stat.S_IMODE(os.stat(fresh.keys_dir).st_mode) == 0o700
    holder_files = sorted(p.name for p in fresh.keys_dir.glob("demo-holder-*.key"))
    assert len(holder_files) == 2, "one key file per demo coordinator"
    assert not (fresh.keys_dir / "vetting.key").exists(), "no shared vetting key file"
    for name in ("database.key", "index.key", "session.key", "delivery.key",
                 "audit.key", "demo-passphrases.txt", "demo-delivery-passphrase.txt",
                 "demo-staff.txt", *holder_files):
        assert stat.S_IMODE(os.stat(fresh.keys_dir / name).st_mode) == 0o600, name
    lines = (fresh.keys_dir / "demo-passphrases.txt").read_text().splitlines()
    assert len(lines) == 3, "both holder files and the delivery key, one line each"
    for line in lines:
        name, phrase = line.split(" ")
        assert read_private_key_header(Path(name)).kind in ("holder", "delivery")
        read_private_key_file(Path(name), phrase)  # each passphrase opens its own file
    before = {p.name: p.read_bytes() for p in fresh.keys_dir.iterdir()}
    second = _run(fresh, "demo-setup")
    assert second.exit_code == 0
    assert "leaving them as they are" in second.output
    assert {p.name: p.read_bytes() for p in fresh.keys_dir.iterdir()} == before


def test_keys_init_refuses_to_overwrite(fresh: Config) -> None:
    assert _run(fresh, "keys", "init", "--demo").exit_code == 0
    before = {p.name: p.read_bytes() for p in fresh.keys_dir.iterdir()}
    again = _run(fresh, "keys", "init", "--demo")
    assert again.exit_code == 1
    assert "never overwrites" in again.output
    assert {p.name: p.read_bytes() for p in fresh.keys_dir.iterdir()} == before


def test_keys_init_writes_the_holder_key_where_told(fresh: Config, tmp_path: Path) -> None:
    away = tmp_path / "usb" / "first-holder.key"
    away.parent.mkdir()
    result = _run(fresh, "keys", "init", "--demo", "--holder-out", str(away))
    assert result.exit_code == 0, result.output
    assert away.exists() and not (fresh.keys_dir / "vetting.key").exists()
    assert stat.S_IMODE(os.stat(away).st_mode) == 0o600


def test_keys_init_asks_for_passphrases_when_not_a_demo(production: Config,
                                                        tmp_path: Path) -> None:
    answers = ("short\nshort\n" + "holder phrase long enough\n" * 2
               + "delivery phrase long enough\n" * 2)
    result = create_app(production).test_cli_runner().invoke(
        args=["keys", "init", "--holder-out", str(tmp_path / "first.key")], input=answers)
    assert result.exit_code == 0, result.output
    assert "at least 12 characters" in result.output
    assert "Give each key holder file to its coordinator" in result.output
    assert not (production.keys_dir / "demo-passphrases.txt").exists()
    # A real ceremony seals both files with at least the MODERATE limits.
    for sealed in (tmp_path / "first.key", production.keys_dir / "delivery.key"):
        header = read_private_key_header(sealed)
        assert header.opslimit >= argon2id.OPSLIMIT_MODERATE, sealed
        assert header.memlimit >= argon2id.MEMLIMIT_MODERATE, sealed


def test_keys_init_refuses_to_make_no_key_holder(fresh: Config) -> None:
    result = _run(fresh, "keys", "init")
    assert result.exit_code == 1 and "at least one key holder" in result.output
    assert not fresh.keys_dir.exists() or not any(fresh.keys_dir.iterdir())


def test_keys_show_prints_fingerprints(fresh: Config) -> None:
    init = _run(fresh, "keys", "init", "--demo")
    shown = _run(fresh, "keys", "show")
    assert shown.exit_code == 0
    for name in ("vetting", "delivery", "audit"):
        line = next(text for text in shown.output.splitlines() if text.startswith(name))
        assert line.split()[1] in init.output, "show agrees with what init printed"


def test_keys_show_without_keys_says_how_to_make_them(fresh: Config) -> None:
    result = _run(fresh, "keys", "show")
    assert result.exit_code == 1 and "keys init" in result.output


def test_init_db_refuses_to_overwrite(fresh: Config) -> None:
    _run(fresh, "keys", "init", "--demo")
    assert _run(fresh, "init-db").exit_code == 0
    before = fresh.database_path.read_bytes()
    again = _run(fresh, "init-db")
    assert again.exit_code == 1 and "never overwrites" in again.output
    assert fresh.database_path.read_bytes() == before
    assert stat.S_IMODE(os.stat(fresh.database_path).st_mode) == 0o600
