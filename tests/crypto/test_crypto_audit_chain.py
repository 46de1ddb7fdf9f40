"""The disclosure log's hash chain and signed checkpoints."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Sequence

import nacl.signing
import pytest
from crypto_testkit import CHEAP
from hypothesis import given
from hypothesis import strategies as st

from crypto.audit_chain import (
    GENESIS_HASH,
    ChainedEntry,
    Checkpoint,
    append,
    canonical,
    entry_hash,
    sign_checkpoint,
    verify_against_checkpoint,
    verify_chain,
    verify_checkpoint,
)
from crypto.errors import MalformedCheckpoint

NOW = "2025-03-01T12:00:00+00:00"


def _body(n: int) -> dict[str, object]:
    return {
        "actor": f"coordinator-{n % 3}",
        "action": "unseal",
        "records": [n, n + 1],
        "fields": ["contact"],
        "purpose": "vetting",
        "legal_basis": "consent",
        "member_notified": n % 2 == 0,
        "at": f"2025-03-01T12:{n:02d}:00+00:00",
    }


def _chain(length: int) -> list[ChainedEntry]:
    entries: list[ChainedEntry] = []
    for n in range(length):
        entries.append(append(entries[-1] if entries else None, _body(n)))
    return entries


def _reseq(entry: ChainedEntry, **changes: object) -> ChainedEntry:
    return dataclasses.replace(entry, **changes)


# --- chain ----------------------------------------------------------------------------


def test_append_and_verify() -> None:
    entries = _chain(6)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(entries))
    verdict = verify_chain(entries)
    assert verdict.ok and verdict.entries_checked == 6
    assert verdict.first_bad_seq is None and verdict.reason is None
    assert verify_chain([]).ok


def test_appended_body_is_a_frozen_copy() -> None:
    body = _body(0)
    entry = append(None, body)
    body["purpose"] = "something else"
    assert entry.body["purpose"] == "vetting"
    with pytest.raises(TypeError):
        entry.body["purpose"] = "edited"  # type: ignore[index]
    assert verify_chain([entry]).ok


def test_edited_body_is_detected_and_named() -> None:
    entries = _chain(5)
    edited = dict(entries[2].body, purpose="court order")
    entries[2] = _reseq(entries[2], body=edited)
    verdict = verify_chain(entries)
    assert not verdict.ok
    assert verdict.first_bad_seq == 3 and verdict.entries_checked == 2
    assert "altered" in verdict.reason


def test_edited_body_with_recomputed_hash_breaks_the_next_link() -> None:
    entries = _chain(5)
    edited = dict(entries[2].body, purpose="court order")
    entries[2] = _reseq(
        entries[2], body=edited, entry_hash=entry_hash(3, entries[2].prev_hash, edited)
    )
    verdict = verify_chain(entries)
    assert not verdict.ok and verdict.first_bad_seq == 4
    assert "previous-hash" in verdict.reason


def test_deleted_entry_is_detected_and_named() -> None:
    entries = _chain(5)
    del entries[2]
    verdict = verify_chain(entries)
    assert not verdict.ok and verdict.first_bad_seq == 3
    assert "missing" in verdict.reason


def test_deleted_entry_with_renumbering_is_detected() -> None:
    entries = _chain(5)
    del entries[2]
    entries = [entries[0], entries[1]] + [_reseq(e, seq=e.seq - 1) for e in entries[2:]]
    verdict = verify_chain(entries)
    assert not verdict.ok and verdict.first_bad_seq == 3


def test_inserted_entry_is_detected() -> None:
    entries = _chain(5)
    forged = append(entries[1], {"actor": "intruder", "action": "unseal"})  # a valid-looking seq 3
    verdict = verify_chain([*entries[:2], forged, *entries[2:]])
    assert not verdict.ok and verdict.first_bad_seq == 4
    assert "inserted" in verdict.reason

    renumbered = entries[:2] + [forged] + [_reseq(e, seq=e.seq + 1) for e in entries[2:]]
    verdict = verify_chain(renumbered)
    assert not verdict.ok and verdict.first_bad_seq == 4


def test_reordered_entries_are_detected() -> None:
    entries = _chain(5)
    entries[1], entries[2] = entries[2], entries[1]
    verdict = verify_chain(entries)
    assert not verdict.ok and verdict.first_bad_seq == 2


@pytest.mark.parametrize("field", ["prev_hash", "entry_hash"])
def test_corrupted_hashes_are_detected(field: str) -> None:
    entries = _chain(3)
    entries[1] = _reseq(entries[1], **{field: bytes(32)})
    verdict = verify_chain(entries)
    assert not verdict.ok and verdict.first_bad_seq == 2


def test_a_body_that_cannot_be_encoded_is_a_failure_not_a_crash() -> None:
    entries = _chain(2)
    entries[1] = _reseq(entries[1], body={"amount": 1.5})
    verdict = verify_chain(entries)
    assert not verdict.ok and verdict.first_bad_seq == 2


def test_verification_can_start_from_a_known_point() -> None:
    entries = _chain(6)
    verdict = verify_chain(entries[3:], start_seq=4, start_hash=entries[2].entry_hash)
    assert verdict.ok and verdict.entries_checked == 3
    assert not verify_chain(entries[3:]).ok


@CHEAP
@given(length=st.integers(2, 8), data=st.data())
def test_any_single_deletion_or_swap_is_detected(length: int, data: st.DataObject) -> None:
    entries = _chain(length)
    i = data.draw(st.integers(0, length - 2))
    if data.draw(st.booleans()):
        tampered = entries[:i] + entries[i + 1 :]
    else:
        tampered = list(entries)
        tampered[i], tampered[i + 1] = tampered[i + 1], tampered[i]
    verdict = verify_chain(tampered)
    assert not verdict.ok and verdict.first_bad_seq == i + 1


# --- canonical encoding ---------------------------------------------------------------


def test_canonical_encoding_is_stable() -> None:
    assert canonical({"b": 1, "a": ["x", None, True]}) == b'{"a":["x",null,true],"b":1}'
    assert canonical({"name": "Zoë ✓"}) == '{"name":"Zoë ✓"}'.encode()
    assert canonical({"a": (1, 2)}) == canonical({"a": [1, 2]})
    assert canonical({"z": 1, "a": 2}) == canonical({"a": 2, "z": 1})


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 1.0},
        {"nested": {"deep": [0.5]}},
        {"nan": float("nan")},
        {"raw": b"bytes"},
        {"set": {1, 2}},
        {1: "int key"},
        {"obj": object()},
    ],
)
def test_canonical_encoding_rejects_non_json_types(body: dict) -> None:
    with pytest.raises(TypeError):
        canonical(body)


def test_canonical_encoding_rejects_unsafe_integers_and_bad_text() -> None:
    with pytest.raises(ValueError):
        canonical({"big": 2**60})
    with pytest.raises(ValueError):
        canonical({"text": "\ud800"})
    with pytest.raises(TypeError):
        canonical(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_entry_hash_known_answer() -> None:
    # Stored chains depend on this exact encoding: changing it breaks every old chain.
    digest = entry_hash(1, GENESIS_HASH, {"action": "unseal", "records": [1, 2], "who": "zoë"})
    assert digest.hex() == "e92affac515e58545fcff7a30711da291942a8a52021833a92956b7a686a130c"


# --- checkpoints ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def signing_key() -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey.generate()


def test_checkpoint_sign_verify_and_export(signing_key: nacl.signing.SigningKey) -> None:
    entries = _chain(4)
    checkpoint = sign_checkpoint(signing_key, 4, entries[-1].entry_hash, NOW)
    assert verify_checkpoint(signing_key.verify_key, checkpoint)
    restored = Checkpoint.from_json(checkpoint.to_json())
    assert restored == checkpoint
    assert verify_checkpoint(signing_key.verify_key, restored)
    assert verify_against_checkpoint(entries, checkpoint, verify_key=signing_key.verify_key).ok


def test_forged_or_altered_checkpoints_do_not_verify(signing_key: nacl.signing.SigningKey) -> None:
    checkpoint = sign_checkpoint(signing_key, 4, bytes(range(32)), NOW)
    forged_signature = bytearray(checkpoint.signature)
    forged_signature[0] ^= 1
    for altered in (
        dataclasses.replace(checkpoint, signature=bytes(forged_signature)),
        dataclasses.replace(checkpoint, signature=b"short"),
        dataclasses.replace(checkpoint, seq=5),
        dataclasses.replace(checkpoint, seq=-1),
        dataclasses.replace(checkpoint, head_hash=bytes(32)),
        dataclasses.replace(checkpoint, created_at="2030-01-01T00:00:00+00:00"),
        dataclasses.replace(checkpoint, key_id=bytes(16)),
    ):
        assert verify_checkpoint(signing_key.verify_key, altered) is False
    other = nacl.signing.SigningKey.generate()
    assert verify_checkpoint(other.verify_key, checkpoint) is False
    # Someone else's valid signature, relabelled with our key id, still fails.
    theirs = sign_checkpoint(other, 4, bytes(range(32)), NOW)
    relabelled = dataclasses.replace(theirs, key_id=checkpoint.key_id)
    assert verify_checkpoint(signing_key.verify_key, relabelled) is False


def test_truncation_after_a_checkpoint_is_detected(signing_key: nacl.signing.SigningKey) -> None:
    entries = _chain(6)
    checkpoint = sign_checkpoint(signing_key, 5, entries[4].entry_hash, NOW)
    assert verify_against_checkpoint(entries, checkpoint).ok
    truncated = entries[:3]
    assert verify_chain(truncated).ok  # the chain alone cannot see it ...
    verdict = verify_against_checkpoint(truncated, checkpoint)  # ... the checkpoint can
    assert not verdict.ok and verdict.first_bad_seq == 4
    assert "removed" in verdict.reason


def test_rewritten_history_is_detected_by_the_checkpoint(
    signing_key: nacl.signing.SigningKey,
) -> None:
    entries = _chain(5)
    checkpoint = sign_checkpoint(signing_key, 5, entries[-1].entry_hash, NOW)
    # Rewrite entry 2 and recompute every later hash: a consistent, but different, chain.
    rewritten: list[ChainedEntry] = entries[:1]
    for entry in entries[1:]:
        body = dict(entry.body, purpose="court order") if entry.seq == 2 else entry.body
        rewritten.append(append(rewritten[-1], body))
    assert verify_chain(rewritten).ok
    verdict = verify_against_checkpoint(rewritten, checkpoint)
    assert not verdict.ok and verdict.first_bad_seq == 5 and "rewritten" in verdict.reason


def test_verify_against_checkpoint_reports_chain_errors_and_bad_signatures(
    signing_key: nacl.signing.SigningKey,
) -> None:
    entries = _chain(4)
    checkpoint = sign_checkpoint(signing_key, 4, entries[-1].entry_hash, NOW)
    broken: Sequence[ChainedEntry] = entries[:1] + entries[2:]
    assert verify_against_checkpoint(broken, checkpoint).first_bad_seq == 2
    other = nacl.signing.SigningKey.generate()
    verdict = verify_against_checkpoint(entries, checkpoint, verify_key=other.verify_key)
    assert not verdict.ok and "signature" in verdict.reason


def test_empty_log_checkpoint(signing_key: nacl.signing.SigningKey) -> None:
    checkpoint = sign_checkpoint(signing_key, 0, GENESIS_HASH, NOW)
    assert verify_against_checkpoint([], checkpoint).ok
    assert verify_against_checkpoint(_chain(2), checkpoint).ok


@pytest.mark.parametrize("created_at", ["", "yesterday", "2025-03-01T12:00:00"])
def test_checkpoint_timestamps_must_be_unambiguous(
    signing_key: nacl.signing.SigningKey, created_at: str
) -> None:
    with pytest.raises(ValueError):
        sign_checkpoint(signing_key, 1, bytes(32), created_at)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{}",
        '{"format": "uglymugs-audit-checkpoint"}',
    ],
)
def test_malformed_checkpoint_documents(text: str) -> None:
    with pytest.raises(MalformedCheckpoint):
        Checkpoint.from_json(text)


def test_checkpoint_document_fields_are_checked(signing_key: nacl.signing.SigningKey) -> None:
    document = json.loads(sign_checkpoint(signing_key, 3, bytes(32), NOW).to_json())
    for field, value in [
        ("seq", "3"),
        ("seq", True),
        ("head_hash", "00"),
        ("signature", "zz"),
        ("version", 2),
        ("version", True),
        ("key_id", None),
    ]:
        with pytest.raises(MalformedCheckpoint):
            Checkpoint.from_json(json.dumps(dict(document, **{field: value})))
