"""The support_requests table's one writer, and the statuses it holds.

service.py decides what happens; these functions store it, inside the caller's
transaction (they never open one), so a change and the disclosure-log entry that records
it commit together. SupportStatus is what the schema's CHECK allows (tested).
"""

from __future__ import annotations

from enum import StrEnum

from app.common.ids import new_id
from app.vault.db import Connection


class SupportStatus(StrEnum):
    """support_requests.status"""

    NEW = "new"
    CONTACTED = "contacted"
    CLOSED = "closed"


def _in_callers_transaction(conn: Connection) -> None:
    if not conn.in_transaction:
        raise RuntimeError("support requests are written inside the caller's transaction")


def open_request(conn: Connection, report_id: str, created_at: str) -> str:
    """A new request (status new) for a report whose reporter asked for support."""
    _in_callers_transaction(conn)
    request_id = new_id()
    conn.execute("INSERT INTO support_requests (id, report_id, created_at, updated_at) "
                 "VALUES (?, ?, ?, ?)", (request_id, report_id, created_at, created_at))
    return request_id


def set_status(conn: Connection, request_id: str, status: SupportStatus, actor_id: str,
               updated_at: str) -> None:
    _in_callers_transaction(conn)
    conn.execute("UPDATE support_requests SET status = ?, updated_by = ?, updated_at = ? "
                 "WHERE id = ?", (SupportStatus(status), actor_id, updated_at, request_id))


def set_answer(conn: Connection, request_id: str, answer: bytes, answered_at: str) -> None:
    """The reporter's answer, already sealed to the vetting key (it replaces the last)."""
    _in_callers_transaction(conn)
    conn.execute("UPDATE support_requests SET answer = ?, answered_at = ? WHERE id = ?",
                 (answer, answered_at, request_id))


def set_note(conn: Connection, request_id: str, note: bytes, actor_id: str,
             updated_at: str) -> None:
    """The coordinator's note, already sealed to the vetting key (it replaces the last)."""
    _in_callers_transaction(conn)
    conn.execute("UPDATE support_requests SET note = ?, updated_by = ?, updated_at = ? "
                 "WHERE id = ?", (note, actor_id, updated_at, request_id))
