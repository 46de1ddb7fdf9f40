"""The disclosure log's hash chain and signed checkpoints.

Each entry's hash covers its sequence number, the previous entry's hash and a canonical
encoding of its body::

    entry_hash = BLAKE2b-256(person="uglymugs:auditv1",
                             seq as 8 bytes big-endian || prev_hash (32 bytes) || canonical(body))

so editing, deleting, inserting or reordering entries breaks the chain at the first
affected position. The chain alone is unkeyed: someone able to rewrite the whole table
could recompute every hash after an edit. Signed checkpoints close that gap: the server
periodically signs (seq, head hash, time) with the Ed25519 audit key, auditors export the
checkpoints, and :func:`verify_against_checkpoint` shows that the chain still contains
exactly what was signed (which also catches truncation after a checkpoint).

Checkpoint signatures are over::

    "uglymugs:audit-checkpoint:v1\\0" || seq (8 bytes BE) || head_hash (32)
        || len(created_at) (4 bytes BE) || created_at (UTF-8) || signing key id (16)
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

import nacl.exceptions
import nacl.signing

from ._encoding import length_prefixed, strict_hex, utf8
from .errors import MalformedCheckpoint
from .keys import KEY_ID_BYTES, signing_key_id

HASH_BYTES = 32
GENESIS_HASH = bytes(HASH_BYTES)
SIGNATURE_BYTES = 64
CHECKPOINT_FORMAT = "uglymugs-audit-checkpoint"
CHECKPOINT_VERSION = 1

_ENTRY_PERSON = b"uglymugs:auditv1"
_CHECKPOINT_TAG = b"uglymugs:audit-checkpoint:v1\x00"
# Integers beyond 2**53 do not survive JSON readers that use doubles (JavaScript); an
# auditor's independent verifier must be able to re-encode every body exactly.
_MAX_SAFE_INT = 2**53 - 1
_MAX_SEQ = 2**63 - 1


def _plain(value: object, path: str) -> object:
    """Copy ``value`` into plain JSON types, refusing anything without one encoding."""
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str):
            utf8(value, path)
        return value
    if isinstance(value, int):
        if not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            raise ValueError(f"{path}: integer outside the JSON-safe range")
        return int(value)
    if isinstance(value, float):
        raise TypeError(f"{path}: floats have no canonical encoding; use an int or a str")
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: object keys must be str, not {type(key).__name__}")
            utf8(key, path)
            out[key] = _plain(item, f"{path}.{key}")
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise TypeError(f"{path}: {type(value).__name__} is not a JSON type")


def canonical(body: Mapping[str, object]) -> bytes:
    """Encode an entry body as canonical JSON bytes.

    Sorted keys, no whitespace, UTF-8 without escapes. Floats, non-str keys, bytes, sets
    and other non-JSON values raise TypeError, because a value with more than one
    possible encoding would make the hash depend on who computed it.
    """
    if not isinstance(body, Mapping):
        raise TypeError("an audit entry body must be a mapping")
    plain = _plain(body, "body")
    return json.dumps(
        plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _check_seq(seq: object, minimum: int = 1) -> int:
    if isinstance(seq, bool) or not isinstance(seq, int) or not minimum <= seq <= _MAX_SEQ:
        raise ValueError(f"seq must be an int from {minimum} to {_MAX_SEQ}")
    return seq


def _check_hash(value: object, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != HASH_BYTES:
        raise ValueError(f"{what} must be {HASH_BYTES} bytes")
    return value


def entry_hash(seq: int, prev_hash: bytes, body: Mapping[str, object]) -> bytes:
    """Hash one entry (see module doc); seq and prev_hash are fixed-width, so unambiguous."""
    _check_seq(seq)
    _check_hash(prev_hash, "prev_hash")
    h = hashlib.blake2b(digest_size=HASH_BYTES, person=_ENTRY_PERSON)
    h.update(seq.to_bytes(8, "big"))
    h.update(prev_hash)
    h.update(canonical(body))
    return h.digest()


@dataclass(frozen=True)
class ChainedEntry:
    """One log entry as stored: its position, content and both chain hashes."""

    seq: int
    body: Mapping[str, object]
    prev_hash: bytes
    entry_hash: bytes


def append(previous: ChainedEntry | None, body: Mapping[str, object]) -> ChainedEntry:
    """Return the entry that follows ``previous`` (or the first entry, if None).

    The stored body is a read-only copy of the canonical form, so mutating the caller's
    dict afterwards cannot make the entry disagree with its hash.
    """
    if previous is None:
        seq, prev = 1, GENESIS_HASH
    else:
        seq, prev = previous.seq + 1, previous.entry_hash
    encoded = canonical(body)
    frozen = MappingProxyType(json.loads(encoded))
    return ChainedEntry(
        seq=seq, body=frozen, prev_hash=prev, entry_hash=entry_hash(seq, prev, body)
    )


@dataclass(frozen=True)
class ChainVerdict:
    """Result of a verification.

    ``entries_checked`` counts entries that verified before the first failure.
    ``first_bad_seq`` is the first *position* at which the chain stops being valid: the
    seq that was expected there (for a deleted entry, the missing seq; for an edited one,
    its own seq). ``reason`` says what was found there, for the auditor's report.
    """

    ok: bool
    entries_checked: int
    first_bad_seq: int | None
    reason: str | None


def _fail(checked: int, seq: int, reason: str) -> ChainVerdict:
    return ChainVerdict(ok=False, entries_checked=checked, first_bad_seq=seq, reason=reason)


def verify_chain(
    entries: Iterable[ChainedEntry], *, start_seq: int = 1, start_hash: bytes = GENESIS_HASH
) -> ChainVerdict:
    """Check that ``entries`` form an unbroken chain starting at ``start_seq``.

    ``start_seq``/``start_hash`` allow verifying a segment that starts after a known-good
    point (a verified checkpoint). An empty chain is trivially valid.
    """
    expected_seq = _check_seq(start_seq)
    expected_prev = _check_hash(start_hash, "start_hash")
    checked = 0
    for entry in entries:
        if type(entry.seq) is not int or entry.seq != expected_seq:
            found = entry.seq
            if isinstance(found, int) and found > expected_seq:
                reason = f"entry {expected_seq} is missing (found entry {found} in its place)"
            else:
                reason = (
                    f"expected entry {expected_seq}, found entry {found!r} "
                    "(an entry was inserted or the order changed)"
                )
            return _fail(checked, expected_seq, reason)
        if not isinstance(entry.prev_hash, bytes) or not hmac.compare_digest(
            entry.prev_hash, expected_prev
        ):
            return _fail(
                checked,
                expected_seq,
                f"entry {expected_seq} does not follow entry {expected_seq - 1} "
                "(previous-hash mismatch)",
            )
        try:
            recomputed = entry_hash(entry.seq, entry.prev_hash, entry.body)
        except (TypeError, ValueError) as exc:
            return _fail(checked, expected_seq, f"entry {expected_seq} has an invalid body: {exc}")
        if not isinstance(entry.entry_hash, bytes) or not hmac.compare_digest(
            entry.entry_hash, recomputed
        ):
            return _fail(
                checked,
                expected_seq,
                f"entry {expected_seq} was altered (its hash does not match its content)",
            )
        checked += 1
        expected_prev = entry.entry_hash
        expected_seq += 1
    return ChainVerdict(ok=True, entries_checked=checked, first_bad_seq=None, reason=None)


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement "the log had ``seq`` entries, ending in ``head_hash``"."""

    seq: int
    head_hash: bytes
    created_at: str
    key_id: bytes
    signature: bytes

    def to_json(self) -> str:
        """Export as a small JSON document for auditors to keep outside the server."""
        return json.dumps(
            {
                "format": CHECKPOINT_FORMAT,
                "version": CHECKPOINT_VERSION,
                "seq": self.seq,
                "head_hash": self.head_hash.hex(),
                "created_at": self.created_at,
                "key_id": self.key_id.hex(),
                "signature": self.signature.hex(),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Parse an exported checkpoint; MalformedCheckpoint if it is not well formed.

        Parsing does not verify the signature: call :func:`verify_checkpoint`.
        """
        try:
            doc = json.loads(text)
        except (TypeError, ValueError, RecursionError):
            raise MalformedCheckpoint("not a checkpoint document (bad JSON)") from None
        fields = {"format", "version", "seq", "head_hash", "created_at", "key_id", "signature"}
        if not isinstance(doc, dict) or set(doc) != fields:
            raise MalformedCheckpoint("not a checkpoint document (unexpected fields)")
        version = doc["version"]
        if (
            doc["format"] != CHECKPOINT_FORMAT
            or type(version) is not int
            or version != CHECKPOINT_VERSION
        ):
            raise MalformedCheckpoint("not a version 1 checkpoint document")
        seq = doc["seq"]
        head = strict_hex(doc["head_hash"], HASH_BYTES)
        kid = strict_hex(doc["key_id"], KEY_ID_BYTES)
        signature = strict_hex(doc["signature"], SIGNATURE_BYTES)
        if (
            type(seq) is not int
            or not 0 <= seq <= _MAX_SEQ
            or not isinstance(doc["created_at"], str)
            or head is None
            or kid is None
            or signature is None
        ):
            raise MalformedCheckpoint("checkpoint document has a malformed field")
        return cls(seq, head, doc["created_at"], kid, signature)


def _checkpoint_message(seq: int, head_hash: bytes, created_at: str, kid: bytes) -> bytes:
    return (
        _CHECKPOINT_TAG
        + seq.to_bytes(8, "big")
        + head_hash
        + length_prefixed(utf8(created_at, "created_at"))
        + kid
    )


def _check_timestamp(created_at: object) -> str:
    if not isinstance(created_at, str):
        raise TypeError("created_at must be an ISO 8601 str")
    try:
        parsed = datetime.fromisoformat(created_at)
    except ValueError:
        raise ValueError("created_at must be an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        raise ValueError("created_at must include a timezone (e.g. +00:00) to be unambiguous")
    return created_at


def sign_checkpoint(
    signing_key: nacl.signing.SigningKey, seq: int, head_hash: bytes, created_at: str
) -> Checkpoint:
    """Sign the chain head at ``seq`` (0 with GENESIS_HASH signs the empty log)."""
    _check_seq(seq, minimum=0)
    _check_hash(head_hash, "head_hash")
    _check_timestamp(created_at)
    kid = signing_key_id(signing_key.verify_key)
    signature = signing_key.sign(_checkpoint_message(seq, head_hash, created_at, kid)).signature
    return Checkpoint(seq, head_hash, created_at, kid, signature)


def verify_checkpoint(verify_key: nacl.signing.VerifyKey, checkpoint: Checkpoint) -> bool:
    """True only if ``checkpoint`` was signed by ``verify_key``; never raises for forgeries."""
    try:
        if not hmac.compare_digest(signing_key_id(verify_key), checkpoint.key_id):
            return False
        message = _checkpoint_message(
            checkpoint.seq, checkpoint.head_hash, checkpoint.created_at, checkpoint.key_id
        )
        verify_key.verify(message, checkpoint.signature)
    except (
        nacl.exceptions.BadSignatureError,
        nacl.exceptions.CryptoError,
        TypeError,
        ValueError,
        OverflowError,
        AttributeError,
    ):
        return False
    return True


def verify_against_checkpoint(
    entries: Sequence[ChainedEntry],
    checkpoint: Checkpoint,
    *,
    verify_key: nacl.signing.VerifyKey | None = None,
) -> ChainVerdict:
    """Verify the whole chain and that it still contains the checkpointed head.

    ``entries`` must be the chain from seq 1. Fails if the chain is broken, if it ends
    before the checkpoint's seq (truncated), or if the entry at that seq is not the one
    that was signed (the history up to it was rewritten and rehashed). With
    ``verify_key`` the checkpoint's signature is checked too.
    """
    if verify_key is not None and not verify_checkpoint(verify_key, checkpoint):
        return _fail(0, checkpoint.seq, "the checkpoint's signature is not valid")
    verdict = verify_chain(entries)
    if not verdict.ok:
        return verdict
    if checkpoint.seq == 0:
        if hmac.compare_digest(checkpoint.head_hash, GENESIS_HASH):
            return verdict
        return _fail(verdict.entries_checked, 0, "the checkpoint of the empty log is not genesis")
    at_seq = [entry for entry in entries if entry.seq == checkpoint.seq]
    if not at_seq:
        return _fail(
            verdict.entries_checked,
            verdict.entries_checked + 1,
            f"the log ends at entry {verdict.entries_checked} but was signed at entry "
            f"{checkpoint.seq}: entries were removed from the end",
        )
    if not hmac.compare_digest(at_seq[0].entry_hash, checkpoint.head_hash):
        return _fail(
            verdict.entries_checked,
            checkpoint.seq,
            f"entry {checkpoint.seq} differs from the signed checkpoint: the log up to it "
            "was rewritten",
        )
    return verdict
