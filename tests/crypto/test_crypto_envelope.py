"""Envelopes: round trips, fail-closed opening, binding to a place, rewrapping, KAT."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest
from crypto_testkit import CHEAP, COSTLY
from hypothesis import given
from hypothesis import strategies as st

from crypto.envelope import (
    HEADER_BYTES,
    MAGIC,
    WRAP_BYTES,
    bind,
    move_wraps,
    move_wraps_in_process,
    open_envelope,
    padded_length,
    parse_envelope,
    recipients_of,
    rewrap,
    seal,
)
from crypto.errors import (
    EnvelopeError,
    MalformedEnvelope,
    TamperedEnvelope,
    UnknownKeyId,
)
from crypto.keys import BoxPrivateKey, PublicKey, generate_box_keypair

KAT_PATH = Path(__file__).resolve().parents[1] / "data" / "envelope_kat_v1.json"

# A small fixed pool: generating keys inside hypothesis examples would dominate run time.
POOL = [generate_box_keypair("vetting") for _ in range(5)]
AD = bind("members", "contact", 7)


def _payload_part(envelope: bytes) -> bytes:
    """nonce || ciphertext: what rewrapping must never change."""
    parts = parse_envelope(envelope)
    return parts.nonce + parts.ciphertext


# --- round trips ----------------------------------------------------------------------


@COSTLY
@given(
    payload=st.binary(min_size=0, max_size=4096),
    indices=st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=3, unique=True),
    ad=st.binary(max_size=64),
)
def test_every_recipient_opens_any_payload(payload: bytes, indices: list[int], ad: bytes) -> None:
    keys = [POOL[i] for i in indices]
    envelope = seal(payload, [k.public for k in keys], ad)
    assert recipients_of(envelope) == [k.key_id for k in keys]
    for key in keys:
        assert open_envelope(envelope, key, ad) == payload


def test_empty_payload_round_trips(vetting_key: BoxPrivateKey) -> None:
    envelope = seal(b"", [vetting_key.public], AD)
    assert open_envelope(envelope, vetting_key, AD) == b""


def test_each_envelope_has_fresh_randomness(vetting_key: BoxPrivateKey) -> None:
    first = seal(b"same", [vetting_key.public], AD)
    second = seal(b"same", [vetting_key.public], AD)
    assert parse_envelope(first).nonce != parse_envelope(second).nonce
    assert parse_envelope(first).wraps != parse_envelope(second).wraps
    assert first != second


def test_envelope_layout_matches_documented_format(vetting_key: BoxPrivateKey) -> None:
    payload = b"hello"
    envelope = seal(payload, [vetting_key.public], AD)
    assert envelope[:4] == MAGIC == b"UMEV"
    assert envelope[4] == 2
    assert envelope[29] == 1
    assert envelope[30:46] == vetting_key.key_id
    assert len(envelope) == HEADER_BYTES + WRAP_BYTES + padded_length(len(payload)) + 16
    assert payload not in envelope


# --- sealing rules --------------------------------------------------------------------


def test_seal_requires_a_recipient() -> None:
    with pytest.raises(ValueError, match="at least one recipient"):
        seal(b"x", [], AD)


def test_seal_rejects_duplicate_recipients(vetting_key: BoxPrivateKey) -> None:
    same_key_other_kind = PublicKey("delivery", vetting_key.public.raw)
    with pytest.raises(ValueError, match="duplicate"):
        seal(b"x", [vetting_key.public, vetting_key.public], AD)
    with pytest.raises(ValueError, match="duplicate"):
        seal(b"x", [vetting_key.public, same_key_other_kind], AD)


def test_seal_rejects_a_single_key_instead_of_a_list(vetting_key: BoxPrivateKey) -> None:
    with pytest.raises(TypeError):
        seal(b"x", vetting_key.public, AD)  # type: ignore[arg-type]


def test_seal_allows_255_recipients_and_no_more() -> None:
    keys = [generate_box_keypair("vetting") for _ in range(256)]
    envelope = seal(b"x", [k.public for k in keys[:255]], AD)
    assert open_envelope(envelope, keys[254], AD) == b"x"
    with pytest.raises(ValueError):
        seal(b"x", [k.public for k in keys], AD)


# --- failing closed -------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixed() -> tuple[BoxPrivateKey, bytes]:
    key = generate_box_keypair("vetting")
    return key, seal(b"work name: Rosa; mobile +447700900123", [key.public], AD)


@pytest.mark.parametrize("mask", [0x01, 0x80, 0xFF])
def test_flipping_any_byte_fails_closed(fixed: tuple[BoxPrivateKey, bytes], mask: int) -> None:
    key, envelope = fixed
    for position in range(len(envelope)):
        tampered = bytearray(envelope)
        tampered[position] ^= mask
        with pytest.raises(EnvelopeError):
            open_envelope(bytes(tampered), key, AD)


@CHEAP
@given(data=st.data())
def test_flipping_random_bytes_fails_closed(data: st.DataObject) -> None:
    key = POOL[0]
    payload = data.draw(st.binary(max_size=256))
    envelope = seal(payload, [key.public], AD)
    position = data.draw(st.integers(0, len(envelope) - 1))
    mask = data.draw(st.integers(1, 255))
    tampered = bytearray(envelope)
    tampered[position] ^= mask
    with pytest.raises(EnvelopeError):
        open_envelope(bytes(tampered), key, AD)


def test_truncation_at_every_length_fails_closed(fixed: tuple[BoxPrivateKey, bytes]) -> None:
    key, envelope = fixed
    for length in range(len(envelope)):
        with pytest.raises(EnvelopeError):
            open_envelope(envelope[:length], key, AD)


@pytest.mark.parametrize("garbage", [b"\x00", b"trailing", bytes(64)])
def test_trailing_garbage_fails_closed(fixed: tuple[BoxPrivateKey, bytes], garbage: bytes) -> None:
    key, envelope = fixed
    with pytest.raises(TamperedEnvelope):
        open_envelope(envelope + garbage, key, AD)


def test_unknown_key_id(fixed: tuple[BoxPrivateKey, bytes], other_key: BoxPrivateKey) -> None:
    _, envelope = fixed
    with pytest.raises(UnknownKeyId):
        open_envelope(envelope, other_key, AD)


def test_wrap_for_one_recipient_cannot_be_used_by_another(
    vetting_key: BoxPrivateKey, other_key: BoxPrivateKey
) -> None:
    # Relabel the victim's wrap with an attacker's key id: the sealed box must not open.
    envelope = bytearray(seal(b"secret", [vetting_key.public], AD))
    envelope[HEADER_BYTES : HEADER_BYTES + 16] = other_key.key_id
    with pytest.raises(TamperedEnvelope):
        open_envelope(bytes(envelope), other_key, AD)


def test_editing_one_wrap_denies_only_that_recipient(
    vetting_key: BoxPrivateKey, delivery_key: BoxPrivateKey
) -> None:
    # Wraps are authenticated one by one (documented), so damage is confined to one
    # recipient and never yields a wrong plaintext.
    envelope = bytearray(seal(b"contact", [vetting_key.public, delivery_key.public], AD))
    envelope[HEADER_BYTES + WRAP_BYTES + 40] ^= 0x01  # inside the delivery wrap's sealed box
    assert open_envelope(bytes(envelope), vetting_key, AD) == b"contact"
    with pytest.raises(TamperedEnvelope):
        open_envelope(bytes(envelope), delivery_key, AD)


def test_wrap_swapped_from_another_envelope_fails(vetting_key: BoxPrivateKey) -> None:
    one = seal(b"one", [vetting_key.public], AD)
    two = seal(b"two", [vetting_key.public], AD)
    spliced = two[:HEADER_BYTES] + one[HEADER_BYTES : HEADER_BYTES + WRAP_BYTES]
    spliced += two[HEADER_BYTES + WRAP_BYTES :]
    with pytest.raises(TamperedEnvelope):
        open_envelope(spliced, vetting_key, AD)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "truncated"),
        (b"UMEV", "truncated"),
        (b"XXXX\x01" + bytes(200), "magic"),
        (b"UMEV\x03" + bytes(200), "version 3"),
        (b"UMEV\x00" + bytes(200), "version 0"),
        (b"UMEV\x01" + bytes(24) + b"\x00" + bytes(200), "no recipients"),
        (b"UMEV\x01" + bytes(24) + b"\x03" + bytes(200), "truncated"),
    ],
)
def test_malformed_envelopes_are_named(blob: bytes, message: str) -> None:
    with pytest.raises(MalformedEnvelope, match=message):
        recipients_of(blob)


def test_duplicate_key_id_in_envelope_is_malformed(vetting_key: BoxPrivateKey) -> None:
    envelope = seal(b"x", [vetting_key.public], AD)
    wrap = envelope[HEADER_BYTES : HEADER_BYTES + WRAP_BYTES]
    doubled = (
        envelope[: HEADER_BYTES - 1] + b"\x02" + wrap + wrap + envelope[HEADER_BYTES + WRAP_BYTES :]
    )
    with pytest.raises(MalformedEnvelope, match="twice"):
        open_envelope(doubled, vetting_key, AD)


def test_non_bytes_input_is_a_type_error(vetting_key: BoxPrivateKey) -> None:
    with pytest.raises(TypeError):
        open_envelope("UMEV", vetting_key, AD)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        seal("text", [vetting_key.public], AD)  # type: ignore[arg-type]


# --- binding to a place ---------------------------------------------------------------


def test_moved_ciphertext_fails_to_open(vetting_key: BoxPrivateKey) -> None:
    envelope = seal(b"narrative", [vetting_key.public], bind("reports", "narrative", 1))
    assert open_envelope(envelope, vetting_key, bind("reports", "narrative", 1)) == b"narrative"
    for elsewhere in (
        bind("reports", "narrative", 2),  # another row
        bind("reports", "offender", 1),  # another column
        bind("members", "narrative", 1),  # another table
        bind("reports", "narrative", 1, version=2),  # another value-group version
        b"",
    ):
        with pytest.raises(TamperedEnvelope):
            open_envelope(envelope, vetting_key, elsewhere)


def test_bind_is_unambiguous() -> None:
    places = [
        ("ab", "c", "1"),
        ("a", "bc", "1"),
        ("a", "b", "c1"),
        ("a", "b", "1"),
        ("a", "b", "11"),
        ("a\x00", "b", "1"),
    ]
    encodings = {bind(*place) for place in places}
    assert len(encodings) == len(places)
    assert bind("a", "b", "1", 1) != bind("a", "b", "1", 11)


def test_bind_treats_int_and_decimal_string_row_ids_alike() -> None:
    assert bind("members", "contact", 5) == bind("members", "contact", "5")
    assert bind("members", "contact", 5) != bind("members", "contact", "05")


@pytest.mark.parametrize(
    "args",
    [("", "c", 1), ("t", "", 1), ("t", "c", ""), ("t", "c", True), ("t", "c", 1.0)],
)
def test_bind_rejects_empty_or_odd_fields(args: tuple[object, ...]) -> None:
    with pytest.raises((ValueError, TypeError)):
        bind(*args)  # type: ignore[arg-type]


def test_bind_rejects_bad_versions() -> None:
    for version in (0, -1, True):
        with pytest.raises(ValueError):
            bind("t", "c", 1, version=version)


# --- rewrapping -----------------------------------------------------------------------


def test_rewrap_add_and_drop(
    vetting_key: BoxPrivateKey, delivery_key: BoxPrivateKey, other_key: BoxPrivateKey
) -> None:
    envelope = seal(b"contact", [vetting_key.public], AD)
    added = rewrap(envelope, vetting_key, add=[delivery_key.public], associated_data=AD)
    assert open_envelope(added, delivery_key, AD) == b"contact"
    assert _payload_part(added) == _payload_part(envelope)

    # Rotation: the old key unwraps, a new key is added, the old key is dropped.
    rotated = rewrap(added, vetting_key, add=[other_key.public], drop=[vetting_key.key_id])
    assert recipients_of(rotated) == [delivery_key.key_id, other_key.key_id]
    assert open_envelope(rotated, other_key, AD) == b"contact"
    assert _payload_part(rotated) == _payload_part(envelope)
    with pytest.raises(UnknownKeyId):
        open_envelope(rotated, vetting_key, AD)


def test_a_rotation_batch_moves_only_what_the_old_key_is_on(
    vetting_key: BoxPrivateKey, delivery_key: BoxPrivateKey, other_key: BoxPrivateKey
) -> None:
    on_old = seal(b"one", [vetting_key.public], AD)
    on_both = seal(b"two", [vetting_key.public, other_key.public], AD)  # a resumed batch
    not_on_old = seal(b"three", [delivery_key.public], AD)
    batch = [on_old, not_on_old, on_both]
    for moved in (move_wraps(batch, vetting_key, other_key.public),
                  move_wraps_in_process(batch, vetting_key.kind, vetting_key.raw,
                                        other_key.kind, other_key.public.raw)):
        assert [index for index, _ in moved] == [0, 2]
        for (index, after), payload in zip(moved, (b"one", b"two"), strict=True):
            assert recipients_of(after) == [other_key.key_id]
            assert open_envelope(after, other_key, AD) == payload
            assert _payload_part(after) == _payload_part(batch[index])


def _app_modules_imported() -> list[str]:
    return sorted(name for name in sys.modules if name == "app" or name.startswith("app."))


def test_a_spawned_rotation_worker_re_wraps_without_importing_the_app(
    vetting_key: BoxPrivateKey, other_key: BoxPrivateKey
) -> None:
    """A rotation's workers are spawned (app/vault/rotation.py): importing any app module
    there would import the app package, Flask and all, 0.65 s a worker."""
    batch = [seal(b"one", [vetting_key.public], AD)]
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        moved = pool.submit(move_wraps_in_process, batch, vetting_key.kind, vetting_key.raw,
                            other_key.kind, other_key.public.raw).result()
        imported = pool.submit(_app_modules_imported).result()
    assert open_envelope(moved[0][1], other_key, AD) == b"one"
    assert imported == []


def test_rewrap_refuses_to_drop_the_last_recipient(vetting_key: BoxPrivateKey) -> None:
    envelope = seal(b"x", [vetting_key.public], AD)
    with pytest.raises(ValueError, match="last recipient"):
        rewrap(envelope, vetting_key, drop=[vetting_key.key_id])


def test_rewrap_refuses_inconsistent_requests(
    vetting_key: BoxPrivateKey, delivery_key: BoxPrivateKey, other_key: BoxPrivateKey
) -> None:
    envelope = seal(b"x", [vetting_key.public, delivery_key.public], AD)
    with pytest.raises(ValueError, match="already a recipient"):
        rewrap(envelope, vetting_key, add=[delivery_key.public])
    with pytest.raises(ValueError, match="not a recipient"):
        rewrap(envelope, vetting_key, drop=[other_key.key_id])
    with pytest.raises(ValueError, match="duplicate"):
        rewrap(envelope, vetting_key, add=[other_key.public, other_key.public])
    with pytest.raises(TypeError):
        rewrap(envelope, vetting_key, drop=delivery_key.key_id)  # type: ignore[arg-type]
    # Dropping and re-adding the same key refreshes its wrap.
    refreshed = rewrap(envelope, vetting_key, drop=[delivery_key.key_id], add=[delivery_key.public])
    assert open_envelope(refreshed, delivery_key, AD) == b"x"


def test_rewrap_needs_a_current_recipient(
    vetting_key: BoxPrivateKey, other_key: BoxPrivateKey, delivery_key: BoxPrivateKey
) -> None:
    envelope = seal(b"x", [vetting_key.public], AD)
    with pytest.raises(UnknownKeyId):
        rewrap(envelope, other_key, add=[delivery_key.public])


def test_rewrap_with_associated_data_verifies_before_rewrapping(
    vetting_key: BoxPrivateKey, delivery_key: BoxPrivateKey
) -> None:
    envelope = seal(b"x", [vetting_key.public], AD)
    with pytest.raises(TamperedEnvelope):
        rewrap(envelope, vetting_key, add=[delivery_key.public], associated_data=b"elsewhere")
    damaged = envelope[:-1] + bytes([envelope[-1] ^ 1])
    with pytest.raises(TamperedEnvelope):
        rewrap(damaged, vetting_key, add=[delivery_key.public], associated_data=AD)


operations = st.lists(
    st.tuples(
        st.sets(st.integers(0, len(POOL) - 1), max_size=3),  # add
        st.sets(st.integers(0, len(POOL) - 1), max_size=3),  # drop
        st.integers(0, len(POOL) - 1),  # which current recipient unwraps
    ),
    min_size=1,
    max_size=6,
)


@COSTLY
@given(start=st.sets(st.integers(0, len(POOL) - 1), min_size=1, max_size=3), ops=operations)
def test_rewrap_sequences_match_a_model(start: set[int], ops: list) -> None:
    envelope = seal(b"rewrap me", [POOL[i].public for i in sorted(start)], AD)
    original = _payload_part(envelope)
    members = set(start)
    for add, drop, opener_pick in ops:
        drop = drop & members
        add = add - (members - drop)
        if not members - drop | add:
            continue  # would drop the last recipient; covered by its own test
        opener = sorted(members)[opener_pick % len(members)]
        envelope = rewrap(
            envelope,
            POOL[opener],
            add=[POOL[i].public for i in sorted(add)],
            drop=[POOL[i].key_id for i in sorted(drop)],
        )
        members = (members - drop) | add
        assert set(recipients_of(envelope)) == {POOL[i].key_id for i in members}
        assert _payload_part(envelope) == original
    for index, key in enumerate(POOL):
        if index in members:
            assert open_envelope(envelope, key, AD) == b"rewrap me"
        else:
            with pytest.raises(UnknownKeyId):
                open_envelope(envelope, key, AD)


# --- known answer ---------------------------------------------------------------------


def test_envelope_kat_v1_still_opens() -> None:
    vector = json.loads(KAT_PATH.read_text(encoding="utf-8"))
    envelope = bytes.fromhex(vector["envelope_hex"])
    associated_data = bytes.fromhex(vector["associated_data_hex"])
    payload = bytes.fromhex(vector["payload_hex"])
    # The place encoding and key ids are part of the stored format too: pin them.
    assert bind(**vector["bind"]) == associated_data
    assert recipients_of(envelope) == [bytes.fromhex(h) for h in vector["recipient_key_ids_hex"]]
    for recipient in vector["recipients"]:
        key = BoxPrivateKey(recipient["kind"], bytes.fromhex(recipient["private_key_hex"]))
        assert key.public.raw.hex() == recipient["public_key_hex"]
        assert key.key_id.hex() == recipient["key_id_hex"]
        assert key.fingerprint == recipient["fingerprint"]
        assert open_envelope(envelope, key, associated_data) == payload
        with pytest.raises(TamperedEnvelope):
            open_envelope(envelope, key, associated_data + b"x")


# --- padding (version 2) --------------------------------------------------------------


def test_payloads_in_one_bucket_give_envelopes_of_one_size(vetting_key: BoxPrivateKey) -> None:
    sizes = {len(seal(b"x" * n, [vetting_key.public], AD)) for n in range(0, 256)}
    assert len(sizes) == 1, "a work name of 3 letters looks like one of 200"


def test_buckets_grow_by_padme_so_a_long_narrative_hides_its_exact_length() -> None:
    assert padded_length(0) == padded_length(255) == 256
    assert padded_length(256) == 512
    for n in (1000, 5000, 20_000, 80_000):
        bucket = padded_length(n)
        assert bucket > n and bucket % 256 == 0
        assert (bucket - n) / n < 0.12, "Padmé wastes at most about 12%"
    distinct = {padded_length(n) for n in range(4000, 8000)}
    assert len(distinct) < 20, "4,000 different lengths fall into a handful of sizes"


@pytest.mark.parametrize("n", [0, 1, 254, 255, 256, 257, 4095, 20_001])
def test_padded_envelopes_open_to_exactly_the_payload(vetting_key: BoxPrivateKey,
                                                      n: int) -> None:
    payload = bytes(range(256)) * (n // 256) + bytes(n % 256)
    assert open_envelope(seal(payload, [vetting_key.public], AD), vetting_key, AD) == payload


def test_rewrapping_keeps_an_envelopes_version(vetting_key: BoxPrivateKey,
                                               delivery_key: BoxPrivateKey) -> None:
    from crypto.envelope import parse_envelope, rewrap

    envelope = seal(b"hello", [vetting_key.public], AD)
    again = rewrap(envelope, vetting_key, add=[delivery_key.public], associated_data=AD)
    assert parse_envelope(again).version == 2
    assert open_envelope(again, delivery_key, AD) == b"hello"


def test_a_wrap_is_removed_without_any_key(vetting_key: BoxPrivateKey,
                                           delivery_key: BoxPrivateKey) -> None:
    from crypto.envelope import recipients_of, without_recipients
    from crypto.errors import UnknownKeyId

    envelope = seal(b"07700 900123", [vetting_key.public, delivery_key.public], AD)
    trimmed = without_recipients(envelope, [delivery_key.key_id])
    assert recipients_of(trimmed) == [vetting_key.key_id]
    assert open_envelope(trimmed, vetting_key, AD) == b"07700 900123"
    with pytest.raises(UnknownKeyId):
        open_envelope(trimmed, delivery_key, AD)
    with pytest.raises(ValueError, match="last recipient"):
        without_recipients(trimmed, [vetting_key.key_id])
