"""Holder wraps, recovery shares, and a ceremony that leaves no vetting key file."""

from __future__ import annotations

from pathlib import Path

import pytest
from crypto_testkit import DELIVERY_PASSPHRASE, FAST_CEREMONY

from crypto.errors import TamperedEnvelope, UnknownKeyId
from crypto.holder_wrap import HOLDER_KIND, unwrap_for_holder, wrap_for_holder
from crypto.keyfile import read_private_key_file
from crypto.keys import generate_box_keypair
from crypto.keystore import HolderOut, init_keys, read_first_holders
from crypto.recovery import RecoveryError, combine_shares, split_key

HOLDER_PASSPHRASE = "a holder's own passphrase"


def test_a_wrap_opens_only_for_its_holder_and_gives_back_the_key() -> None:
    vetting = generate_box_keypair("vetting")
    alice, bob = generate_box_keypair(HOLDER_KIND), generate_box_keypair(HOLDER_KIND)
    wrap = wrap_for_holder(vetting, alice.public)
    assert unwrap_for_holder(wrap, alice, vetting.public) == vetting
    with pytest.raises(UnknownKeyId):
        unwrap_for_holder(wrap, bob, vetting.public)


def test_a_wrap_of_another_key_fails_instead_of_giving_a_wrong_key() -> None:
    vetting, other = generate_box_keypair("vetting"), generate_box_keypair("vetting")
    holder = generate_box_keypair(HOLDER_KIND)
    with pytest.raises(TamperedEnvelope):
        unwrap_for_holder(wrap_for_holder(other, holder.public), holder, vetting.public)


def test_the_public_half_is_derived_once_per_private_key() -> None:
    key = generate_box_keypair("vetting")
    assert key.public is key.public and key.to_nacl() is key.to_nacl()
    assert bytes(key.to_nacl().public_key) == key.public.raw


def test_any_threshold_of_shares_rebuilds_the_key_and_fewer_do_not() -> None:
    key = generate_box_keypair(HOLDER_KIND)
    shares = split_key(key, threshold=3, shares=5)
    assert len(shares) == 5
    assert combine_shares([shares[4], shares[0], shares[2]]) == key
    with pytest.raises(RecoveryError):
        combine_shares(shares[:2])
    with pytest.raises(ValueError):
        split_key(key, threshold=1, shares=3)


def test_a_ceremony_with_holders_writes_no_vetting_key_file(tmp_path: Path) -> None:
    keys_dir, holder = tmp_path / "keys", tmp_path / "usb" / "first.key"
    holder.parent.mkdir()
    result = init_keys(keys_dir, delivery_passphrase=DELIVERY_PASSPHRASE,
                       holders=[HolderOut(holder, HOLDER_PASSPHRASE)], recovery=(2, 3),
                       **FAST_CEREMONY)
    assert result.vetting_key_path is None and not (keys_dir / "vetting.key").exists()
    assert result.holder_paths == (holder,) and len(result.recovery_shares) == 3
    first = read_first_holders(keys_dir)
    assert first is not None and [h.kind for h in first.holders] == ["coordinator", "recovery"]
    holder_key = read_private_key_file(holder, HOLDER_PASSPHRASE)
    vetting = unwrap_for_holder(first.holders[0].wrap, holder_key, first.vetting_public)
    recovered = combine_shares(list(result.recovery_shares[:2]))
    assert unwrap_for_holder(first.holders[1].wrap, recovered, first.vetting_public) == vetting
    for path in keys_dir.iterdir():
        assert vetting.raw.hex() not in path.read_text(errors="ignore")


def test_a_ceremony_refuses_a_holder_passphrase_equal_to_the_delivery_one(
        tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="different"):
        init_keys(tmp_path / "keys", delivery_passphrase=DELIVERY_PASSPHRASE,
                  holders=[HolderOut(tmp_path / "h.key", DELIVERY_PASSPHRASE)],
                  **FAST_CEREMONY)
    assert not (tmp_path / "keys").exists()
