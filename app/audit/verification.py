"""Verifying the disclosure log: the hash chain, every signed checkpoint, and kept copies.

What is checked, in one pass (`verify_log`):

* the chain from entry 1 (crypto.audit_chain.verify_chain): an edited body, a deleted,
  inserted or reordered entry breaks it at the first affected position;
* every checkpoint stored in ``audit_checkpoints``: its Ed25519 signature against the
  server's audit verify key, and that the log still holds the entry it signed (a
  checkpoint beyond the end of the log means entries were removed from the end; an entry
  whose hash differs from a signed head means the history up to it was rewritten and
  rehashed);
* optionally, checkpoints an auditor kept away from the server (exported JSON): the same
  checks, and that the server's own table still holds them.

Audit keys over time (`keys rotate audit`). Only the current key (keys/audit.pub) is
trusted from outside the database. Each rotation stores a handover checkpoint signed by
the new key and co-signed, over the same head, by the old one (``audit_cosignatures``,
which keeps the old key's public half): a valid co-signature on a checkpoint signed by a
trusted key makes the old key trusted for checkpoints up to that handover, and so on back
to the first key. So every old checkpoint keeps verifying, a key nobody handed over to is
unknown (its checkpoints fail), and a retired key cannot sign anything after its handover.

What cannot be detected, by design: entries after the last checkpoint removed from the
end, or rewritten and rehashed, since nothing signed covers them yet. The verdict says how
far the signed coverage reaches.

Bodies are read strictly here (duplicate keys, NaN and non-object JSON count as damage),
so what an auditor is shown, filters and exports is exactly what was verified.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
import nacl.signing

from app.vault.db import Connection
from crypto import audit_chain
from crypto.audit_chain import ChainedEntry, Checkpoint
from crypto.keys import format_fingerprint, signing_key_id

SERVER = "server"
KEPT = "kept"


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _value in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def parse_body(text: object) -> dict[str, object] | None:
    """The stored body as a dict, or None if it is not one canonical-able JSON object."""
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicate_keys,
                           parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def read_entries(conn: Connection) -> list[ChainedEntry]:
    """Every stored entry in seq order; an unreadable body becomes None (fails the chain)."""
    rows = conn.execute(
        "SELECT seq, body, prev_hash, entry_hash FROM disclosure_log ORDER BY seq").fetchall()
    return [
        ChainedEntry(seq=row["seq"], body=parse_body(row["body"]),  # type: ignore[arg-type]
                     prev_hash=_bytes_if_blob(row["prev_hash"]),
                     entry_hash=_bytes_if_blob(row["entry_hash"]))
        for row in rows
    ]


def _bytes_if_blob(value: object) -> Any:
    """A BLOB as bytes; anything else (a tampered TEXT or NULL) as stored, to fail the chain."""
    return bytes(value) if isinstance(value, bytes) else value


def stored_checkpoints(conn: Connection) -> list[Checkpoint]:
    rows = conn.execute("SELECT seq, head_hash, created_at, key_id, signature "
                        "FROM audit_checkpoints ORDER BY seq").fetchall()
    return [Checkpoint(seq=row["seq"], head_hash=bytes(row["head_hash"]),
                       created_at=str(row["created_at"]), key_id=bytes(row["key_id"]),
                       signature=bytes(row["signature"]))
            for row in rows]


@dataclass(frozen=True)
class Cosignature:
    """A second signature of a stored checkpoint, by the key it hands over from."""

    checkpoint: Checkpoint  # the same head, signed by the old key
    verify_key: bytes


def stored_cosignatures(conn: Connection) -> list[Cosignature]:
    # A database (or backup) from before migration 0016 has no handovers to read.
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                    "AND name = 'audit_cosignatures'").fetchone() is None:
        return []
    rows = conn.execute(
        "SELECT c.seq, c.key_id, c.verify_key, c.signature, p.head_hash, p.created_at "
        "FROM audit_cosignatures AS c JOIN audit_checkpoints AS p ON p.seq = c.seq "
        "ORDER BY c.seq").fetchall()
    return [Cosignature(Checkpoint(seq=row["seq"], head_hash=bytes(row["head_hash"]),
                                   created_at=str(row["created_at"]),
                                   key_id=bytes(row["key_id"]),
                                   signature=bytes(row["signature"])),
                        bytes(row["verify_key"]))
            for row in rows]


@dataclass(frozen=True)
class TrustedKey:
    verify_key: nacl.signing.VerifyKey
    until: int | None  # the last entry it may sign (its handover); None: the current key


def trusted_keys(conn: Connection, current: nacl.signing.VerifyKey,
                 server: Sequence[Checkpoint] | None = None) -> dict[bytes, TrustedKey]:
    """Every audit key trusted, by key id: the current one, and each older one that a
    trusted key's checkpoint was co-signed by (see the module's doc)."""
    by_seq = {c.seq: c for c in (stored_checkpoints(conn) if server is None else server)}
    trusted = {signing_key_id(current): TrustedKey(current, None)}
    pending = stored_cosignatures(conn)
    changed = True
    while changed:
        changed = False
        for co in list(pending):
            signed = by_seq.get(co.checkpoint.seq)
            signer = trusted.get(signed.key_id) if signed is not None else None
            if (signed is None or signer is None
                    or (signer.until is not None and signed.seq > signer.until)
                    or not audit_chain.verify_checkpoint(signer.verify_key, signed)):
                continue
            pending.remove(co)
            try:
                old = nacl.signing.VerifyKey(co.verify_key)
            except (TypeError, ValueError, nacl.exceptions.CryptoError):
                continue
            if (co.checkpoint.key_id in trusted
                    or not audit_chain.verify_checkpoint(old, co.checkpoint)):
                continue
            trusted[co.checkpoint.key_id] = TrustedKey(old, signed.seq)
            changed = True
    return trusted


def stored_checkpoint(conn: Connection, seq: int) -> Checkpoint | None:
    found = [c for c in stored_checkpoints(conn) if c.seq == seq]
    return found[0] if found else None


@dataclass(frozen=True)
class Problem:
    """One thing wrong. ``seq`` names the entry where the log goes wrong, if it is one."""

    message: str
    seq: int | None = None


@dataclass(frozen=True)
class CheckpointCheck:
    checkpoint: Checkpoint
    source: str  # SERVER (the audit_checkpoints table) or KEPT (an exported copy)
    signature_ok: bool
    matches_log: bool | None  # None: not compared (bad signature, or the chain breaks first)
    note: str


@dataclass(frozen=True)
class LogVerdict:
    ok: bool
    entries: int  # entries stored
    verified: int  # entries that verified in order from entry 1
    problems: tuple[Problem, ...]
    checkpoints: tuple[CheckpointCheck, ...]
    covered_to: int  # the last entry covered by a valid checkpoint that matches (0: none)
    key_fingerprint: str

    @property
    def first_bad_seq(self) -> int | None:
        named = [p.seq for p in self.problems if p.seq is not None]
        return min(named) if named else None

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    @property
    def uncovered(self) -> int:
        """Entries after the last matching checkpoint: not yet protected by a signature."""
        return max(0, self.entries - self.covered_to)

    def summary(self) -> str:
        """One line for a terminal or a page heading."""
        if self.ok:
            entries = "1 entry" if self.entries == 1 else f"{self.entries} entries"
            return (f"VERIFIED: {entries}, the chain is unbroken and every "
                    f"checkpoint is validly signed and matches the log.")
        first = self.first_problem
        assert first is not None
        if self.first_bad_seq is not None:
            named = next(p for p in self.problems if p.seq == self.first_bad_seq)
            return f"FAILED: first bad entry: {self.first_bad_seq}: {named.message}"
        return f"FAILED: {first.message}"


def _describe(checkpoint: Checkpoint, source: str) -> str:
    where = "kept checkpoint" if source == KEPT else "checkpoint"
    return f"the {where} at entry {checkpoint.seq} (signed {checkpoint.created_at})"


def verify_log(conn: Connection, verify_key: nacl.signing.VerifyKey,
               kept: Sequence[Checkpoint] = ()) -> LogVerdict:
    """Verify the stored log, the stored checkpoints and any kept checkpoints (see module)."""
    entries = read_entries(conn)
    chain = audit_chain.verify_chain(entries)
    valid = chain.entries_checked  # entries 1..valid verified in order
    hashes = {entry.seq: entry.entry_hash for entry in entries[:valid]}
    problems: list[Problem] = []
    if not chain.ok:
        problems.append(Problem(str(chain.reason), chain.first_bad_seq))

    server = stored_checkpoints(conn)
    server_by_seq = {c.seq: c for c in server}
    checks: list[CheckpointCheck] = []
    covered_to = 0
    labelled = [(c, SERVER) for c in server] + [(c, KEPT) for c in kept]
    trusted = trusted_keys(conn, verify_key, server)
    for checkpoint, source in labelled:
        what = _describe(checkpoint, source)
        signer = trusted.get(checkpoint.key_id)
        if signer is not None and signer.until is not None and checkpoint.seq > signer.until:
            problems.append(Problem(f"{what} is signed by a retired audit key after it was "
                                    f"handed over at entry {signer.until}"))
            checks.append(CheckpointCheck(checkpoint, source, False, None,
                                          "not compared with the log"))
            continue
        if signer is None or not audit_chain.verify_checkpoint(signer.verify_key, checkpoint):
            problems.append(Problem(f"{what} has an invalid signature: it was forged, "
                                    "altered, or signed with another key"))
            checks.append(CheckpointCheck(checkpoint, source, False, None,
                                          "not compared with the log"))
            continue
        matches, note = _compare(checkpoint, hashes, valid, chain.ok, len(entries))
        if matches is False:
            seq = checkpoint.seq if checkpoint.seq <= valid else valid + 1
            problems.append(Problem(f"{what}: {note}", seq))
        elif matches:
            covered_to = max(covered_to, checkpoint.seq)
        if source == KEPT:
            held = server_by_seq.get(checkpoint.seq)
            if held is None or held != checkpoint:
                gone = "is missing from" if held is None else "was replaced in"
                problems.append(Problem(f"{what} {gone} the server's checkpoint table"))
                note = f"{note}; {gone} the server's table"
        checks.append(CheckpointCheck(checkpoint, source, True, matches, note))

    problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return LogVerdict(
        ok=not problems, entries=len(entries), verified=valid, problems=tuple(problems),
        checkpoints=tuple(checks), covered_to=covered_to if not problems else 0,
        key_fingerprint=format_fingerprint(signing_key_id(verify_key)),
    )


def _compare(checkpoint: Checkpoint, hashes: dict[int, bytes], valid: int, chain_ok: bool,
             stored: int) -> tuple[bool | None, str]:
    """Does the verified part of the log hold the head this checkpoint signed?"""
    if checkpoint.seq == 0:
        if hmac.compare_digest(checkpoint.head_hash, audit_chain.GENESIS_HASH):
            return True, "the empty log: matches"
        return False, "a checkpoint of the empty log that is not the genesis hash"
    if checkpoint.seq <= valid:
        if hmac.compare_digest(hashes[checkpoint.seq], checkpoint.head_hash):
            return True, "matches the log"
        return False, (f"entry {checkpoint.seq} differs from what was signed: the log up "
                       f"to entry {checkpoint.seq} was rewritten")
    if chain_ok:
        return False, (f"the log ends at entry {stored}, but entries up to "
                       f"{checkpoint.seq} were signed: entries {stored + 1} to "
                       f"{checkpoint.seq} were removed")
    return None, f"not compared: the chain breaks at entry {valid + 1}, before it"


def parse_kept(text: str) -> list[Checkpoint]:
    """Checkpoints from an exported file: one checkpoint document, or a list of them.

    Raises crypto.errors.MalformedCheckpoint for anything else.
    """
    from crypto.errors import MalformedCheckpoint

    try:
        doc = json.loads(text)
    except (TypeError, ValueError, RecursionError):
        raise MalformedCheckpoint("not a checkpoint document (bad JSON)") from None
    if isinstance(doc, list):
        if not doc:
            raise MalformedCheckpoint("the file lists no checkpoint")
        return [Checkpoint.from_json(json.dumps(item)) for item in doc]
    return [Checkpoint.from_json(text)]


def export_all(checkpoints: Sequence[Checkpoint]) -> str:
    """Every checkpoint as one JSON list of exported checkpoint documents."""
    return "[\n" + ",\n".join(c.to_json() for c in checkpoints) + "\n]\n"
