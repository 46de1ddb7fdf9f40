"""The keys directory and the key ceremony."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import nacl.signing
import pytest
from crypto_testkit import (
    DELIVERY_PASSPHRASE,
    FAST_CEREMONY,
    VETTING_PASSPHRASE,
    mode_of,
    snapshot,
)

from crypto import keystore
from crypto.audit_chain import GENESIS_HASH, sign_checkpoint, verify_checkpoint
from crypto.envelope import bind, open_envelope, seal
from crypto.errors import (
    DamagedKeyFile,
    KeyMismatch,
    KeysExist,
    MissingKeyFile,
    WrongPassphrase,
)
from crypto.keyfile import read_private_key_header
from crypto.keys import BoxPrivateKey, PublicKey
from crypto.keystore import (
    KEY_FILES,
    CeremonyResult,
    ServerKeys,
    describe_keys,
    init_keys,
    keys_present,
    load_audit_signing_key,
    load_delivery_private_key,
    load_server_keys,
    permission_problems,
    unlock_private_key,
)

SECRET_FILES = (
    "database.key", "index.key", "session.key", "audit.key", "vetting.key", "delivery.key",
)
PUBLIC_FILES = ("vetting.pub", "delivery.pub", "audit.pub")


def _ceremony(keys_dir: Path, **kwargs) -> CeremonyResult:
    arguments = {
        "vetting_passphrase": VETTING_PASSPHRASE,
        "delivery_passphrase": DELIVERY_PASSPHRASE,
        **FAST_CEREMONY,
        **kwargs,
    }
    return init_keys(keys_dir, **arguments)


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "keys"
    _ceremony(directory)
    return directory


def test_ceremony_creates_every_file_with_private_modes(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    messages: list[str] = []
    old_umask = os.umask(0o022)
    try:
        result = _ceremony(directory, progress=messages.append)
    finally:
        os.umask(old_umask)
    assert sorted(p.name for p in directory.iterdir()) == sorted(KEY_FILES)
    assert mode_of(directory) == 0o700
    for name in SECRET_FILES:
        assert mode_of(directory / name) == 0o600, name
    for name in PUBLIC_FILES:
        assert mode_of(directory / name) == 0o644, name
    assert any("sealing the vetting key" in m and "Argon2id" in m for m in messages)
    assert set(result.fingerprints) == {"vetting", "delivery", "audit"}
    assert result.vetting_key_path == directory / "vetting.key"
    assert result.delivery_key_path == directory / "delivery.key"
    assert permission_problems(directory) == []


def test_existing_keys_directory_is_made_private(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o755)
    (directory / "README").write_text("key files live here\n")
    _ceremony(directory)
    assert mode_of(directory) == 0o700
    assert (directory / "README").read_text() == "key files live here\n"


def test_keys_init_refuses_to_overwrite(keys_dir: Path) -> None:
    before = snapshot(keys_dir)
    messages: list[str] = []
    with pytest.raises(KeysExist) as excinfo:
        _ceremony(keys_dir, progress=messages.append)
    assert {p.name for p in excinfo.value.paths} == set(KEY_FILES)
    assert "database.key" in str(excinfo.value)
    assert snapshot(keys_dir) == before
    assert messages == []  # refused before generating or sealing anything


@pytest.mark.parametrize("existing", KEY_FILES)
def test_any_single_existing_key_file_blocks_the_ceremony(tmp_path: Path, existing: str) -> None:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o700)
    (directory / existing).write_text("old key\n")
    before = snapshot(directory)
    with pytest.raises(KeysExist, match=existing):
        _ceremony(directory)
    assert snapshot(directory) == before


def test_existing_vetting_key_out_blocks_the_ceremony(tmp_path: Path) -> None:
    outside = tmp_path / "usb"
    outside.mkdir()
    (outside / "vetting.key").write_text("old")
    with pytest.raises(KeysExist, match="usb"):
        _ceremony(tmp_path / "keys", vetting_key_out=outside)
    assert not (tmp_path / "keys").exists()


@pytest.mark.parametrize(
    ("vetting", "delivery", "message"),
    [
        ("", DELIVERY_PASSPHRASE, "empty"),
        ("            ", DELIVERY_PASSPHRASE, "empty"),
        ("short", DELIVERY_PASSPHRASE, "12 characters"),
        (VETTING_PASSPHRASE, "elevenchars", "12 characters"),
        (VETTING_PASSPHRASE, VETTING_PASSPHRASE, "different"),
    ],
)
def test_weak_passphrases_are_refused_before_anything_is_written(
    tmp_path: Path, vetting: str, delivery: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        init_keys(
            tmp_path / "keys",
            vetting_passphrase=vetting,
            delivery_passphrase=delivery,
            **FAST_CEREMONY,
        )
    assert not (tmp_path / "keys").exists()


def test_weak_kdf_limits_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        _ceremony(tmp_path / "keys", kdf_opslimit=1)
    assert not (tmp_path / "keys").exists()


def test_a_failed_ceremony_leaves_no_key_behind(tmp_path: Path, monkeypatch) -> None:
    directory = tmp_path / "keys"
    real = keystore.write_public_key_file

    def fail_on_delivery(path: Path, key: PublicKey) -> None:
        if path.name == "delivery.pub":
            raise OSError("disk full")
        real(path, key)

    monkeypatch.setattr(keystore, "write_public_key_file", fail_on_delivery)
    with pytest.raises(OSError, match="disk full"):
        _ceremony(directory)
    assert list(directory.iterdir()) == []
    assert not keys_present(directory)


def test_vetting_key_can_be_written_outside_the_server(tmp_path: Path) -> None:
    outside = tmp_path / "coordinator-usb"
    outside.mkdir()
    directory = tmp_path / "keys"
    result = _ceremony(directory, vetting_key_out=outside)
    assert result.vetting_key_path == outside / "vetting.key"
    assert mode_of(result.vetting_key_path) == 0o600
    assert not (directory / "vetting.key").exists()
    assert "not in this directory" in describe_keys(directory)["vetting"]
    with pytest.raises(ValueError):
        _ceremony(tmp_path / "keys2", vetting_key_out=tmp_path / "missing-dir" / "v.key")


def test_load_server_keys_loads_no_private_key(keys_dir: Path, monkeypatch) -> None:
    def forbidden(*_args, **_kwargs):
        raise AssertionError("the web process must not read a private key file")

    for name in ("read_private_key_file", "decode_private_key_file", "read_private_key_header"):
        monkeypatch.setattr(keystore, name, forbidden)
    # Even with the sealed files gone, the web process has everything it needs.
    (keys_dir / "vetting.key").unlink()
    (keys_dir / "delivery.key").unlink()

    keys = load_server_keys(keys_dir)
    assert {f.name for f in dataclasses.fields(ServerKeys)} == {
        "database_key",
        "index_key",
        "session_key",
        "vetting_public",
        "delivery_public",
        "audit_verify_key",
    }
    assert isinstance(keys.audit_verify_key, nacl.signing.VerifyKey)
    assert not isinstance(keys.audit_verify_key, nacl.signing.SigningKey)
    for field in dataclasses.fields(keys):
        value = getattr(keys, field.name)
        assert not isinstance(value, BoxPrivateKey | nacl.signing.SigningKey)
    assert isinstance(keys.vetting_public, PublicKey) and keys.vetting_public.kind == "vetting"
    assert keys.delivery_public.kind == "delivery"
    assert len(keys.database_key) == len(keys.index_key) == 32
    assert keys.database_key != keys.index_key
    text = repr(keys)
    assert keys.database_key.hex() not in text and keys.index_key.hex() not in text
    assert keys.vetting_public.fingerprint in text


@pytest.mark.parametrize(
    "name", ["database.key", "index.key", "vetting.pub", "delivery.pub", "audit.pub"]
)
def test_load_server_keys_names_a_missing_file(keys_dir: Path, name: str) -> None:
    (keys_dir / name).unlink()
    with pytest.raises(MissingKeyFile, match=name):
        load_server_keys(keys_dir)


def test_load_server_keys_names_a_damaged_file(keys_dir: Path) -> None:
    path = keys_dir / "index.key"
    path.chmod(0o600)
    path.write_text("not hex\n")
    with pytest.raises(DamagedKeyFile, match=r"index\.key"):
        load_server_keys(keys_dir)
    (keys_dir / "vetting.pub").unlink()
    (keys_dir / "delivery.pub").rename(keys_dir / "vetting.pub")  # a swapped public key
    (keys_dir / "index.key").unlink()
    (keys_dir / "index.key").write_text("01" * 32)
    with pytest.raises(DamagedKeyFile, match=r"vetting\.pub"):
        load_server_keys(keys_dir)


def test_keys_present(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    assert not keys_present(directory)
    directory.mkdir()
    (directory / "README").write_text("x")
    assert not keys_present(directory)
    (directory / "audit.pub").symlink_to(directory / "nowhere")
    assert keys_present(directory)


def test_describe_keys_shows_only_public_information(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    result = _ceremony(directory)
    description = describe_keys(directory)
    assert description["database"] == "present, 256-bit"
    assert description["index"] == "present, 256-bit"
    for role in ("vetting", "delivery", "audit"):
        assert description[role].startswith(result.fingerprints[role])
        assert "DOES NOT MATCH" not in description[role]
    everything = " ".join(description.values())
    for name in ("database.key", "index.key", "audit.key"):
        secret_hex = (directory / name).read_text().strip()
        assert secret_hex not in everything
        assert secret_hex[:8] not in everything


def test_describe_keys_reports_missing_and_damaged_files(keys_dir: Path) -> None:
    (keys_dir / "database.key").unlink()
    path = keys_dir / "index.key"
    path.write_text("zz")
    description = describe_keys(keys_dir)
    assert description["database"] == "missing"
    assert description["index"].startswith("damaged")


def test_worker_keys_load_and_match_the_public_halves(keys_dir: Path) -> None:
    server = load_server_keys(keys_dir)
    delivery = load_delivery_private_key(keys_dir, DELIVERY_PASSPHRASE)
    assert delivery.public == server.delivery_public
    ad = bind("members", "contact", 1)
    assert open_envelope(seal(b"07700", [server.delivery_public], ad), delivery, ad) == b"07700"
    with pytest.raises(WrongPassphrase):
        load_delivery_private_key(keys_dir, VETTING_PASSPHRASE)

    signing_key = load_audit_signing_key(keys_dir)
    checkpoint = sign_checkpoint(signing_key, 0, GENESIS_HASH, "2025-01-01T00:00:00+00:00")
    assert verify_checkpoint(server.audit_verify_key, checkpoint)


def test_worker_refuses_keys_from_another_ceremony(keys_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    _ceremony(other)
    for name in ("delivery.key", "audit.key"):
        (keys_dir / name).unlink()
        (other / name).rename(keys_dir / name)
    with pytest.raises(KeyMismatch):
        load_delivery_private_key(keys_dir, DELIVERY_PASSPHRASE)
    with pytest.raises(KeyMismatch):
        load_audit_signing_key(keys_dir)
    assert "DOES NOT MATCH" in describe_keys(keys_dir)["delivery"]
    assert "DOES NOT MATCH" in describe_keys(keys_dir)["audit"]


def test_unlock_private_key_checks_the_key_before_the_passphrase(keys_dir: Path) -> None:
    server = load_server_keys(keys_dir)
    vetting_file = (keys_dir / "vetting.key").read_bytes()
    delivery_file = (keys_dir / "delivery.key").read_bytes()
    key = unlock_private_key(vetting_file, VETTING_PASSPHRASE, server.vetting_public)
    assert key.public == server.vetting_public
    with pytest.raises(KeyMismatch, match="delivery key"):
        unlock_private_key(delivery_file, "any passphrase at all", server.vetting_public)
    with pytest.raises(WrongPassphrase):
        unlock_private_key(vetting_file, DELIVERY_PASSPHRASE, server.vetting_public)
    with pytest.raises(DamagedKeyFile):
        unlock_private_key(vetting_file[:-20], VETTING_PASSPHRASE, server.vetting_public)
    assert read_private_key_header(keys_dir / "vetting.key").kind == "vetting"


def test_permission_problems_are_reported(keys_dir: Path) -> None:
    (keys_dir / "database.key").chmod(0o644)
    keys_dir.chmod(0o755)
    problems = permission_problems(keys_dir)
    assert any("database.key" in p and "0644" in p for p in problems)
    assert any("directory" in p for p in problems)
