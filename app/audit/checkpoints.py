"""Signing checkpoints of the disclosure log's head with the audit key.

Only the CLI (`flask --app app audit checkpoint`) and the worker's daily job hold the
audit signing key (crypto.keystore.load_audit_signing_key); the web process never does.
Both call :func:`make_checkpoint`.

Decisions:

* An empty log is not signed (``None``): a checkpoint of nothing protects nothing, and the
  first entry's checkpoint follows on the next run after it is written.
* A head that already has a checkpoint is not signed again (``None``): the table holds one
  checkpoint per entry number.
* A log that does not verify is never signed (:class:`LogNotVerified`): a signature over a
  rewritten log would vouch for the rewrite. The operator must investigate first.
"""

from __future__ import annotations

from datetime import datetime

import nacl.signing

from app.audit.verification import LogVerdict, stored_checkpoint, verify_log
from app.vault import log
from app.vault.db import Connection, transaction
from crypto import audit_chain
from crypto.audit_chain import Checkpoint
from crypto.keys import format_fingerprint, signing_key_id


class LogNotVerified(Exception):
    """The log failed verification, so no checkpoint was signed."""

    def __init__(self, verdict: LogVerdict) -> None:
        super().__init__(verdict.summary())
        self.verdict = verdict


def make_checkpoint(conn: Connection, signing_key: nacl.signing.SigningKey,
                    now: datetime) -> Checkpoint | None:
    """Verify the log, then sign and store a checkpoint of its head.

    Returns the new checkpoint, or None when the log is empty or its head is already
    checkpointed. Raises LogNotVerified (signing nothing) if the chain or any stored
    checkpoint fails verification. ``now`` must be timezone-aware. Runs in its own
    BEGIN IMMEDIATE transaction (so call it outside any open one): no entry can be
    appended between verifying the head and signing it.
    """
    created_at = now.isoformat(timespec="seconds")
    with transaction(conn):
        verdict = verify_log(conn, signing_key.verify_key)
        if not verdict.ok:
            raise LogNotVerified(verdict)
        row = conn.execute("SELECT seq, entry_hash FROM disclosure_log "
                           "ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return None
        seq, head_hash = int(row["seq"]), bytes(row["entry_hash"])
        if conn.execute("SELECT 1 FROM audit_checkpoints WHERE seq = ?", (seq,)).fetchone():
            return None
        checkpoint = audit_chain.sign_checkpoint(signing_key, seq, head_hash, created_at)
        conn.execute(
            "INSERT INTO audit_checkpoints (seq, head_hash, created_at, key_id, signature) "
            "VALUES (?, ?, ?, ?, ?)",
            (checkpoint.seq, checkpoint.head_hash, checkpoint.created_at, checkpoint.key_id,
             checkpoint.signature))
    return checkpoint


def handed_over(conn: Connection, old: nacl.signing.VerifyKey,
                new: nacl.signing.VerifyKey) -> Checkpoint | None:
    """The handover checkpoint from `old` to `new`, if one is stored."""
    row = conn.execute(
        "SELECT p.seq FROM audit_checkpoints AS p JOIN audit_cosignatures AS c "
        "ON c.seq = p.seq WHERE p.key_id = ? AND c.key_id = ?",
        (signing_key_id(new), signing_key_id(old))).fetchone()
    return None if row is None else stored_checkpoint(conn, int(row["seq"]))


def hand_over(conn: Connection, old: nacl.signing.SigningKey, new: nacl.signing.SigningKey,
              now: datetime) -> Checkpoint:
    """Log the audit key's rotation and sign the log's head with the new key and the old.

    One transaction: the log must verify under the old key first (trust is never handed
    over for a rewritten log). Running it again after a kill finds the handover made.
    """
    created_at = now.isoformat(timespec="seconds")
    with transaction(conn):
        done = handed_over(conn, old.verify_key, new.verify_key)
        if done is not None:
            return done
        verdict = verify_log(conn, old.verify_key)
        if not verdict.ok:
            raise LogNotVerified(verdict)
        log.append(conn, log.audit_key_rotated(
            at=now, actor=log.OPERATOR,
            old_key=format_fingerprint(signing_key_id(old.verify_key)),
            new_key=format_fingerprint(signing_key_id(new.verify_key))))
        row = conn.execute("SELECT seq, entry_hash FROM disclosure_log "
                           "ORDER BY seq DESC LIMIT 1").fetchone()
        seq, head_hash = int(row["seq"]), bytes(row["entry_hash"])
        checkpoint = audit_chain.sign_checkpoint(new, seq, head_hash, created_at)
        conn.execute(
            "INSERT INTO audit_checkpoints (seq, head_hash, created_at, key_id, signature) "
            "VALUES (?, ?, ?, ?, ?)",
            (checkpoint.seq, checkpoint.head_hash, checkpoint.created_at, checkpoint.key_id,
             checkpoint.signature))
        cosigned = audit_chain.sign_checkpoint(old, seq, head_hash, created_at)
        conn.execute(
            "INSERT INTO audit_cosignatures (seq, key_id, verify_key, signature) "
            "VALUES (?, ?, ?, ?)",
            (seq, cosigned.key_id, bytes(old.verify_key), cosigned.signature))
    return checkpoint
