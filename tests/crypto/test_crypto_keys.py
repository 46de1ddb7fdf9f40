"""Key types, key ids and fingerprints."""

from __future__ import annotations

import re

import nacl.public
import nacl.signing
import pytest

from crypto.keys import (
    KEY_ID_BYTES,
    BoxPrivateKey,
    PublicKey,
    generate_box_keypair,
    generate_signing_key,
    key_id,
    signing_key_id,
)


def test_key_id_is_16_bytes_and_domain_separated() -> None:
    key = generate_box_keypair("vetting")
    assert KEY_ID_BYTES == 16
    assert len(key.key_id) == 16
    assert key.key_id == key_id(key.public.raw) == key.public.key_id
    # Same 32 bytes as a signing key id: a different domain, a different id.
    assert signing_key_id(key.public.raw) != key_id(key.public.raw)


def test_fingerprint_is_grouped_hex() -> None:
    public = generate_box_keypair("delivery").public
    assert re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){7}", public.fingerprint)
    assert public.fingerprint.replace("-", "") == public.key_id.hex()


def test_private_key_never_shows_its_bytes() -> None:
    key = generate_box_keypair("vetting")
    for text in (repr(key), str(key), f"{key}", repr([key])):
        assert key.raw.hex() not in text
        assert repr(key.raw) not in text
        assert key.fingerprint in text


def test_public_half_and_nacl_objects_agree() -> None:
    key = generate_box_keypair("vetting")
    assert isinstance(key.to_nacl(), nacl.public.PrivateKey)
    assert bytes(key.to_nacl().public_key) == key.public.raw
    assert isinstance(key.public.to_nacl(), nacl.public.PublicKey)
    assert key.public.kind == "vetting"


def test_keys_compare_by_value() -> None:
    key = generate_box_keypair("vetting")
    same = BoxPrivateKey("vetting", key.raw)
    assert key == same and hash(key) == hash(same)
    assert key != BoxPrivateKey("delivery", key.raw)
    assert key != generate_box_keypair("vetting")


@pytest.mark.parametrize("kind", ["", "Vetting", "has space", "x" * 40, 3])
def test_bad_kinds_are_refused(kind: object) -> None:
    with pytest.raises(ValueError):
        generate_box_keypair(kind)  # type: ignore[arg-type]


def test_bad_key_lengths_are_refused() -> None:
    for raw in (b"", bytes(31), bytes(33)):
        with pytest.raises(ValueError):
            PublicKey("vetting", raw)
        with pytest.raises(ValueError):
            BoxPrivateKey("vetting", raw)
        with pytest.raises(ValueError):
            key_id(raw)


def test_signing_key_ids() -> None:
    signing_key = generate_signing_key()
    assert isinstance(signing_key, nacl.signing.SigningKey)
    kid = signing_key_id(signing_key.verify_key)
    assert len(kid) == 16 and kid == signing_key_id(bytes(signing_key.verify_key))
    assert kid != signing_key_id(generate_signing_key().verify_key)
    with pytest.raises(ValueError):
        signing_key_id(b"short")
