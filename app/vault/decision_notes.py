"""The optional note a coordinator gives with an irreversible decision: owns decision_notes.

The note is sealed to the vetting key (it may name people), in the decision's own
transaction, and the decision's log entry names it by id ("decision_notes/<id>"), never by
its text. Reading one back goes through app.vault.unseal like every other sealed value.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class NoteOf:
    """What a note belongs to, read without opening it: its record and its decision."""

    record: str  # "reports/<id>", ...
    event: str
    actor_id: str
    created_at: str


def note_of(conn: Connection, note_id: str) -> NoteOf | None:
    row = conn.execute("SELECT record, event, actor_id, created_at FROM decision_notes "
                       "WHERE id = ?", (note_id,)).fetchone()
    if row is None:
        return None
    return NoteOf(record=str(row["record"]), event=str(row["event"]),
                  actor_id=str(row["actor_id"]), created_at=str(row["created_at"]))


def record_of(conn: Connection, note_id: str) -> str | None:
    """The record ("reports/<id>", ...) a note belongs to, or None: what says which purpose
    reading it is logged under, before anything is opened."""
    row = conn.execute("SELECT record FROM decision_notes WHERE id = ?", (note_id,)).fetchone()
    return None if row is None else str(row["record"])
