"""The disclosure tables' one writer, and the statuses they hold.

This module owns every write to `disclosure_requests`, `disclosure_request_records`,
`contact_requests` and `member_messages` (app/support writes its messages through
`add_support_message`): service.py, contact.py and notices.py decide
what happens and call these functions to store it. Each function takes the caller's
connection and runs inside the caller's transaction (it never opens one, and refuses to
write outside one), so a change and the disclosure-log entry that records it commit, or
roll back, together.

The StrEnums are the values the schema's CHECKs allow (tests/test_disclosure_records.py
compares them with schema.sql). They compare equal to their strings, so they go straight
into SQL parameters and templates.
"""

from __future__ import annotations

import json
from enum import StrEnum

from app.common.ids import new_id
from app.vault.db import Connection


class RequestStatus(StrEnum):
    """disclosure_requests.status"""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    DISCLOSED = "disclosed"


class ContactStatus(StrEnum):
    """contact_requests.status"""

    ASKED = "asked"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    SHARED = "shared"


class MessageKind(StrEnum):
    """member_messages.kind"""

    DISCLOSURE = "disclosure"
    CONTACT = "contact"
    SUPPORT = "support"


def _in_callers_transaction(conn: Connection) -> None:
    if not conn.in_transaction:
        raise RuntimeError("disclosure records are written inside the caller's transaction")


def _fields_json(fields: dict[str, list[str]]) -> str:
    return json.dumps(fields, sort_keys=True)


# disclosure_requests and disclosure_request_records.

def insert_request(conn: Connection, *, request_id: str, authority: str, legal_basis: str,
                   subject_table: str, fields: dict[str, list[str]], details: bytes,
                   contact_request_id: str | None, requested_by: str, requested_at: str,
                   notice_delay_reason: str | None, notice_review_on: str | None,
                   record_ids: list[str]) -> None:
    """A new request (status pending) and the ids of the records it concerns."""
    _in_callers_transaction(conn)
    conn.execute(
        "INSERT INTO disclosure_requests (id, authority, legal_basis, subject_table, "
        "fields, details, contact_request_id, requested_by, requested_at, "
        "notice_delay_reason, notice_review_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (request_id, authority, legal_basis, subject_table, _fields_json(fields), details,
         contact_request_id, requested_by, requested_at, notice_delay_reason,
         notice_review_on))
    conn.executemany("INSERT INTO disclosure_request_records (request_id, row_id) "
                     "VALUES (?, ?)", [(request_id, rid) for rid in record_ids])


def approve_request(conn: Connection, request_id: str, decided_by: str,
                    decided_at: str) -> bool:
    """Pending -> approved by someone other than the requester; False if it was not so."""
    _in_callers_transaction(conn)
    updated = conn.execute(
        "UPDATE disclosure_requests SET status = ?, decided_by = ?, decided_at = ? "
        "WHERE id = ? AND status = ? AND requested_by != ?",
        (RequestStatus.APPROVED, decided_by, decided_at, request_id, RequestStatus.PENDING,
         decided_by))
    return updated.rowcount == 1


def refuse_request(conn: Connection, request_id: str, decided_by: str, decided_at: str,
                   refusal_reason: str, decision: bytes | None) -> bool:
    """Pending or approved -> refused, with the reason code and any sealed note."""
    _in_callers_transaction(conn)
    updated = conn.execute(
        "UPDATE disclosure_requests SET status = ?, decided_by = ?, decided_at = ?, "
        "refusal_reason = ?, decision = ? WHERE id = ? AND status IN (?, ?)",
        (RequestStatus.REFUSED, decided_by, decided_at, refusal_reason, decision, request_id,
         RequestStatus.PENDING, RequestStatus.APPROVED))
    return updated.rowcount == 1


def claim_for_disclosure(conn: Connection, request_id: str, disclosed_by: str) -> bool:
    """Approved -> disclosed, before anything opens; False if someone else claimed it."""
    _in_callers_transaction(conn)
    claimed = conn.execute(
        "UPDATE disclosure_requests SET status = ?, disclosed_by = ? "
        "WHERE id = ? AND status = ?",
        (RequestStatus.DISCLOSED, disclosed_by, request_id, RequestStatus.APPROVED))
    return claimed.rowcount == 1


def set_disclosed_at(conn: Connection, request_id: str, disclosed_at: str) -> None:
    """The claimed request's fields were opened and shown."""
    _in_callers_transaction(conn)
    conn.execute("UPDATE disclosure_requests SET disclosed_at = ? WHERE id = ?",
                 (disclosed_at, request_id))


def release_claim(conn: Connection, request_id: str) -> None:
    """Opening failed: give the claim back (approved again), unless it was shown."""
    _in_callers_transaction(conn)
    conn.execute("UPDATE disclosure_requests SET status = ?, disclosed_by = NULL "
                 "WHERE id = ? AND disclosed_at IS NULL",
                 (RequestStatus.APPROVED, request_id))


def set_notice_delay(conn: Connection, request_id: str, notice_delay_reason: str,
                     notice_review_on: str) -> None:
    _in_callers_transaction(conn)
    conn.execute("UPDATE disclosure_requests SET notice_delay_reason = ?, "
                 "notice_review_on = ? WHERE id = ?",
                 (notice_delay_reason, notice_review_on, request_id))


def set_notified(conn: Connection, request_id: str, notified_at: str,
                 notice_outcome: str) -> None:
    """The members concerned were told ("notified") or none could be ("no_member")."""
    _in_callers_transaction(conn)
    conn.execute("UPDATE disclosure_requests SET notified_at = ?, notice_outcome = ? "
                 "WHERE id = ?", (notified_at, notice_outcome, request_id))


# contact_requests.

def insert_contact_request(conn: Connection, *, contact_id: str, member_id: str,
                           report_id: str, authority: str, reason: str,
                           fields: dict[str, list[str]], details: bytes, created_by: str,
                           created_at: str) -> None:
    """A new request to contact a member (status asked)."""
    _in_callers_transaction(conn)
    conn.execute(
        "INSERT INTO contact_requests (id, member_id, report_id, authority, reason, "
        "fields, details, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (contact_id, member_id, report_id, authority, reason, _fields_json(fields), details,
         created_by, created_at))


def set_contact_status(conn: Connection, contact_id: str, status: ContactStatus) -> None:
    """A status change that is not the member's answer (shared, once disclosed)."""
    _in_callers_transaction(conn)
    conn.execute("UPDATE contact_requests SET status = ? WHERE id = ?",
                 (ContactStatus(status), contact_id))


def record_contact_answer(conn: Connection, contact_id: str, status: ContactStatus,
                          answered_by: str, answered_at: str) -> None:
    """The member's yes (accepted) or no (declined), and who gave it when."""
    _in_callers_transaction(conn)
    conn.execute("UPDATE contact_requests SET status = ?, answered_by = ?, "
                 "answered_at = ? WHERE id = ?",
                 (ContactStatus(status), answered_by, answered_at, contact_id))


# member_messages.

def add_contact_message(conn: Connection, member_id: str, contact_request_id: str,
                        created_at: str) -> str:
    """The message asking a member whether they may be put in touch; returns its id."""
    _in_callers_transaction(conn)
    message_id = new_id()
    conn.execute("INSERT INTO member_messages (id, member_id, kind, contact_request_id, "
                 "created_at) VALUES (?, ?, ?, ?, ?)",
                 (message_id, member_id, MessageKind.CONTACT, contact_request_id, created_at))
    return message_id


def add_disclosure_message(conn: Connection, member_id: str, disclosure_request_id: str,
                           created_at: str) -> bool:
    """Tell a member of a disclosure in their account, once; False if already told."""
    _in_callers_transaction(conn)
    added = conn.execute(
        "INSERT OR IGNORE INTO member_messages (id, member_id, kind, "
        "disclosure_request_id, created_at) VALUES (?, ?, ?, ?, ?)",
        (new_id(), member_id, MessageKind.DISCLOSURE, disclosure_request_id, created_at))
    return added.rowcount == 1


def add_support_message(conn: Connection, member_id: str, support_request_id: str,
                        created_at: str) -> bool:
    """Write to a reporter about the support they asked for, once; False if already done."""
    _in_callers_transaction(conn)
    added = conn.execute(
        "INSERT OR IGNORE INTO member_messages (id, member_id, kind, support_request_id, "
        "created_at) VALUES (?, ?, ?, ?, ?)",
        (new_id(), member_id, MessageKind.SUPPORT, support_request_id, created_at))
    return added.rowcount == 1


def mark_message_read(conn: Connection, message_id: str, read_at: str) -> None:
    """The first time the member opens the message; later readings change nothing."""
    _in_callers_transaction(conn)
    conn.execute("UPDATE member_messages SET read_at = ? WHERE id = ? AND read_at IS NULL",
                 (read_at, message_id))
