"""Disclosure requests: record, approve (four eyes), refuse, and disclose once.

- Any coordinator records a request. Who asked, their reference and the justification
  are sealed to the vetting key at once (the web process can seal, never open).
- A second, different coordinator approves it, or any coordinator refuses it with a
  reason (a code, and an optional sealed note). The requester can never approve.
- After approval the coordinator who recorded it (and only they) discloses it, with the
  vetting key unlocked: the request is claimed first, so it is disclosed once; then
  app/unseal.unseal writes the disclosure-log entry (purpose "disclosure", the legal
  basis, the requester as actor and the approver) before anything opens.
- The member is then told (app/disclosures/notices.py), unless the request recorded a
  delay: its reason and a review date; the notice goes out once that date has passed.

A request on the legal basis of consent must name the member's own "yes" to a contact
request (app/disclosures/contact.py), for that member and within the fields they agreed
to; a "no", or a "yes" withdrawn, stops approval and disclosure.

Every step writes a disclosure-log entry naming ids and codes only.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

from app.common import validation
from app.common.clock import stamp as _stamp
from app.common.clock import utc_day
from app.common.ids import new_id
from app.common.validation import Refusal
from app.disclosures import codes, records
from app.disclosures.notices import notify, record_ids
from app.disclosures.records import ContactStatus, RequestStatus
from app.vault import log as disclosure_log
from app.vault.db import Connection, Row, transaction
from app.vault.holders import vetting_recipient
from app.vault.log import Event, LegalBasis
from app.vault.sealing import seal_group
from app.vault.unseal import LEGAL_BASES, Opened, UnsealRequest, unseal
from app.web.errors import frames_only
from crypto.keys import BoxPrivateKey
from crypto.keystore import ServerKeys

log = logging.getLogger("uglymugs.disclosures")

MAX_RECORDS = 20
MAX_REQUESTER_CHARS = 200
MAX_REFERENCE_CHARS = 100
MAX_JUSTIFICATION_CHARS = 5000
MAX_NOTE_CHARS = 2000
MAX_DELAY = timedelta(days=90)
DETAIL_FIELDS = ("requester", "reference", "justification")
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SEPARATORS = re.compile(r"[\s,;]+")


class RequestInvalid(ValueError):
    """Problems by form field name; nothing has been written."""

    def __init__(self, problems: dict[str, object]) -> None:
        super().__init__("invalid disclosure request")  # never a value: may be logged
        self.problems = problems


class NotAllowed(Refusal):
    """This coordinator may not do this, or not at this stage. `message` says why."""

    summary = "disclosure step not allowed"

    def __init__(self, message: object, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RequestSubmission:
    authority: str
    requester: str
    reference: str
    legal_basis: str
    subject_table: str
    record_ids: str  # as typed: ids separated by spaces, commas or line breaks
    fields: Sequence[str]  # "column.field" codes
    justification: str
    contact_request_id: str = ""
    delay: bool = False
    delay_reason: str = ""
    review_on: str = ""  # YYYY-MM-DD, UTC


@dataclass(frozen=True)
class DisclosureRequest:
    id: str
    authority: str
    legal_basis: str
    subject_table: str
    fields: dict[str, list[str]]
    contact_request_id: str | None
    status: RequestStatus
    requested_by: str
    requested_at: str
    decided_by: str | None
    decided_at: str | None
    refusal_reason: str | None
    has_note: bool
    disclosed_by: str | None
    disclosed_at: str | None
    notice_delay_reason: str | None
    notice_review_on: str | None
    notified_at: str | None
    notice_outcome: str | None
    record_ids: tuple[str, ...]
    consent_status: ContactStatus | None = None

    @property
    def field_codes(self) -> list[str]:
        return codes.field_codes(self.fields)

    @property
    def records(self) -> list[str]:
        return [f"{self.subject_table}/{rid}" for rid in self.record_ids]

    @property
    def delayed(self) -> bool:
        return self.notice_review_on is not None

    @property
    def interrupted(self) -> bool:
        """Claimed for disclosure but never finished: nothing was shown."""
        return self.status == RequestStatus.DISCLOSED and self.disclosed_at is None


# Aliased to DisclosureRequest's field names.
_SELECT = """
SELECT d.id AS id, d.authority AS authority, d.legal_basis AS legal_basis,
       d.subject_table AS subject_table, d.fields AS fields,
       d.contact_request_id AS contact_request_id, d.status AS status,
       d.requested_by AS requested_by, d.requested_at AS requested_at,
       d.decided_by AS decided_by, d.decided_at AS decided_at,
       d.refusal_reason AS refusal_reason, d.decision IS NOT NULL AS has_note,
       d.disclosed_by AS disclosed_by, d.disclosed_at AS disclosed_at,
       d.notice_delay_reason AS notice_delay_reason, d.notice_review_on AS notice_review_on,
       d.notified_at AS notified_at, d.notice_outcome AS notice_outcome,
       c.status AS consent_status
  FROM disclosure_requests d LEFT JOIN contact_requests c ON c.id = d.contact_request_id
"""


def _request(conn: Connection, row: Row) -> DisclosureRequest:
    consent = row["consent_status"]
    return DisclosureRequest(
        id=row["id"], authority=row["authority"], legal_basis=row["legal_basis"],
        subject_table=row["subject_table"], fields=json.loads(row["fields"]),
        contact_request_id=row["contact_request_id"], status=RequestStatus(row["status"]),
        requested_by=row["requested_by"], requested_at=row["requested_at"],
        decided_by=row["decided_by"], decided_at=row["decided_at"],
        refusal_reason=row["refusal_reason"], has_note=bool(row["has_note"]),
        disclosed_by=row["disclosed_by"], disclosed_at=row["disclosed_at"],
        notice_delay_reason=row["notice_delay_reason"],
        notice_review_on=row["notice_review_on"], notified_at=row["notified_at"],
        notice_outcome=row["notice_outcome"],
        record_ids=tuple(record_ids(conn, row["id"])),
        consent_status=ContactStatus(consent) if consent is not None else None)


def find(conn: Connection, request_id: str) -> DisclosureRequest | None:
    row = conn.execute(_SELECT + " WHERE d.id = ?", (request_id,)).fetchone()
    return _request(conn, row) if row else None


def listing(conn: Connection, limit: int = 500) -> list[DisclosureRequest]:
    """Open requests first (waiting, approved), then the rest; newest first within each."""
    rows = conn.execute(
        _SELECT + " ORDER BY CASE d.status WHEN ? THEN 0 WHEN ? THEN 1 ELSE 2 END, "
        "d.requested_at DESC, d.id LIMIT ?",
        (RequestStatus.PENDING, RequestStatus.APPROVED, limit)).fetchall()
    return [_request(conn, row) for row in rows]


def _parse_ids(raw: str) -> list[str] | None:
    ids = list(dict.fromkeys(part for part in _SEPARATORS.split(raw.strip()) if part))
    if not ids or not all(_ID.fullmatch(i) for i in ids):
        return None
    return ids


def _existing(conn: Connection, table: str, ids: list[str]) -> set[str]:
    assert table in ("members", "reports")
    marks = ",".join("?" * len(ids))
    return {row["id"] for row in conn.execute(
        f"SELECT id FROM {table} WHERE id IN ({marks})", ids)}  # noqa: S608


def _review_date(raw: str, now: datetime, problems: dict[str, object],
                 name: str = "review_on") -> date | None:
    try:
        review_on = date.fromisoformat(raw.strip())
    except ValueError:
        problems[name] = _l("Enter the review date like 2026-11-21 (year, month, day).")
        return None
    today = date.fromisoformat(utc_day(now))
    if review_on <= today:
        problems[name] = _l("The review date must be after today.")
    elif review_on > today + MAX_DELAY:
        problems[name] = _l("Review a delay at least every %(days)d days: choose an earlier "
                            "date.", days=MAX_DELAY.days)
    return review_on


def _consent_problem(conn: Connection, contact_request_id: str, subject_table: str,
                     ids: list[str] | None, field_codes: list[str]) -> object | None:
    row = conn.execute("SELECT member_id, status, fields FROM contact_requests WHERE id = ?",
                       (contact_request_id,)).fetchone()
    if row is None:
        return _l("No request to contact a member has that reference.")
    if row["status"] == ContactStatus.SHARED:
        return _l("The member's answer has already been used for a disclosure.")
    if row["status"] != ContactStatus.ACCEPTED:
        return _l("The member has not said yes to that request: nothing about them can be "
                  "shared on the basis of consent.")
    if subject_table != "members" or ids != [row["member_id"]]:
        return _l("A disclosure with consent can only concern the member who said yes.")
    if not set(field_codes) <= set(codes.field_codes(json.loads(row["fields"]))):
        return _l("The member agreed to share only the details listed in the request to "
                  "contact them: ask for no more than those.")
    live = conn.execute("SELECT 1 FROM disclosure_requests WHERE contact_request_id = ? "
                        "AND status != ?",
                        (contact_request_id, RequestStatus.REFUSED)).fetchone()
    if live:
        return _l("A disclosure request already uses the member's answer.")
    return None


def record_request(conn: Connection, keys: ServerKeys, actor_id: str,
                   sub: RequestSubmission, now: datetime) -> str:
    """Check, seal and store a new request (status pending); returns its id."""
    problems = validation.Problems()

    if sub.authority not in codes.AUTHORITY_LABELS:
        problems["authority"] = _l("Choose who is asking.")
    requester = problems.check(
        "requester", validation.single_line, sub.requester, max_chars=MAX_REQUESTER_CHARS,
        required_message=_l("Say who is asking: their name and role.")) or ""
    reference = problems.check(
        "reference", validation.single_line, sub.reference, max_chars=MAX_REFERENCE_CHARS,
        required_message=_l("Give the requester's reference for this request.")) or ""
    justification = problems.check(
        "justification", validation.multi_line, sub.justification,
        max_chars=MAX_JUSTIFICATION_CHARS,
        required_message=_l("Say why this disclosure is needed and lawful.")) or ""
    if sub.legal_basis not in LEGAL_BASES:
        problems["legal_basis"] = _l("Choose the legal basis.")
    table = sub.subject_table
    allowed_fields = codes.code_set(codes.FIELDS.get(table, ()))
    if table not in ("members", "reports"):
        problems["subject_table"] = _l("Choose whether the request is about a member or "
                                       "about reports.")
    ids = _parse_ids(sub.record_ids)
    if ids is None:
        problems["record_ids"] = _l("Give the id of each record, separated by spaces.")
    elif len(ids) > MAX_RECORDS:
        problems["record_ids"] = _l("At most %(count)d records in one request.",
                                    count=MAX_RECORDS)
    elif table == "members" and len(ids) != 1:
        problems["record_ids"] = _l("A request about a member concerns one member: record a "
                                    "request for each.")
    chosen = sorted(set(sub.fields))
    if not chosen:
        problems["fields"] = _l("Choose the details requested.")
    elif table in ("members", "reports") and not set(chosen) <= allowed_fields:
        problems["fields"] = _l("Choose only details that the chosen kind of record holds.")
    delay_reason = review_on = None
    if sub.delay:
        if sub.legal_basis == "consent":
            problems["delay"] = _l("A member who consented is told at once: no delay.")
        if sub.delay_reason not in codes.DELAY_REASON_LABELS:
            problems["delay_reason"] = _l("Choose why the member cannot be told now.")
        else:
            delay_reason = sub.delay_reason
        review_on = _review_date(sub.review_on, now, problems)
    contact_id = sub.contact_request_id.strip() or None
    if contact_id and sub.legal_basis != "consent":
        problems["contact_request_id"] = _l("Only a request on the basis of consent names "
                                            "the member's answer.")
    if sub.legal_basis == "consent" and not contact_id:
        problems["contact_request_id"] = _l(
            "Consent must be the member's own answer in their account: send them a "
            "request to contact them first, and name it here once they say yes.")

    request_id = new_id()
    stamp = _stamp(now)
    with transaction(conn):
        if ids is not None and "record_ids" not in problems and "subject_table" not in problems:
            missing = set(ids) - _existing(conn, table, ids)
            if missing:
                problems["record_ids"] = lazy_ngettext(
                    "%(num)d of those ids matches no record.",
                    "%(num)d of those ids match no record.", len(missing))
        if contact_id and "contact_request_id" not in problems:
            problem = _consent_problem(conn, contact_id, table, ids, chosen)
            if problem:
                problems["contact_request_id"] = problem
        if problems:
            raise RequestInvalid(problems)
        assert ids is not None
        sealed = seal_group("disclosure_requests", "details", request_id,
                            {"requester": requester, "reference": reference,
                             "justification": justification},
                            [vetting_recipient(conn, keys)])
        records.insert_request(
            conn, request_id=request_id, authority=sub.authority,
            legal_basis=sub.legal_basis, subject_table=table,
            fields=codes.parse_fields(chosen), details=sealed, contact_request_id=contact_id,
            requested_by=actor_id, requested_at=stamp, notice_delay_reason=delay_reason,
            notice_review_on=review_on.isoformat() if review_on else None, record_ids=ids)
        disclosure_log.append(conn, disclosure_log.disclosure_requested(
            at=now, actor=actor_id, legal_basis=LegalBasis(sub.legal_basis),
            records=[f"{table}/{rid}" for rid in ids], fields=chosen, request_id=request_id,
            authority=sub.authority, review_on=review_on.isoformat() if review_on else None,
            delay_reason=delay_reason if review_on else None,
            consent_id=contact_id or None))
    return request_id


def _load(conn: Connection, request_id: str) -> DisclosureRequest:
    found = find(conn, request_id)
    if found is None:
        raise LookupError("no such disclosure request")
    return found


def _check_consent_stands(request: DisclosureRequest) -> None:
    if request.contact_request_id and request.consent_status != ContactStatus.ACCEPTED:
        raise NotAllowed(_l("The member has withdrawn their consent, or never gave it: this "
                            "request cannot go ahead. Refuse it, giving that reason."))


def _entry(request: DisclosureRequest, event: Event, actor_id: str, now: datetime,
           approver: str | None = None, **extra: str) -> disclosure_log.LogEntry:
    return disclosure_log.disclosure_step(
        event, at=now, actor=actor_id, legal_basis=LegalBasis(request.legal_basis),
        records=request.records, fields=request.field_codes, request_id=request.id,
        approver=approver, **extra)


def approve(conn: Connection, request_id: str, actor_id: str, now: datetime) -> None:
    """The second pair of eyes: never the coordinator who recorded the request."""
    stamp = _stamp(now)
    with transaction(conn):
        request = _load(conn, request_id)
        if request.requested_by == actor_id:
            raise NotAllowed(_l("You recorded this request, so you cannot approve it: a "
                                "second, different coordinator must."), 403)
        if request.status != RequestStatus.PENDING:
            raise NotAllowed(_l("Only a request waiting for approval can be approved."))
        _check_consent_stands(request)
        if not records.approve_request(conn, request_id, actor_id, stamp):
            raise NotAllowed(_l("Only a request waiting for approval can be approved."))
        disclosure_log.append(conn, _entry(request, Event.DISCLOSURE_APPROVED, actor_id, now,
                                           approver=actor_id))


def refuse(conn: Connection, keys: ServerKeys, request_id: str, actor_id: str,
           reason: str, note: str, now: datetime) -> None:
    """Refuse (or, for the requester, withdraw) a request before it is disclosed."""
    if reason not in codes.REFUSAL_REASON_LABELS:
        raise RequestInvalid({"reason": _l("Choose the reason for refusing.")})
    checked_note = ""
    if note.strip():
        try:
            checked_note = validation.multi_line(note, max_chars=MAX_NOTE_CHARS,
                                                 required_message="")
        except validation.Invalid as invalid:
            raise RequestInvalid({"note": invalid.message}) from None
    if reason == "other" and not checked_note:
        raise RequestInvalid({"note": _l("Say what the other reason is.")})
    stamp = _stamp(now)
    with transaction(conn):
        request = _load(conn, request_id)
        if request.status not in (RequestStatus.PENDING, RequestStatus.APPROVED):
            raise NotAllowed(_l("This request has already been refused or disclosed."))
        sealed = (seal_group("disclosure_requests", "decision", request_id,
                             {"note": checked_note}, [vetting_recipient(conn, keys)])
                  if checked_note else None)
        records.refuse_request(conn, request_id, actor_id, stamp, reason, sealed)
        disclosure_log.append(conn, _entry(request, Event.DISCLOSURE_REFUSED, actor_id, now,
                                           reason=reason))


@dataclass(frozen=True)
class RequestDetails:
    requester: str
    reference: str
    justification: str
    note: str


def read_details(conn: Connection, key: BoxPrivateKey, request_id: str, actor_id: str,
                 now: datetime) -> RequestDetails:
    """Open who asked, their reference, the justification (and a refusal note): logged."""
    request = _load(conn, request_id)
    fields: dict[str, list[str]] = {"details": list(DETAIL_FIELDS)}
    if request.has_note:
        fields["decision"] = ["note"]
    opened = unseal(conn, UnsealRequest(
        actor_id=actor_id, purpose="disclosure", table="disclosure_requests",
        row_ids=[request_id], fields=fields,
        context={"request": f"disclosure_requests/{request_id}"}), key, now)[request_id]
    details = opened["details"]
    return RequestDetails(details["requester"], details["reference"],
                          details["justification"],
                          opened.get("decision", {}).get("note", ""))


@dataclass(frozen=True)
class Disclosed:
    request: DisclosureRequest
    opened: Opened  # row id -> column -> field -> value
    notified: bool


def disclose(conn: Connection, key: BoxPrivateKey, request_id: str, actor_id: str,
             now: datetime) -> Disclosed:
    """Open the approved fields once, logged first, then tell the member (unless delayed).

    The request is claimed (status 'disclosed') before anything opens, so a second attempt,
    even a simultaneous one, is refused. If opening fails, the claim is given back.
    """
    stamp = _stamp(now)
    with transaction(conn):
        request = _load(conn, request_id)
        if request.status == RequestStatus.DISCLOSED:
            raise NotAllowed(_l("This request has already been disclosed. A disclosure "
                                "happens once: record a new request if more is needed."))
        if request.status != RequestStatus.APPROVED:
            raise NotAllowed(_l("Only a request that a second coordinator approved can be "
                                "disclosed."))
        if request.requested_by != actor_id:
            raise NotAllowed(_l("Only the coordinator who recorded this request discloses "
                                "it, once another coordinator has approved it."), 403)
        _check_consent_stands(request)
        if not records.claim_for_disclosure(conn, request_id, actor_id):
            raise NotAllowed(_l("This request has already been disclosed."))
    context = {"request": f"disclosure_requests/{request_id}",
               "notice": "delayed" if request.delayed else "immediate"}
    if request.notice_review_on:
        context["notice_review_on"] = request.notice_review_on
    try:
        opened = unseal(conn, UnsealRequest(
            actor_id=actor_id, purpose="disclosure", table=request.subject_table,
            row_ids=list(request.record_ids), fields=request.fields,
            legal_basis=request.legal_basis, member_notified=False,
            approver_id=request.decided_by, context=context), key, now)
        with transaction(conn):
            records.set_disclosed_at(conn, request_id, stamp)
            if request.contact_request_id:
                records.set_contact_status(conn, request.contact_request_id,
                                           ContactStatus.SHARED)
    except BaseException:
        with transaction(conn):
            records.release_claim(conn, request_id)
        raise
    notified = False
    if not request.delayed:
        try:
            notified = notify(conn, request_id, actor_id, now)
        except Exception as error:  # the worker's release_due_notices sends it later
            log.error("disclosure %s: member notice left for the worker (%s)", request_id,
                      frames_only(error))
    return Disclosed(_load(conn, request_id), opened, notified)


def extend_delay(conn: Connection, request_id: str, actor_id: str, reason: str,
                 review_on_raw: str, now: datetime) -> None:
    """Keep a delayed notice back until a new review date (at most MAX_DELAY ahead)."""
    problems: dict[str, object] = {}
    if reason not in codes.DELAY_REASON_LABELS:
        problems["delay_reason"] = _l("Choose why the member still cannot be told.")
    review_on = _review_date(review_on_raw, now, problems)
    if problems:
        raise RequestInvalid(problems)
    assert review_on is not None
    with transaction(conn):
        request = _load(conn, request_id)
        if not request.delayed or request.notified_at is not None \
                or request.status != RequestStatus.DISCLOSED:
            raise NotAllowed(_l("Only a disclosed request whose notice is still held back "
                                "can have its delay extended."))
        if request.notice_review_on and request.notice_review_on < utc_day(now):
            raise NotAllowed(_l("The review date has passed, so the member is being told."))
        records.set_notice_delay(conn, request_id, reason, review_on.isoformat())
        disclosure_log.append(conn, _entry(
            request, Event.NOTICE_DELAY_EXTENDED, actor_id, now,
            notice_delay_reason=reason, notice_review_on=review_on.isoformat()))


def notify_now(conn: Connection, request_id: str, actor_id: str, now: datetime) -> None:
    """End a delay early: tell the member now."""
    request = _load(conn, request_id)
    if request.status != RequestStatus.DISCLOSED or request.notified_at is not None \
            or request.disclosed_at is None:
        raise NotAllowed(_l("There is no notice waiting to be sent for this request."))
    notify(conn, request_id, actor_id, now)



def printable(request: DisclosureRequest, opened: Opened
              ) -> list[tuple[str, list[tuple[object, str]]]]:
    """(record, [(field label, value)]) for the printable page; identifiers one a line."""
    from app.common.identifiers import KINDS

    sections = []
    for rid in request.record_ids:
        rows: list[tuple[object, str]] = []
        for code in request.field_codes:
            column, name = code.split(".", 1)
            value = opened.get(rid, {}).get(column, {}).get(name, "")
            if code == "offender.identifiers":
                try:
                    items = json.loads(value or "[]")
                except ValueError:
                    items = []
                value = "\n".join(f"{KINDS.get(i.get('kind', ''), i.get('kind', ''))}: "
                                  f"{i.get('value', '')}" for i in items if isinstance(i, dict))
            rows.append((codes.FIELD_LABELS.get(code, code), value))
        sections.append((f"{request.subject_table}/{rid}", rows))
    return sections
