"""The optional note a coordinator gives with an irreversible decision: owns decision_notes.

The note is sealed to the vetting key (it may name people), in the decision's own
transaction, and the decision's log entry names it by id ("decision_notes/<id>"), never by
its text. Reading one back goes through app.vault.unseal like every other sealed value.
"""

from __future__ import annotations

from datetime import datetime

from app.common.clock import stamp
from app.common.ids import new_id
from app.vault.db import Connection
from app.vault.sealing import seal_group
from crypto.keys import PublicKey

TABLE = "decision_notes"


def add(conn: Connection, recipient: PublicKey, *, event: str, record: str, actor_id: str,
        text: str, now: datetime) -> str:
    """Seal and store `text`; returns the note's id. Runs in the caller's transaction."""
    if not conn.in_transaction:
        raise RuntimeError("a decision note is written with its decision, in one transaction")
    note_id = new_id()
    body = seal_group(TABLE, "body", note_id, {"note": text}, [recipient])
    conn.execute("INSERT INTO decision_notes (id, event, record, actor_id, created_at, body) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
                 (note_id, event, record, actor_id, stamp(now), body))
    return note_id


def discard(conn: Connection, note_id: str) -> None:
    """A note whose decision did not happen after all (its step failed and was given back)."""
    conn.execute("DELETE FROM decision_notes WHERE id = ?", (note_id,))


def record_of(conn: Connection, note_id: str) -> str | None:
    """The record ("reports/<id>", ...) a note belongs to, or None: what says which purpose
    reading it is logged under, before anything is opened."""
    row = conn.execute("SELECT record FROM decision_notes WHERE id = ?", (note_id,)).fetchone()
    return None if row is None else str(row["record"])
