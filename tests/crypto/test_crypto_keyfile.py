"""Key files: sealing, damage versus wrong passphrase, permissions, no overwriting."""

from __future__ import annotations

import inspect
import json
import os
import unicodedata
from pathlib import Path

import nacl.signing
import pytest
from crypto_testkit import FAST_KDF, mode_of
from nacl.pwhash import argon2id

from crypto import keyfile
from crypto.errors import (
    DamagedKeyFile,
    KeyFileError,
    KeysExist,
    MissingKeyFile,
    WrongPassphrase,
)
from crypto.keyfile import (
    decode_private_key_file,
    encode_private_key_file,
    read_private_key_file,
    read_private_key_header,
    read_public_key_file,
    read_secret_file,
    read_verify_key_file,
    write_private_key_file,
    write_public_key_file,
    write_secret_file,
    write_verify_key_file,
)
from crypto.keys import BoxPrivateKey, generate_box_keypair

PASSPHRASE = "correct-horse-battery-staple"


@pytest.fixture
def sealed(tmp_path: Path, vetting_key: BoxPrivateKey) -> Path:
    path = tmp_path / "vetting.key"
    write_private_key_file(path, vetting_key, PASSPHRASE, **FAST_KDF)
    return path


def _rewrite(path: Path, edit, *, fix_checksum: bool) -> None:
    """Edit a key file's JSON, optionally recomputing the checksum like a careful attacker."""
    document = json.loads(path.read_text())
    edit(document)
    if fix_checksum:
        document["checksum"] = keyfile._document_checksum(document).hex()
    path.chmod(0o600)
    path.write_text(json.dumps(document, indent=2))


def _flip_hex(text: str, index: int = 0) -> str:
    return text[:index] + ("0" if text[index] != "0" else "1") + text[index + 1 :]


# --- private key files ----------------------------------------------------------------


def test_private_key_file_round_trip(sealed: Path, vetting_key: BoxPrivateKey) -> None:
    loaded = read_private_key_file(sealed, PASSPHRASE)
    assert loaded == vetting_key
    assert loaded.kind == "vetting"
    header = read_private_key_header(sealed)
    assert header.public == vetting_key.public
    assert (header.opslimit, header.memlimit) == (FAST_KDF["opslimit"], FAST_KDF["memlimit"])


def test_private_key_file_is_readable_by_an_operator(
    sealed: Path, vetting_key: BoxPrivateKey
) -> None:
    document = json.loads(sealed.read_text())
    assert document["kind"] == "vetting"
    assert document["fingerprint"] == vetting_key.fingerprint
    assert document["public_key"] == vetting_key.public.raw.hex()
    assert document["kdf"]["alg"] == "argon2id13"
    assert vetting_key.raw.hex() not in sealed.read_text()


def test_wrong_passphrase_and_damaged_file_are_different_errors(
    sealed: Path, tmp_path: Path, other_key: BoxPrivateKey
) -> None:
    original = sealed.read_bytes()

    with pytest.raises(WrongPassphrase):
        read_private_key_file(sealed, "not the passphrase")
    with pytest.raises(WrongPassphrase):
        read_private_key_file(sealed, PASSPHRASE + " ")

    # A flipped character in the ciphertext field: damage, not a wrong passphrase.
    _rewrite(
        sealed, lambda d: d.update(ciphertext=_flip_hex(d["ciphertext"], 10)), fix_checksum=False
    )
    with pytest.raises(DamagedKeyFile, match="checksum"):
        read_private_key_file(sealed, PASSPHRASE)

    # An edited public key (someone swapping in their own key): damage.
    sealed.write_bytes(original)
    _rewrite(sealed, lambda d: d.update(public_key=other_key.public.raw.hex()), fix_checksum=False)
    with pytest.raises(DamagedKeyFile):
        read_private_key_file(sealed, PASSPHRASE)
    # ... still damage if the checksum is recomputed: the key id no longer matches.
    sealed.write_bytes(original)
    _rewrite(sealed, lambda d: d.update(public_key=other_key.public.raw.hex()), fix_checksum=True)
    with pytest.raises(DamagedKeyFile, match="key id"):
        read_private_key_file(sealed, PASSPHRASE)

    # A truncated copy, at every length short of the JSON's end: damage, never a wrong
    # passphrase. (Only the final newline carries no content.)
    for length in range(len(original.rstrip(b"\n"))):
        sealed.write_bytes(original[:length])
        with pytest.raises(DamagedKeyFile):
            read_private_key_file(sealed, PASSPHRASE)

    # Not JSON, or JSON of the wrong shape.
    for junk in (b"\xff\xfe", b"[]", b'{"checksum": 1}', b"{" * 5000):
        sealed.write_bytes(junk)
        with pytest.raises(DamagedKeyFile):
            read_private_key_file(sealed, PASSPHRASE)

    sealed.write_bytes(original)
    assert read_private_key_file(sealed, PASSPHRASE)


def test_header_fields_are_authenticated_even_with_a_recomputed_checksum(
    sealed: Path, other_key: BoxPrivateKey
) -> None:
    # Someone who also fixes key id, fingerprint and checksum gets a file that does not
    # open: the header is the AEAD's associated data. (The error is WrongPassphrase
    # because an intact-looking file that fails the AEAD is indistinguishable from one.)
    def swap_identity(document: dict) -> None:
        document["public_key"] = other_key.public.raw.hex()
        document["key_id"] = other_key.key_id.hex()
        document["fingerprint"] = other_key.fingerprint

    _rewrite(sealed, swap_identity, fix_checksum=True)
    with pytest.raises(KeyFileError):
        read_private_key_file(sealed, PASSPHRASE)


def test_flipped_ciphertext_with_fixed_checksum_never_opens(sealed: Path) -> None:
    _rewrite(
        sealed, lambda d: d.update(ciphertext=_flip_hex(d["ciphertext"], 3)), fix_checksum=True
    )
    with pytest.raises(WrongPassphrase):
        read_private_key_file(sealed, PASSPHRASE)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("opslimit", argon2id.OPSLIMIT_INTERACTIVE - 1),
        ("memlimit", argon2id.MEMLIMIT_INTERACTIVE // 2),
        ("memlimit", 64 * 2**30),
        ("opslimit", True),
        ("alg", "argon2i13"),
    ],
)
def test_weak_or_strange_kdf_parameters_are_refused(
    sealed: Path, field: str, value: object
) -> None:
    _rewrite(sealed, lambda d: d["kdf"].update({field: value}), fix_checksum=True)
    with pytest.raises(DamagedKeyFile):
        read_private_key_file(sealed, PASSPHRASE)


def test_writing_weak_kdf_parameters_is_refused(tmp_path: Path, vetting_key: BoxPrivateKey) -> None:
    with pytest.raises(ValueError):
        write_private_key_file(
            tmp_path / "k", vetting_key, PASSPHRASE, opslimit=1, memlimit=argon2id.MEMLIMIT_MIN
        )
    assert not (tmp_path / "k").exists()


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(version=2),
        lambda d: d.update(format="something-else"),
        lambda d: d.update(kind="Vetting!"),
        lambda d: d.update(extra="field"),
        lambda d: d.pop("cipher"),
        lambda d: d["cipher"].update(nonce=d["cipher"]["nonce"][:-2]),
        lambda d: d.update(ciphertext=d["ciphertext"].upper()),
        lambda d: d["kdf"].update(salt=""),
    ],
)
def test_structural_damage_is_reported_as_damage(sealed: Path, edit) -> None:
    _rewrite(sealed, edit, fix_checksum=True)
    with pytest.raises(DamagedKeyFile):
        read_private_key_file(sealed, PASSPHRASE)


def test_duplicate_json_fields_are_damage(sealed: Path) -> None:
    text = sealed.read_text()
    sealed.chmod(0o600)
    sealed.write_text(text.replace('"version": 1,', '"version": 1, "version": 1,', 1))
    with pytest.raises(DamagedKeyFile):
        read_private_key_file(sealed, PASSPHRASE)


def test_decrypted_key_must_match_recorded_public_key(
    tmp_path: Path, vetting_key: BoxPrivateKey, other_key: BoxPrivateKey, monkeypatch
) -> None:
    # Build a file whose header names one key but whose ciphertext holds another, the way
    # only a buggy or malicious writer could: loading must refuse it as damaged.
    other_public = other_key.public
    real_public = BoxPrivateKey.public
    monkeypatch.setattr(BoxPrivateKey, "public", property(lambda self: other_public))
    data = encode_private_key_file(vetting_key, PASSPHRASE, **FAST_KDF)
    monkeypatch.setattr(BoxPrivateKey, "public", real_public)
    with pytest.raises(DamagedKeyFile, match="does not match"):
        decode_private_key_file(data, PASSPHRASE)


def test_expected_kind_is_enforced(sealed: Path) -> None:
    with pytest.raises(DamagedKeyFile, match="not a delivery key"):
        read_private_key_file(sealed, PASSPHRASE, kind="delivery")
    assert read_private_key_file(sealed, PASSPHRASE, kind="vetting")


def test_passphrase_is_unicode_normalised(tmp_path: Path, vetting_key: BoxPrivateKey) -> None:
    composed = "café-passphrase-très-longue"
    path = tmp_path / "k"
    write_private_key_file(path, vetting_key, unicodedata.normalize("NFD", composed), **FAST_KDF)
    assert read_private_key_file(path, unicodedata.normalize("NFC", composed)) == vetting_key


def test_empty_passphrase_is_refused(tmp_path: Path, vetting_key: BoxPrivateKey) -> None:
    with pytest.raises(ValueError):
        write_private_key_file(tmp_path / "k", vetting_key, "", **FAST_KDF)


def test_private_key_file_is_mode_0600(
    tmp_path: Path, vetting_key: BoxPrivateKey, monkeypatch
) -> None:
    created_modes = []
    real_open = os.open

    def spy(path, flags, mode=0o777, *args, **kwargs):
        if flags & os.O_CREAT:
            created_modes.append(mode)
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    old_umask = os.umask(0)  # prove the mode does not depend on a careful umask
    try:
        path = tmp_path / "vetting.key"
        write_private_key_file(path, vetting_key, PASSPHRASE, **FAST_KDF)
    finally:
        os.umask(old_umask)
    assert mode_of(path) == 0o600
    # Every file created along the way was created 0600: no window with wider permissions.
    assert created_modes and all(mode == 0o600 for mode in created_modes)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vetting.key"]  # no temp left


def test_key_file_refuses_to_overwrite(
    sealed: Path, tmp_path: Path, other_key: BoxPrivateKey
) -> None:
    before = sealed.read_bytes()
    with pytest.raises(KeysExist) as excinfo:
        write_private_key_file(sealed, other_key, PASSPHRASE, **FAST_KDF)
    assert excinfo.value.paths == (sealed,)
    assert sealed.read_bytes() == before

    # A symlink planted at the target must not be followed.
    victim = tmp_path / "victim"
    victim.write_bytes(b"do not touch")
    link = tmp_path / "link.key"
    link.symlink_to(victim)
    for write in (
        lambda: write_private_key_file(link, other_key, PASSPHRASE, **FAST_KDF),
        lambda: write_secret_file(link, b"\x01" * 32),
        lambda: write_public_key_file(link, other_key.public),
    ):
        with pytest.raises(KeysExist):
            write()
    assert victim.read_bytes() == b"do not touch"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_missing_private_key_file(tmp_path: Path) -> None:
    with pytest.raises(MissingKeyFile, match=r"nothing\.key"):
        read_private_key_file(tmp_path / "nothing.key", PASSPHRASE)


def test_vetting_key_file_uses_at_least_moderate_argon2id(tmp_path: Path) -> None:
    # The one test that runs the real default (about a second per key): the ceremony's
    # vetting key file must resist offline guessing if a coordinator's laptop is stolen.
    from crypto_testkit import DELIVERY_PASSPHRASE, VETTING_PASSPHRASE

    from crypto.keystore import init_keys

    for function in (init_keys,):
        parameters = inspect.signature(function).parameters
        assert parameters["kdf_opslimit"].default >= argon2id.OPSLIMIT_MODERATE
        assert parameters["kdf_memlimit"].default >= argon2id.MEMLIMIT_MODERATE
    for function in (write_private_key_file, encode_private_key_file):
        parameters = inspect.signature(function).parameters
        assert parameters["opslimit"].default >= argon2id.OPSLIMIT_MODERATE
        assert parameters["memlimit"].default >= argon2id.MEMLIMIT_MODERATE

    result = init_keys(
        tmp_path / "keys",
        vetting_passphrase=VETTING_PASSPHRASE,
        delivery_passphrase=DELIVERY_PASSPHRASE,
    )
    for path in (result.vetting_key_path, result.delivery_key_path):
        kdf = json.loads(path.read_text())["kdf"]
        assert kdf["opslimit"] >= argon2id.OPSLIMIT_MODERATE
        assert kdf["memlimit"] >= argon2id.MEMLIMIT_MODERATE
        header = read_private_key_header(path)
        assert header.opslimit >= argon2id.OPSLIMIT_MODERATE
        assert header.memlimit >= argon2id.MEMLIMIT_MODERATE


# --- public key files -----------------------------------------------------------------


def test_public_key_file_round_trip(tmp_path: Path, vetting_key: BoxPrivateKey) -> None:
    path = tmp_path / "vetting.pub"
    write_public_key_file(path, vetting_key.public)
    assert read_public_key_file(path, "vetting") == vetting_key.public
    assert mode_of(path) == 0o644
    assert vetting_key.fingerprint in path.read_text()


def test_public_key_file_checks_kind_and_key_id(
    tmp_path: Path, vetting_key: BoxPrivateKey, other_key: BoxPrivateKey
) -> None:
    path = tmp_path / "vetting.pub"
    write_public_key_file(path, vetting_key.public)
    with pytest.raises(DamagedKeyFile, match="not a 'delivery' key"):
        read_public_key_file(path, "delivery")
    document = json.loads(path.read_text())
    document["public_key"] = other_key.public.raw.hex()
    path.chmod(0o644)
    path.write_text(json.dumps(document))
    with pytest.raises(DamagedKeyFile, match="key id"):
        read_public_key_file(path, "vetting")
    path.write_text(json.dumps(document)[:-10])
    with pytest.raises(DamagedKeyFile):
        read_public_key_file(path, "vetting")
    with pytest.raises(MissingKeyFile):
        read_public_key_file(tmp_path / "absent.pub", "vetting")


def test_verify_key_file_round_trip(tmp_path: Path) -> None:
    signing_key = nacl.signing.SigningKey.generate()
    path = tmp_path / "audit.pub"
    write_verify_key_file(path, signing_key.verify_key)
    assert read_verify_key_file(path) == signing_key.verify_key
    document = json.loads(path.read_text())
    document["verify_key"] = bytes(nacl.signing.SigningKey.generate().verify_key).hex()
    path.write_text(json.dumps(document))
    with pytest.raises(DamagedKeyFile):
        read_verify_key_file(path)


# --- secret files ---------------------------------------------------------------------


def test_secret_file_round_trip_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "database.key"
    secret = os.urandom(32)
    old_umask = os.umask(0)
    try:
        write_secret_file(path, secret)
    finally:
        os.umask(old_umask)
    assert mode_of(path) == 0o600
    assert read_secret_file(path) == secret
    assert path.read_text() == secret.hex() + "\n"


def test_secret_file_accepts_openssl_style_hex(tmp_path: Path) -> None:
    path = tmp_path / "index.key"
    secret = os.urandom(32)
    path.write_text("  " + secret.hex().upper() + "\r\n")
    assert read_secret_file(path) == secret


@pytest.mark.parametrize(
    "content",
    [b"", b"abcd\n", b"00" * 31 + b"\n", b"11" * 33, b"zz" * 32, b"\xff" * 64, b"00" * 32],
)
def test_secret_file_damage_is_detected(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "index.key"
    path.write_bytes(content)
    with pytest.raises(DamagedKeyFile):
        read_secret_file(path)


def test_secret_file_missing_and_no_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "index.key"
    with pytest.raises(MissingKeyFile, match=r"index\.key"):
        read_secret_file(path)
    write_secret_file(path, b"\x01" * 32)
    with pytest.raises(KeysExist):
        write_secret_file(path, b"\x02" * 32)
    assert read_secret_file(path) == b"\x01" * 32


def test_secret_file_length_is_configurable(tmp_path: Path) -> None:
    path = tmp_path / "seed"
    write_secret_file(path, b"\x07" * 64)
    assert read_secret_file(path, 64) == b"\x07" * 64
    with pytest.raises(DamagedKeyFile):
        read_secret_file(path, 32)


def test_generated_keys_are_distinct() -> None:
    assert generate_box_keypair("vetting") != generate_box_keypair("vetting")
