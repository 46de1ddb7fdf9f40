"""The support queue: reports whose reporter asked for a caseworker or ISVA.

A request is opened when such a report is sent (app/reports/service.py). Coordinators
move it from new to contacted to closed, keep a note (sealed to the vetting key: it may
name the reporter or a service; reading it is an unseal, logged first), and write to the
reporter through the account messages disclosures use (app/disclosures/records.py): a
message in the account, and a content-free notice over the member's channel. Each step
writes a disclosure-log entry with ids and codes only.

Ages count business hours in the calendar of the report's area (app/common/clock.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.common import validation
from app.common.clock import business_hours_between, stamp
from app.disclosures import records as messages
from app.support import records
from app.support.records import SupportStatus
from app.vault import log
from app.vault.db import Connection, Row, transaction
from app.vault.holders import vetting_recipient
from app.vault.outbox import NoticeKind, enqueue_for_member
from app.vault.sealing import seal_group
from app.vault.unseal import UnsealRequest, unseal
from crypto.keys import BoxPrivateKey
from crypto.keystore import ServerKeys

MAX_NOTE_CHARS = 4000
OPEN = (SupportStatus.NEW, SupportStatus.CONTACTED)


class SupportRefused(validation.Refusal):
    """Not possible for this request, or not now; `message` says why."""

    summary = "support step refused"


@dataclass(frozen=True)
class SupportRequest:
    id: str
    report_id: str
    status: SupportStatus
    created_at: str
    updated_at: str
    updated_by: str | None
    has_note: bool
    report_reference: str
    area: str
    report_withdrawn: bool
    member_id: str | None  # None once the reporter has left
    member_active: bool
    messaged_at: str | None  # when the reporter was written to in their account
    age_hours: float
    answered_at: str | None = None  # when the reporter last answered that message

    @property
    def can_message(self) -> bool:
        return self.member_active and self.messaged_at is None


_SELECT = """
SELECT s.id AS id, s.report_id AS report_id, s.status AS status, s.created_at AS created_at,
       s.updated_at AS updated_at, s.updated_by AS updated_by,
       s.note IS NOT NULL AS has_note, s.answered_at AS answered_at,
       r.reference AS reference, r.area AS area,
       r.withdrawn_at IS NOT NULL AS withdrawn, r.reporter_member_id AS member_id,
       m.status AS member_status,
       (SELECT mm.created_at FROM member_messages mm WHERE mm.support_request_id = s.id)
         AS messaged_at
  FROM support_requests s JOIN reports r ON r.id = s.report_id
  LEFT JOIN members m ON m.id = r.reporter_member_id
"""


def _request(row: Row, now: datetime) -> SupportRequest:
    return SupportRequest(
        id=row["id"], report_id=row["report_id"], status=SupportStatus(row["status"]),
        created_at=row["created_at"], updated_at=row["updated_at"],
        updated_by=row["updated_by"], has_note=bool(row["has_note"]),
        report_reference=row["reference"] or "", area=row["area"],
        report_withdrawn=bool(row["withdrawn"]), member_id=row["member_id"],
        member_active=row["member_status"] == "active", messaged_at=row["messaged_at"],
        age_hours=business_hours_between(datetime.fromisoformat(row["created_at"]), now,
                                         row["area"]),
        answered_at=row["answered_at"])


def queue(conn: Connection, now: datetime, status: str | None = None,
          limit: int = 500) -> list[SupportRequest]:
    """Open requests (new, then contacted), oldest first; or those of one status."""
    if status is None:
        rows = conn.execute(_SELECT + " WHERE s.status IN (?, ?) ORDER BY "
                            "s.status = 'contacted', s.created_at, s.id LIMIT ?",
                            (*OPEN, limit)).fetchall()
    else:
        rows = conn.execute(_SELECT + " WHERE s.status = ? ORDER BY s.created_at DESC, s.id "
                            "LIMIT ?", (SupportStatus(status), limit)).fetchall()
    return [_request(row, now) for row in rows]


def find(conn: Connection, request_id: str, now: datetime) -> SupportRequest | None:
    row = conn.execute(_SELECT + " WHERE s.id = ?", (request_id,)).fetchone()
    return _request(row, now) if row else None


def for_report(conn: Connection, report_id: str) -> str | None:
    """The support request of a report, if its reporter asked for support."""
    row = conn.execute("SELECT id FROM support_requests WHERE report_id = ?",
                       (report_id,)).fetchone()
    return row["id"] if row else None


def _load(conn: Connection, request_id: str, now: datetime) -> SupportRequest:
    found = find(conn, request_id, now)
    if found is None:
        raise LookupError("no such support request")
    return found


def change_status(conn: Connection, actor_id: str, request_id: str, status: str,
                  now: datetime) -> SupportStatus:
    """Move a request to `status` (any of new, contacted, closed: a closed one can reopen)."""
    if status not in SupportStatus.__members__.values():
        raise validation.Invalid(_l("Choose new, contacted or closed."))
    wanted = SupportStatus(status)
    with transaction(conn):
        found = _load(conn, request_id, now)
        if found.status == wanted:
            raise SupportRefused(_l("The request already has that status."))
        records.set_status(conn, request_id, wanted, actor_id, stamp(now))
        log.append(conn, log.support_status_changed(
            at=now, actor=actor_id, request_id=request_id, report_id=found.report_id,
            status=wanted, previous=found.status))
    return wanted


def save_note(conn: Connection, keys: ServerKeys, actor_id: str, request_id: str,
              note: str, now: datetime) -> None:
    """Replace the request's note; it is sealed to the vetting key before it is stored."""
    text = validation.multi_line(note, max_chars=MAX_NOTE_CHARS,
                                 required_message=_l("Write the note, or leave this page."))
    with transaction(conn):
        found = _load(conn, request_id, now)
        sealed = seal_group("support_requests", "note", request_id, {"note": text},
                            [vetting_recipient(conn, keys)])
        records.set_note(conn, request_id, sealed, actor_id, stamp(now))
        log.append(conn, log.support_note_saved(at=now, actor=actor_id,
                                                request_id=request_id,
                                                report_id=found.report_id))


def read_note(conn: Connection, key: BoxPrivateKey, actor_id: str, request_id: str,
              now: datetime) -> str:
    """Open the note (the unseal is logged first); "" when there is none (nothing opened)."""
    found = _load(conn, request_id, now)
    return _open(conn, key, actor_id, found, "note", now) if found.has_note else ""


def message_member(conn: Connection, actor_id: str, request_id: str, now: datetime) -> None:
    """Write to the reporter's account about their support, once; a new request becomes
    contacted. The notice over their channel says only that a message is waiting."""
    at = stamp(now)
    with transaction(conn):
        found = _load(conn, request_id, now)
        if found.member_id is None or not found.member_active:
            raise SupportRefused(_l("The reporter is no longer a member, so the scheme cannot "
                                    "write to them."))
        if not messages.add_support_message(conn, found.member_id, request_id, at):
            raise SupportRefused(_l("The reporter has already been written to about this."))
        queued = enqueue_for_member(conn, kind=NoticeKind.MESSAGE, member_id=found.member_id,
                                    dedupe_key=f"message:support:{request_id}", now=now)
        log.append(conn, log.support_member_messaged(
            at=now, actor=actor_id, request_id=request_id, report_id=found.report_id,
            member_id=found.member_id, channel_notices=int(queued)))
        if found.status == SupportStatus.NEW:
            records.set_status(conn, request_id, SupportStatus.CONTACTED, actor_id, at)
            log.append(conn, log.support_status_changed(
                at=now, actor=actor_id, request_id=request_id, report_id=found.report_id,
                status=SupportStatus.CONTACTED, previous=found.status))


def request_of_message(conn: Connection, member_id: str, message_id: str) -> str | None:
    """The support request a member's 'support' message is about, or None (another
    member's message, or not about support)."""
    row = conn.execute("SELECT support_request_id FROM member_messages WHERE id = ? AND "
                       "member_id = ? AND kind = 'support'", (message_id, member_id)).fetchone()
    return None if row is None else row["support_request_id"]


def answer(conn: Connection, keys: ServerKeys, member_id: str, account_id: str,
           message_id: str, text: str, now: datetime) -> None:
    """The reporter answers the scheme's message about their support. The answer may name
    people, so it is sealed to the vetting key before it is stored; a later one replaces
    it. Raises LookupError for a message that is not this member's support message."""
    answer_text = validation.multi_line(text, max_chars=MAX_NOTE_CHARS,
                                        required_message=_l("Write your answer."))
    with transaction(conn):
        request_id = request_of_message(conn, member_id, message_id)
        if request_id is None:
            raise LookupError("no such support message")
        found = _load(conn, request_id, now)
        if found.member_id != member_id or not found.member_active:
            raise LookupError("no such support message")
        sealed = seal_group("support_requests", "answer", request_id,
                            {"answer": answer_text}, [vetting_recipient(conn, keys)])
        records.set_answer(conn, request_id, sealed, stamp(now))
        log.append(conn, log.support_answered(at=now, actor=account_id,
                                              request_id=request_id,
                                              report_id=found.report_id,
                                              member_id=member_id))


def read_answer(conn: Connection, key: BoxPrivateKey, actor_id: str, request_id: str,
                now: datetime) -> str:
    """Open the reporter's answer (the unseal is logged first); "" when there is none."""
    found = _load(conn, request_id, now)
    return (_open(conn, key, actor_id, found, "answer", now)
            if found.answered_at is not None else "")


def _open(conn: Connection, key: BoxPrivateKey, actor_id: str, found: SupportRequest,
          column: str, now: datetime) -> str:
    """One sealed column of a support request (each holds one field of its own name),
    opened for report review with its unseal logged first."""
    opened = unseal(conn, UnsealRequest(
        actor_id=actor_id, purpose="report_review", table="support_requests",
        row_ids=[found.id], fields={column: [column]},
        context={"report": f"reports/{found.report_id}"}), key, now)
    return opened[found.id][column][column]
