"""Acting as intermediary, and the messages in a member's account.

When the police (or another authority) ask to contact a reporter, a coordinator records
the request against the report: the reporter's membership (an individual, or an
organisation that relays to its service user) gets a message in its account and a
content-free notice over its channel (outbox kind "message"). The member answers yes or
no in the account. Nothing about them goes to the police unless they say yes: a "yes" is
what a disclosure request on the basis of consent must name (app/disclosures/service.py),
and it covers only the details the message listed. A "no" closes the request; a "yes"
can be taken back until the details have been shared.

Messages hold no text: each page is written from the request's codes when it is shown.
Every step writes a disclosure-log entry naming ids and codes only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.common import validation
from app.common.clock import stamp as _stamp
from app.common.ids import new_id
from app.disclosures import codes, records
from app.disclosures.records import ContactStatus, MessageKind, RequestStatus
from app.disclosures.service import (
    MAX_NOTE_CHARS,
    MAX_REFERENCE_CHARS,
    MAX_REQUESTER_CHARS,
    NotAllowed,
    RequestInvalid,
    resolve_typed_id,
)
from app.vault import log as disclosure_log
from app.vault.db import Connection, Row, transaction
from app.vault.holders import vetting_recipient
from app.vault.outbox import NoticeKind, enqueue_for_member
from app.vault.sealing import seal_group
from app.vault.unseal import UnsealRequest, unseal
from crypto.keys import BoxPrivateKey
from crypto.keystore import ServerKeys

ANSWERS = ("yes", "no")


@dataclass(frozen=True)
class ContactSubmission:
    report_id: str
    authority: str
    reason: str
    fields: Sequence[str]  # "column.field" codes from codes.CONTACT_FIELDS
    requester: str
    reference: str
    note: str = ""


@dataclass(frozen=True)
class ContactRequest:
    id: str
    member_id: str
    report_id: str | None
    authority: str
    reason: str
    fields: dict[str, list[str]]
    status: ContactStatus
    created_by: str
    created_at: str
    answered_at: str | None
    member_status: str
    disclosure_request_id: str | None  # the live disclosure request using the answer

    @property
    def field_codes(self) -> list[str]:
        return codes.field_codes(self.fields)


# Aliased to ContactRequest's field names; the one parameter is RequestStatus.REFUSED.
_SELECT = """
SELECT c.id AS id, c.member_id AS member_id, c.report_id AS report_id,
       c.authority AS authority, c.reason AS reason, c.fields AS fields,
       c.status AS status, c.created_by AS created_by, c.created_at AS created_at,
       c.answered_at AS answered_at, m.status AS member_status,
       (SELECT d.id FROM disclosure_requests d WHERE d.contact_request_id = c.id
         AND d.status != ?) AS disclosure_request_id
  FROM contact_requests c JOIN members m ON m.id = c.member_id
"""


def _contact(row: Row) -> ContactRequest:
    return ContactRequest(
        id=row["id"], member_id=row["member_id"], report_id=row["report_id"],
        authority=row["authority"], reason=row["reason"], fields=json.loads(row["fields"]),
        status=ContactStatus(row["status"]), created_by=row["created_by"],
        created_at=row["created_at"], answered_at=row["answered_at"],
        member_status=row["member_status"],
        disclosure_request_id=row["disclosure_request_id"])


def find(conn: Connection, contact_id: str) -> ContactRequest | None:
    row = conn.execute(_SELECT + " WHERE c.id = ?",
                       (RequestStatus.REFUSED, contact_id)).fetchone()
    return _contact(row) if row else None


def listing(conn: Connection, limit: int = 500) -> list[ContactRequest]:
    rows = conn.execute(_SELECT + " ORDER BY c.created_at DESC, c.id LIMIT ?",
                        (RequestStatus.REFUSED, limit)).fetchall()
    return [_contact(row) for row in rows]


def send_contact_request(conn: Connection, keys: ServerKeys, actor_id: str,
                         sub: ContactSubmission, now: datetime) -> str:
    """Record the authority's request and put a message in the reporter's account."""
    problems = validation.Problems()

    if sub.authority not in codes.AUTHORITY_LABELS:
        problems["authority"] = _l("Choose who is asking.")
    if sub.reason not in codes.CONTACT_REASON_LABELS:
        problems["reason"] = _l("Choose what they want to contact the member for.")
    chosen = sorted(set(sub.fields))
    if not chosen or not set(chosen) <= codes.code_set(codes.CONTACT_FIELDS):
        problems["fields"] = _l("Choose the details they would be given if the member says "
                                "yes.")
    requester = problems.check(
        "requester", validation.single_line, sub.requester, max_chars=MAX_REQUESTER_CHARS,
        required_message=_l("Say who is asking: their name and role.")) or ""
    reference = problems.check(
        "reference", validation.single_line, sub.reference, max_chars=MAX_REFERENCE_CHARS,
        required_message=_l("Give the requester's reference for this request.")) or ""
    note = ""
    if sub.note.strip():
        note = problems.check(
            "note", validation.multi_line, sub.note, max_chars=MAX_NOTE_CHARS,
            required_message="") or ""
    report_id = sub.report_id.strip()
    contact_id = new_id()
    stamp = _stamp(now)
    with transaction(conn):
        row = None
        if report_id:
            try:
                report_id = resolve_typed_id(conn, "reports", report_id)
            except validation.Invalid as invalid:
                problems["report_id"] = invalid.message
            else:
                row = conn.execute("SELECT r.reporter_member_id AS member_id, "
                                   "m.status AS member_status FROM reports r "
                                   "LEFT JOIN members m ON m.id = r.reporter_member_id "
                                   "WHERE r.id = ?", (report_id,)).fetchone()
        if row is None:
            problems.add("report_id", _l("Give the id of the report whose reporter they "
                                         "want to contact."))
        elif row["member_id"] is None or row["member_status"] != "active":
            problems["report_id"] = _l("The reporter of that report is no longer a member, "
                                       "so the scheme cannot pass the request on.")
        if problems:
            raise RequestInvalid(problems)
        assert row is not None
        member_id = row["member_id"]
        sealed = seal_group("contact_requests", "details", contact_id,
                            {"requester": requester, "reference": reference, "note": note},
                            [vetting_recipient(conn, keys)])
        records.insert_contact_request(
            conn, contact_id=contact_id, member_id=member_id, report_id=report_id,
            authority=sub.authority, reason=sub.reason, fields=codes.parse_fields(chosen),
            details=sealed, created_by=actor_id, created_at=stamp)
        records.add_contact_message(conn, member_id, contact_id, stamp)
        queued = enqueue_for_member(conn, kind=NoticeKind.MESSAGE, member_id=member_id,
                                    dedupe_key=f"message:contact:{contact_id}", now=now)
        disclosure_log.append(conn, disclosure_log.contact_request_sent(
            at=now, actor=actor_id, member_id=member_id, report_id=report_id, fields=chosen,
            contact_id=contact_id, authority=sub.authority, channel_notices=int(queued)))
    return contact_id


@dataclass(frozen=True)
class ContactDetails:
    requester: str
    reference: str
    note: str


def read_details(conn: Connection, key: BoxPrivateKey, contact_id: str, actor_id: str,
                 now: datetime) -> ContactDetails:
    """Open who asked to contact the member (and the coordinator's note): logged first."""
    opened = unseal(conn, UnsealRequest(
        actor_id=actor_id, purpose="disclosure", table="contact_requests",
        row_ids=[contact_id], fields={"details": ["requester", "reference", "note"]},
        context={"request": f"contact_requests/{contact_id}"}), key, now)
    details = opened[contact_id]["details"]
    return ContactDetails(details["requester"], details["reference"], details["note"])


# The member's side.

@dataclass(frozen=True)
class Message:
    id: str
    kind: MessageKind
    created_at: str
    read_at: str | None
    # What the page says, from the request's codes.
    authority: str
    legal_basis: str | None  # disclosures
    reason: str | None  # contact: what the authority wants
    field_codes: list[str]
    subject_table: str | None
    status: ContactStatus | None  # contact requests
    disclosed_at: str | None
    delay_reason: str | None
    reports: tuple[tuple[str, str], ...]  # (sent on, incident date) of the member's reports

    @property
    def answerable(self) -> bool:
        return self.kind == MessageKind.CONTACT and self.status in (ContactStatus.ASKED,
                                                                    ContactStatus.ACCEPTED)


def _reports_of(conn: Connection, member_id: str, ids: list[str]) -> tuple[tuple[str, str], ...]:
    if not ids:
        return ()
    marks = ",".join("?" * len(ids))
    return tuple((row["created_at"][:10], row["incident_date"]) for row in conn.execute(
        f"SELECT created_at, incident_date FROM reports WHERE id IN ({marks}) "  # noqa: S608
        "AND reporter_member_id = ? ORDER BY created_at", [*ids, member_id]))


def _message(conn: Connection, member_id: str, row: Row) -> Message:
    kind = MessageKind(row["kind"])
    if kind == MessageKind.DISCLOSURE:
        d = conn.execute("SELECT authority, legal_basis, fields, subject_table, disclosed_at, "
                         "notice_delay_reason FROM disclosure_requests WHERE id = ?",
                         (row["disclosure_request_id"],)).fetchone()
        ids = [r["row_id"] for r in conn.execute(
            "SELECT row_id FROM disclosure_request_records WHERE request_id = ?",
            (row["disclosure_request_id"],))]
        return Message(
            id=row["id"], kind=kind, created_at=row["created_at"], read_at=row["read_at"],
            authority=d["authority"], legal_basis=d["legal_basis"], reason=None,
            field_codes=codes.field_codes(json.loads(d["fields"])),
            subject_table=d["subject_table"], status=None, disclosed_at=d["disclosed_at"],
            delay_reason=d["notice_delay_reason"],
            reports=(_reports_of(conn, member_id, ids) if d["subject_table"] == "reports"
                     else ()))
    if kind == MessageKind.SUPPORT:
        # Following up support the reporter asked for: the page names their report only.
        s = conn.execute("SELECT report_id FROM support_requests WHERE id = ?",
                         (row["support_request_id"],)).fetchone()
        return Message(
            id=row["id"], kind=kind, created_at=row["created_at"], read_at=row["read_at"],
            authority="", legal_basis=None, reason=None, field_codes=[], subject_table=None,
            status=None, disclosed_at=None, delay_reason=None,
            reports=_reports_of(conn, member_id, [s["report_id"]] if s else []))
    c = conn.execute("SELECT authority, reason, fields, status, report_id FROM "
                     "contact_requests WHERE id = ?", (row["contact_request_id"],)).fetchone()
    return Message(
        id=row["id"], kind=kind, created_at=row["created_at"], read_at=row["read_at"],
        authority=c["authority"], legal_basis=None, reason=c["reason"],
        field_codes=codes.field_codes(json.loads(c["fields"])), subject_table=None,
        status=ContactStatus(c["status"]), disclosed_at=None, delay_reason=None,
        reports=_reports_of(conn, member_id, [c["report_id"]] if c["report_id"] else []))


_MESSAGES = ("SELECT id, kind, created_at, read_at, disclosure_request_id, "
             "contact_request_id, support_request_id FROM member_messages")


def messages(conn: Connection, member_id: str) -> list[Message]:
    rows = conn.execute(_MESSAGES + " WHERE member_id = ? ORDER BY created_at DESC, id",
                        (member_id,)).fetchall()
    return [_message(conn, member_id, row) for row in rows]


def message(conn: Connection, member_id: str, message_id: str,
            now: datetime | None = None) -> Message | None:
    """One of this member's messages (None for anyone else's); marks it read."""
    row = conn.execute(_MESSAGES + " WHERE id = ? AND member_id = ?",
                       (message_id, member_id)).fetchone()
    if row is None:
        return None
    if now is not None and row["read_at"] is None:
        with transaction(conn):
            records.mark_message_read(conn, message_id, _stamp(now))
    return _message(conn, member_id, row)


def unread_count(conn: Connection, member_id: str) -> int:
    row = conn.execute("SELECT count(*) AS n FROM member_messages WHERE member_id = ? "
                       "AND read_at IS NULL", (member_id,)).fetchone()
    return int(row["n"])


def answer(conn: Connection, member_id: str, account_id: str, message_id: str,
           reply: str, now: datetime) -> ContactStatus:
    """The member's yes or no to a request to contact them; returns the new status.

    "yes" is possible while the request waits for an answer; "no" also takes back a "yes"
    until the details have been shared. A "no" is final.
    """
    if reply not in ANSWERS:
        raise RequestInvalid({"answer": _l("Choose yes or no.")})
    stamp = _stamp(now)
    with transaction(conn):
        row = conn.execute(
            "SELECT c.id AS contact_id, c.status AS status FROM member_messages m "
            "JOIN contact_requests c ON c.id = m.contact_request_id WHERE m.id = ? "
            "AND m.member_id = ? AND c.member_id = ?",
            (message_id, member_id, member_id)).fetchone()
        if row is None:
            raise LookupError("no such request for this member")
        contact_id = row["contact_id"]
        status = ContactStatus(row["status"])
        if reply == "yes" and status != ContactStatus.ASKED:
            raise NotAllowed(_l("You have already answered this request."))
        if reply == "no" and status not in (ContactStatus.ASKED, ContactStatus.ACCEPTED):
            raise NotAllowed(_l("This request is closed: your answer can no longer change."))
        new_status = ContactStatus.ACCEPTED if reply == "yes" else ContactStatus.DECLINED
        records.record_contact_answer(conn, contact_id, new_status, account_id, stamp)
        disclosure_log.append(conn, disclosure_log.contact_request_answered(
            at=now, actor=account_id, member_id=member_id, contact_id=contact_id,
            answer="withdrawn" if status == ContactStatus.ACCEPTED else reply))
    return new_status
