"""The disclosure log: one typed entry shape, kept as a hash chain (crypto/audit_chain.py).

Every entry is a `LogEntry`: an `Event`, when, who, and the fields that event needs, built
by the constructors below (`unsealed`, `key_unlocked`, `delivery_batch`, ...) so a new
event cannot be written with a field missing. An entry names records by id and fields by
name; it never holds a sealed value. Appends happen inside the caller's transaction, so
the entry and whatever it records commit together or not at all.

Bodies are stored as the chain's canonical JSON. Entries written before this module
existed keep their exact bytes (nothing here rewrites a stored body), so old chains keep
verifying, and every event keeps the body shape it had, so an auditor's own verifier
and filters need no change. Unseal entries carry no "event" key (`Event.UNSEALED`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.vault.db import Connection
from crypto import audit_chain


class Event(StrEnum):
    UNSEALED = "unseal"
    VETTING_KEY_UNLOCKED = "vetting_key_unlocked"
    DELIVER_ALERT = "deliver_alert"
    DELIVER_APPROVAL = "deliver_approval"
    DELIVER_RESET = "deliver_reset"
    DELIVER_DISCLOSURE = "deliver_disclosure"
    DELIVER_MESSAGE = "deliver_message"
    DISCLOSURE_REQUESTED = "disclosure_requested"
    DISCLOSURE_APPROVED = "disclosure_approved"
    DISCLOSURE_REFUSED = "disclosure_refused"
    NOTICE_DELAY_EXTENDED = "notice_delay_extended"
    MEMBER_NOTIFIED = "member_notified"
    POLICE_EXPORT = "police_export"
    CONTACT_REQUEST_SENT = "contact_request_sent"
    CONTACT_REQUEST_ANSWERED = "contact_request_answered"
    STAFF_CREATED = "staff_created"
    STAFF_LABELLED = "staff_labelled"
    STAFF_DISABLED = "staff_disabled"
    STAFF_ENABLED = "staff_enabled"
    STAFF_TWO_STEP_RESET = "staff_two_step_reset"
    STAFF_PASSWORD_RESET = "staff_password_reset"  # noqa: S105 (an event name)
    MEMBER_TWO_STEP_RESET = "member_two_step_reset"
    MEMBER_RESET_CODE_SENT = "member_reset_code_sent"
    APPLICATION_APPROVED = "application_approved"
    APPLICATION_REJECTED = "application_rejected"
    INFORMATION_REQUESTED = "information_requested"
    INFORMATION_ANSWERED = "information_answered"
    MEMBERSHIP_REVOKED = "membership_revoked"
    LEAVE_RECORDED = "leave_recorded"
    REPORT_MARKED_MALICIOUS = "report_marked_malicious"
    REPORT_MARKED_MALICIOUS_UNDONE = "report_marked_malicious_undone"
    ALERT_PUBLISHED = "alert_published"
    ALERT_EDITED = "alert_edited"
    ALERT_WITHDRAWN = "alert_withdrawn"
    ALERT_WITHDRAWAL_UNDONE = "alert_withdrawal_undone"
    KEY_HOLDER_ADDED = "key_holder_added"
    KEY_HOLDER_BOUND = "key_holder_bound"
    KEY_HOLDER_REMOVED = "key_holder_removed"
    VETTING_KEY_REGISTERED = "vetting_key_registered"
    VETTING_ROTATION_STARTED = "vetting_rotation_started"
    VETTING_ROTATION_FINISHED = "vetting_rotation_finished"
    DELIVERY_ROTATION_STARTED = "delivery_rotation_started"
    DELIVERY_ROTATION_FINISHED = "delivery_rotation_finished"
    AUDIT_KEY_ROTATED = "audit_key_rotated"
    DATABASE_KEY_ROTATED = "database_key_rotated"
    CONTACT_INDEX_KEY_CREATED = "contact_index_key_created"
    SUPPORT_STATUS_CHANGED = "support_status_changed"
    SUPPORT_NOTE_SAVED = "support_note_saved"
    SUPPORT_MEMBER_MESSAGED = "support_member_messaged"
    SUPPORT_ANSWERED = "support_answered"


class Purpose(StrEnum):
    VETTING = "vetting"
    REPORT_REVIEW = "report_review"
    ALERT_DELIVERY = "alert_delivery"
    DISCLOSURE = "disclosure"


class LegalBasis(StrEnum):
    CONSENT = "consent"
    CHILD_PROTECTION = "child_protection"
    PREVENTING_CRIME = "preventing_crime"
    RISK_TO_LIFE = "risk_to_life"
    TERRORISM = "terrorism"
    COURT_ORDER = "court_order"


# The actor of entries the worker writes (it has no account).
WORKER = "worker"
# The actor of entries an operator's command writes (`flask --app app staff ...`): whoever
# runs it on the server has no account either.
OPERATOR = "operator"
# The actor of a decision made without a signed-in account (an operator's command).
SYSTEM = "system"

# What an event-specific detail may be: ids, codes, counts and flags, never typed text.
Detail = str | int | bool | None | tuple[str, ...]

# Keys every entry may carry; details cannot reuse them.
_COMMON_KEYS = frozenset({"at", "actor", "event", "purpose", "legal_basis", "records",
                          "fields", "approver", "member_notified"})


@dataclass(frozen=True)
class LogEntry:
    event: Event
    at: datetime
    actor: str
    purpose: Purpose | None = None
    legal_basis: LegalBasis | None = None
    records: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    approver: str | None = None
    member_notified: bool | None = None
    details: tuple[tuple[str, Detail], ...] = ()

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("log entries carry an aware time")
        clash = {key for key, _value in self.details} & _COMMON_KEYS
        if clash:
            raise ValueError(f"details cannot set {sorted(clash)}")

    def body(self) -> dict[str, object]:
        """The JSON body the chain hashes."""
        body: dict[str, object] = {"at": self.at.isoformat(timespec="seconds"),
                                   "actor": self.actor}
        # Unseal entries have never named their event (readers take a missing "event"
        # to mean an unseal); keeping that shape keeps every auditor's tool working.
        if self.event is not Event.UNSEALED:
            body["event"] = self.event.value
        if self.purpose is not None:
            body["purpose"] = self.purpose.value
        if self.legal_basis is not None or self.event is Event.UNSEALED:
            body["legal_basis"] = None if self.legal_basis is None else self.legal_basis.value
        if self.records or self.event is not Event.VETTING_KEY_UNLOCKED:
            body["records"] = list(self.records)
        if self.fields:
            body["fields"] = list(self.fields)
        if self.approver is not None or self.event is Event.UNSEALED:
            body["approver"] = self.approver
        if self.member_notified is not None:
            body["member_notified"] = self.member_notified
        for key, value in self.details:
            body[key] = list(value) if isinstance(value, tuple) else value
        return body


def _details(**values: Detail) -> tuple[tuple[str, Detail], ...]:
    return tuple((key, value) for key, value in values.items() if value is not None)


def unsealed(*, at: datetime, actor: str, purpose: Purpose, records: Sequence[str],
             fields: Sequence[str], legal_basis: LegalBasis | None = None,
             approver: str | None = None, member_notified: bool = False,
             context: Mapping[str, str] | None = None) -> LogEntry:
    """Sealed fields opened: which records, which fields, why."""
    if not records or not fields:
        raise ValueError("an unseal names at least one record and one field")
    return LogEntry(Event.UNSEALED, at, actor, purpose=purpose, legal_basis=legal_basis,
                    records=tuple(records), fields=tuple(sorted(fields)), approver=approver,
                    member_notified=member_notified,
                    details=tuple(sorted((context or {}).items())))


def key_unlocked(*, at: datetime, actor: str, key_fingerprint: str) -> LogEntry:
    return LogEntry(Event.VETTING_KEY_UNLOCKED, at, actor,
                    details=(("key", key_fingerprint),))


_DELIVERY_EVENTS = {"alert": Event.DELIVER_ALERT, "approval": Event.DELIVER_APPROVAL,
                    "reset": Event.DELIVER_RESET, "disclosure": Event.DELIVER_DISCLOSURE,
                    "message": Event.DELIVER_MESSAGE}


def delivery_batch(*, at: datetime, kind: str, alert_id: str | None, member_count: int,
                   fields: Sequence[str]) -> LogEntry:
    """The worker opens contacts for one batch of one kind of notice: how many, never who."""
    return LogEntry(_DELIVERY_EVENTS[kind], at, WORKER, purpose=Purpose.ALERT_DELIVERY,
                    records=(f"alerts/{alert_id}",) if alert_id else (),
                    fields=tuple(sorted(set(fields))),
                    details=(("member_count", member_count),))


def disclosure_requested(*, at: datetime, actor: str, legal_basis: LegalBasis,
                         records: Sequence[str], fields: Sequence[str], request_id: str,
                         authority: str, review_on: str | None, delay_reason: str | None,
                         consent_id: str | None) -> LogEntry:
    return LogEntry(
        Event.DISCLOSURE_REQUESTED, at, actor, purpose=Purpose.DISCLOSURE,
        legal_basis=legal_basis, records=tuple(records), fields=tuple(fields),
        details=_details(request=f"disclosure_requests/{request_id}", authority=authority,
                         notice="delayed" if review_on else "immediate",
                         notice_review_on=review_on, notice_delay_reason=delay_reason,
                         consent=f"contact_requests/{consent_id}" if consent_id else None))


def disclosure_step(event: Event, *, at: datetime, actor: str, legal_basis: LegalBasis,
                    records: Sequence[str], fields: Sequence[str], request_id: str,
                    approver: str | None = None, **extra: str) -> LogEntry:
    """Approval, refusal or a longer notice delay of a disclosure request."""
    if event not in (Event.DISCLOSURE_APPROVED, Event.DISCLOSURE_REFUSED,
                     Event.NOTICE_DELAY_EXTENDED):
        raise ValueError(f"{event} is not a step of a disclosure request")
    if (event is Event.DISCLOSURE_APPROVED) != (approver is not None):
        raise ValueError("an approval, and only an approval, names its approver")
    return LogEntry(event, at, actor, purpose=Purpose.DISCLOSURE, legal_basis=legal_basis,
                    records=tuple(records), fields=tuple(fields), approver=approver,
                    details=(("request", f"disclosure_requests/{request_id}"),
                             *sorted(extra.items())))


def member_notified(*, at: datetime, actor: str, legal_basis: LegalBasis,
                    records: Sequence[str], request_id: str, told: bool,
                    channel_notices: int) -> LogEntry:
    return LogEntry(
        Event.MEMBER_NOTIFIED, at, actor, purpose=Purpose.DISCLOSURE,
        legal_basis=legal_basis, records=tuple(records), member_notified=told,
        details=_details(request=f"disclosure_requests/{request_id}",
                         channel_notices=channel_notices,
                         member_notified_at=at.isoformat(timespec="seconds") if told else None,
                         reason=None if told else "no active membership to tell"))


def police_export(*, at: datetime, actor: str, records: Sequence[str],
                  fields: Sequence[str]) -> LogEntry:
    return LogEntry(Event.POLICE_EXPORT, at, actor, purpose=Purpose.DISCLOSURE,
                    legal_basis=LegalBasis.CONSENT, records=tuple(records),
                    fields=tuple(fields), member_notified=False)


def contact_request_sent(*, at: datetime, actor: str, member_id: str, report_id: str | None,
                         fields: Sequence[str], contact_id: str, authority: str,
                         channel_notices: int) -> LogEntry:
    return LogEntry(Event.CONTACT_REQUEST_SENT, at, actor, purpose=Purpose.DISCLOSURE,
                    records=(f"members/{member_id}", f"reports/{report_id}"),
                    fields=tuple(fields),
                    details=(("request", f"contact_requests/{contact_id}"),
                             ("authority", authority), ("channel_notices", channel_notices)))


def contact_request_answered(*, at: datetime, actor: str, member_id: str, contact_id: str,
                             answer: str) -> LogEntry:
    return LogEntry(Event.CONTACT_REQUEST_ANSWERED, at, actor, purpose=Purpose.DISCLOSURE,
                    records=(f"members/{member_id}",),
                    details=(("request", f"contact_requests/{contact_id}"),
                             ("answer", answer)))


_STAFF_EVENTS = frozenset({Event.STAFF_CREATED, Event.STAFF_LABELLED, Event.STAFF_DISABLED,
                           Event.STAFF_ENABLED, Event.STAFF_TWO_STEP_RESET,
                           Event.STAFF_PASSWORD_RESET})


def staff_changed(event: Event, *, at: datetime, actor: str, account_id: str, role: str,
                  reason: str | None = None, sessions_ended: int | None = None,
                  note_id: str | None = None) -> LogEntry:
    """A staff login created, labelled, disabled, enabled or reset: whose, by whom, why.

    Names the login by id and the reason by code; never the label's text or a secret.
    """
    if event not in _STAFF_EVENTS:
        raise ValueError(f"{event} is not a change to a staff login")
    if (reason is not None) != (event in (Event.STAFF_DISABLED, Event.STAFF_ENABLED)):
        raise ValueError("disabling and enabling, and only those, give a reason")
    return LogEntry(event, at, actor, records=(f"accounts/{account_id}",),
                    details=_details(role=role, reason=reason, sessions_ended=sessions_ended,
                                     note=_note(note_id)))


def member_access_changed(event: Event, *, at: datetime, actor: str, member_id: str,
                          account_id: str, channel: str | None = None) -> LogEntry:
    """A coordinator reset a member's two-step sign-in or sent them a password-reset code."""
    if event not in (Event.MEMBER_TWO_STEP_RESET, Event.MEMBER_RESET_CODE_SENT):
        raise ValueError(f"{event} is not a change to a member's sign-in")
    if (channel is not None) != (event is Event.MEMBER_RESET_CODE_SENT):
        raise ValueError("a reset code, and only a reset code, names its channel")
    return LogEntry(event, at, actor, records=(f"members/{member_id}", f"accounts/{account_id}"),
                    member_notified=True, details=_details(channel=channel))
# Decisions. Each names the record by id and the reason by its code; a note a coordinator
# typed is sealed elsewhere (app/vault/decision_notes.py), so an entry names the note's
# row ("decision_notes/<id>"), never its text.

def _decision(event: Event, *, at: datetime, actor: str | None, records: Sequence[str],
              purpose: Purpose | None = None, **details: Detail) -> LogEntry:
    return LogEntry(event, at, actor or SYSTEM, purpose=purpose, records=tuple(records),
                    details=_details(**details))


def application_approved(*, at: datetime, actor: str | None, member_id: str, read: bool,
                         reason: str | None = None) -> LogEntry:
    """`read`: the details were opened in this unlock; if not, `reason` says why not."""
    if not read and not reason:
        raise ValueError("approving without reading names a reason")
    return _decision(Event.APPLICATION_APPROVED, at=at, actor=actor, purpose=Purpose.VETTING,
                     records=(f"members/{member_id}",), read=read, reason=reason)


def application_rejected(*, at: datetime, actor: str | None, member_id: str,
                         reason: str) -> LogEntry:
    return _decision(Event.APPLICATION_REJECTED, at=at, actor=actor, purpose=Purpose.VETTING,
                     records=(f"members/{member_id}",), reason=reason)


def information_requested(*, at: datetime, actor: str | None, member_id: str, reason: str,
                          question_id: str | None = None) -> LogEntry:
    return _decision(Event.INFORMATION_REQUESTED, at=at, actor=actor, purpose=Purpose.VETTING,
                     records=(f"members/{member_id}",), reason=reason,
                     question=f"application_questions/{question_id}" if question_id else None)


def information_answered(*, at: datetime, actor: str, member_id: str,
                         question_id: str) -> LogEntry:
    return _decision(Event.INFORMATION_ANSWERED, at=at, actor=actor, purpose=Purpose.VETTING,
                     records=(f"members/{member_id}",),
                     question=f"application_questions/{question_id}")


def _note(note_id: str | None) -> str | None:
    return None if note_id is None else f"decision_notes/{note_id}"


def membership_revoked(*, at: datetime, actor: str | None, member_id: str, reason: str,
                       note_id: str | None = None) -> LogEntry:
    return _decision(Event.MEMBERSHIP_REVOKED, at=at, actor=actor,
                     records=(f"members/{member_id}",), reason=reason, note=_note(note_id))


def leave_recorded(*, at: datetime, actor: str | None, member_id: str, by_member: bool,
                   reason: str | None = None, note_id: str | None = None) -> LogEntry:
    """A membership ended by leaving: the member's own choice, or recorded by a coordinator."""
    return _decision(Event.LEAVE_RECORDED, at=at, actor=actor,
                     records=(f"members/{member_id}",),
                     recorded_by="member" if by_member else "coordinator", reason=reason,
                     note=_note(note_id))


def report_marked_malicious(*, at: datetime, actor: str, report_id: str,
                            reason: str | None = None, note_id: str | None = None,
                            previous_status: str | None = None) -> LogEntry:
    """`previous_status`: what an undo puts back (the mark itself closes the report)."""
    return _decision(Event.REPORT_MARKED_MALICIOUS, at=at, actor=actor,
                     purpose=Purpose.REPORT_REVIEW, records=(f"reports/{report_id}",),
                     reason=reason, note=_note(note_id), previous_status=previous_status)


def report_malicious_undone(*, at: datetime, actor: str, report_id: str, reason: str,
                            note_id: str | None = None,
                            restored_status: str | None = None) -> LogEntry:
    return _decision(Event.REPORT_MARKED_MALICIOUS_UNDONE, at=at, actor=actor,
                     purpose=Purpose.REPORT_REVIEW, records=(f"reports/{report_id}",),
                     reason=reason, note=_note(note_id), restored_status=restored_status)


def alert_published(*, at: datetime, actor: str | None, alert_id: str, version: int,
                    report_id: str | None, notices: int) -> LogEntry:
    return _decision(Event.ALERT_PUBLISHED, at=at, actor=actor,
                     records=(f"alerts/{alert_id}",
                              *((f"reports/{report_id}",) if report_id else ())),
                     version=version, notices=notices)


def alert_edited(*, at: datetime, actor: str | None, alert_id: str, version: int,
                 notify_again: bool, notices: int) -> LogEntry:
    """A published alert changed: the new version, and whether members were told again."""
    return _decision(Event.ALERT_EDITED, at=at, actor=actor, records=(f"alerts/{alert_id}",),
                     version=version, notify_again=notify_again, notices=notices)


def alert_withdrawn(*, at: datetime, actor: str | None, alert_id: str,
                    reason: str | None = None, note_id: str | None = None) -> LogEntry:
    return _decision(Event.ALERT_WITHDRAWN, at=at, actor=actor, records=(f"alerts/{alert_id}",),
                     reason=reason, note=_note(note_id))


def alert_withdrawal_undone(*, at: datetime, actor: str, alert_id: str, version: int,
                            reason: str, note_id: str | None = None) -> LogEntry:
    """A withdrawn alert published again, as the version it was withdrawn at."""
    return _decision(Event.ALERT_WITHDRAWAL_UNDONE, at=at, actor=actor,
                     records=(f"alerts/{alert_id}",), version=version, reason=reason,
                     note=_note(note_id))
def key_holder_added(*, at: datetime, actor: str, holder_id: str, kind: str,
                     account_id: str | None, holder_key: str, source: str) -> LogEntry:
    """A wrap of the vetting key made for a new holder; `source` says what opened it."""
    return LogEntry(Event.KEY_HOLDER_ADDED, at, actor,
                    records=(f"key_holders/{holder_id}",),
                    details=_details(kind=kind, account=account_id, holder_key=holder_key,
                                     source=source))


def key_holder_bound(*, at: datetime, actor: str, holder_id: str,
                     account_id: str) -> LogEntry:
    """A holder enrolled without a login is bound to an account (by its first unlock)."""
    return LogEntry(Event.KEY_HOLDER_BOUND, at, actor, records=(f"key_holders/{holder_id}",),
                    details=(("account", account_id),))


def key_holder_removed(*, at: datetime, actor: str, holder_id: str, account_id: str | None,
                       wraps_deleted: int, reason: str) -> LogEntry:
    return LogEntry(Event.KEY_HOLDER_REMOVED, at, actor,
                    records=(f"key_holders/{holder_id}",),
                    details=_details(account=account_id, wraps_deleted=wraps_deleted,
                                     reason=reason))


def vetting_key_registered(*, at: datetime, actor: str, key_fingerprint: str,
                           source: str) -> LogEntry:
    """A vetting key made before holders existed becomes known to the database."""
    return LogEntry(Event.VETTING_KEY_REGISTERED, at, actor,
                    details=(("key", key_fingerprint), ("source", source)))


def vetting_rotation_started(*, at: datetime, actor: str, rotation_id: str, old_key: str,
                             new_key: str, holders: int) -> LogEntry:
    return LogEntry(Event.VETTING_ROTATION_STARTED, at, actor,
                    records=(f"key_rotations/{rotation_id}",),
                    details=(("old_key", old_key), ("new_key", new_key),
                             ("holders", holders)))


def vetting_rotation_finished(*, at: datetime, actor: str, rotation_id: str, old_key: str,
                              new_key: str, rewrapped: int,
                              counts: Sequence[str]) -> LogEntry:
    """The old key retired: how many envelopes moved, per sealed place ("table.column=n")."""
    return LogEntry(Event.VETTING_ROTATION_FINISHED, at, actor,
                    records=(f"key_rotations/{rotation_id}",),
                    details=(("old_key", old_key), ("new_key", new_key),
                             ("rewrapped", rewrapped), ("counts", tuple(counts))))


def delivery_rotation_started(*, at: datetime, actor: str, old_key: str,
                              new_key: str) -> LogEntry:
    return LogEntry(Event.DELIVERY_ROTATION_STARTED, at, actor, records=("keys/delivery",),
                    details=(("old_key", old_key), ("new_key", new_key)))


def delivery_rotation_finished(*, at: datetime, actor: str, old_key: str, new_key: str,
                               rewrapped: int, counts: Sequence[str]) -> LogEntry:
    """The worker's key replaced: envelopes moved, per place ("table.column=n")."""
    return LogEntry(Event.DELIVERY_ROTATION_FINISHED, at, actor, records=("keys/delivery",),
                    details=(("old_key", old_key), ("new_key", new_key),
                             ("rewrapped", rewrapped), ("counts", tuple(counts))))


def audit_key_rotated(*, at: datetime, actor: str, old_key: str, new_key: str) -> LogEntry:
    return LogEntry(Event.AUDIT_KEY_ROTATED, at, actor, records=("keys/audit",),
                    details=(("old_key", old_key), ("new_key", new_key)))


def database_key_rotated(*, at: datetime, actor: str, backup: str) -> LogEntry:
    """SQLCipher rekeyed; `backup` names the backup file made first (never a key)."""
    return LogEntry(Event.DATABASE_KEY_ROTATED, at, actor, records=("keys/database",),
                    details=(("backup", backup),))


def contact_index_key_created(*, at: datetime, actor: str, key_id: str,
                              reason: str) -> LogEntry:
    """A new contact-index key, sealed to the vetting key; every member is to be indexed
    again under it. `reason`: "first_unlock" or "rotation". Names the key by id only."""
    return LogEntry(Event.CONTACT_INDEX_KEY_CREATED, at, actor,
                    records=(f"contact_index_keys/{key_id}",), details=(("reason", reason),))


def support_status_changed(*, at: datetime, actor: str, request_id: str, report_id: str,
                           status: str, previous: str) -> LogEntry:
    """Following up support a reporter asked for: new, contacted or closed."""
    return _decision(Event.SUPPORT_STATUS_CHANGED, at=at, actor=actor,
                     purpose=Purpose.REPORT_REVIEW,
                     records=(f"support_requests/{request_id}", f"reports/{report_id}"),
                     status=status, previous=previous)


def support_note_saved(*, at: datetime, actor: str, request_id: str,
                       report_id: str) -> LogEntry:
    """A coordinator's note on a support request, sealed: the entry says only that it was."""
    return _decision(Event.SUPPORT_NOTE_SAVED, at=at, actor=actor,
                     purpose=Purpose.REPORT_REVIEW,
                     records=(f"support_requests/{request_id}", f"reports/{report_id}"))


def support_member_messaged(*, at: datetime, actor: str, request_id: str, report_id: str,
                            member_id: str, channel_notices: int) -> LogEntry:
    """The reporter was written to in their account about the support they asked for."""
    return _decision(Event.SUPPORT_MEMBER_MESSAGED, at=at, actor=actor,
                     purpose=Purpose.REPORT_REVIEW,
                     records=(f"support_requests/{request_id}", f"reports/{report_id}",
                              f"members/{member_id}"),
                     channel_notices=channel_notices)


def support_answered(*, at: datetime, actor: str, request_id: str, report_id: str,
                     member_id: str) -> LogEntry:
    """The reporter answered the scheme's message about their support; the answer is sealed,
    so the entry says only that they did."""
    return _decision(Event.SUPPORT_ANSWERED, at=at, actor=actor,
                     purpose=Purpose.REPORT_REVIEW,
                     records=(f"support_requests/{request_id}", f"reports/{report_id}",
                              f"members/{member_id}"))


def _row_to_entry(row: Mapping[str, object]) -> audit_chain.ChainedEntry:
    body = row["body"]
    prev_hash, entry_hash = row["prev_hash"], row["entry_hash"]
    assert isinstance(body, str) and isinstance(prev_hash, bytes)
    assert isinstance(entry_hash, bytes) and isinstance(row["seq"], int)
    return audit_chain.ChainedEntry(seq=row["seq"], body=json.loads(body),
                                    prev_hash=prev_hash, entry_hash=entry_hash)


def head(conn: Connection) -> audit_chain.ChainedEntry | None:
    row = conn.execute(
        "SELECT seq, body, prev_hash, entry_hash FROM disclosure_log ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    return _row_to_entry(row) if row else None


def append(conn: Connection, entry: LogEntry) -> audit_chain.ChainedEntry:
    """Add one entry. Must run inside `db.transaction` (BEGIN IMMEDIATE serialises heads)."""
    if not isinstance(entry, LogEntry):
        raise TypeError("the disclosure log takes LogEntry values only")
    if not conn.in_transaction:
        raise RuntimeError("log.append must run inside a transaction")
    chained = audit_chain.append(head(conn), entry.body())
    conn.execute(
        "INSERT INTO disclosure_log (seq, body, prev_hash, entry_hash) VALUES (?, ?, ?, ?)",
        (chained.seq, audit_chain.canonical(chained.body).decode("utf-8"),
         chained.prev_hash, chained.entry_hash),
    )
    return chained


def entries(conn: Connection) -> list[audit_chain.ChainedEntry]:
    rows = conn.execute(
        "SELECT seq, body, prev_hash, entry_hash FROM disclosure_log ORDER BY seq"
    ).fetchall()
    return [_row_to_entry(row) for row in rows]


def opened_since_unlock(conn: Connection, actor: str, record: str, purpose: Purpose) -> bool:
    """Did `actor` unseal `record` (e.g. "members/<id>") since their latest key unlock?

    The log is the evidence that something was read: a decision that needs a reading
    asks it, rather than a flag a page could forget to set. No unlock, no reading.
    """
    row = conn.execute(
        "SELECT max(seq) AS seq FROM disclosure_log WHERE "
        "json_extract(body, '$.event') = ? AND json_extract(body, '$.actor') = ?",
        (Event.VETTING_KEY_UNLOCKED.value, actor)).fetchone()
    if row is None or row["seq"] is None:
        return False
    found = conn.execute(
        "SELECT 1 FROM disclosure_log d, json_each(d.body, '$.records') r "
        "WHERE d.seq > ? AND json_extract(d.body, '$.event') IS NULL "
        "AND json_extract(d.body, '$.actor') = ? AND json_extract(d.body, '$.purpose') = ? "
        "AND r.value = ? LIMIT 1", (row["seq"], actor, purpose.value, record)).fetchone()
    return found is not None


def latest(conn: Connection, event: Event, record: str) -> Mapping[str, object] | None:
    """The body of the newest `event` entry naming `record`, or None: what an undo reads
    to know the state it puts back, so the evidence and the restoring are one thing."""
    row = conn.execute(
        "SELECT d.body AS body FROM disclosure_log d, json_each(d.body, '$.records') r "
        "WHERE json_extract(d.body, '$.event') = ? AND r.value = ? "
        "ORDER BY d.seq DESC LIMIT 1", (event.value, record)).fetchone()
    if row is None:
        return None
    body = json.loads(row["body"])
    assert isinstance(body, dict)
    return body


def for_record(conn: Connection, record: str,
               events: Sequence[Event]) -> list[Mapping[str, object]]:
    """The bodies of the `events` entries naming `record`, oldest first."""
    wanted = {event.value for event in events}
    rows = conn.execute(
        "SELECT d.body AS body FROM disclosure_log d, json_each(d.body, '$.records') r "
        "WHERE r.value = ? ORDER BY d.seq", (record,)).fetchall()
    bodies = [json.loads(row["body"]) for row in rows]
    return [body for body in bodies if isinstance(body, dict) and body.get("event") in wanted]


def for_request(conn: Connection, request: str) -> list[Mapping[str, object]]:
    """The bodies of the entries a disclosure request's steps wrote (they name it under
    "request", beside the records disclosed), oldest first."""
    rows = conn.execute(
        "SELECT body FROM disclosure_log WHERE json_extract(body, '$.request') = ? "
        "ORDER BY seq", (request,)).fetchall()
    bodies = [json.loads(row["body"]) for row in rows]
    return [body for body in bodies if isinstance(body, dict)]


def verify(conn: Connection) -> audit_chain.ChainVerdict:
    return audit_chain.verify_chain(entries(conn))
