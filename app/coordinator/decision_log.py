"""The decisions taken on one record, as the disclosure log tells them, and their notes.

A record's page lists its decisions from the log (the log is the record of what was
decided, so the page cannot say anything the auditor's copy does not). A decision's
note is sealed (app/vault/decision_notes.py): reading it is an unseal like any other,
logged first, under the purpose of the record it belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from app.audit.browse import staff_names
from app.audit.labels import EVENT_LABELS
from app.auth import staff as staff_logins
from app.common import choices
from app.disclosures import codes as disclosure_codes
from app.membership import decisions as memberships
from app.vault import decision_notes, log
from app.vault.db import Connection
from app.vault.log import Event, Purpose
from app.vault.unseal import UnsealRequest, unseal
from crypto.keys import BoxPrivateKey

# Entries that are not decisions about the record: readings and deliveries.
_NOT_DECISIONS = frozenset({Event.UNSEALED, Event.VETTING_KEY_UNLOCKED, Event.DELIVER_ALERT,
                            Event.DELIVER_APPROVAL, Event.DELIVER_RESET,
                            Event.DELIVER_DISCLOSURE, Event.DELIVER_MESSAGE})
DECISION_EVENTS = tuple(event for event in Event if event not in _NOT_DECISIONS)

# Which purpose reading a note is logged under, by the kind of record it belongs to.
_PURPOSES = {"members": Purpose.VETTING, "accounts": Purpose.VETTING,
             "reports": Purpose.REPORT_REVIEW, "alerts": Purpose.REPORT_REVIEW,
             "disclosure_requests": Purpose.DISCLOSURE}


def _reason_labels() -> dict[str, object]:
    labels: dict[str, object] = {}
    for pairs in (choices.MALICIOUS_REASONS, choices.MALICIOUS_UNDO_REASONS,
                  choices.LEAVE_REASONS, choices.ALERT_WITHDRAW_REASONS,
                  choices.ALERT_UNDO_REASONS, choices.DISCLOSE_REASONS,
                  staff_logins.DISABLE_REASONS, staff_logins.ENABLE_REASONS,
                  disclosure_codes.DELAY_REASONS, disclosure_codes.REFUSAL_REASONS,
                  disclosure_codes.CONTACT_REASONS):
        labels.update(dict(pairs))
    for mapping in (memberships.REJECT_REASONS, memberships.INFO_REASONS,
                    memberships.APPROVE_UNREAD_REASONS, memberships.REVOKE_REASONS):
        labels.update(mapping)
    return labels


REASON_LABELS = _reason_labels()


@dataclass(frozen=True)
class Decision:
    event: str
    at: str
    actor: str  # the staff label; "" for a member, the worker or an operator's command
    reason: str | None  # a code; REASON_LABELS has its words
    note_id: str | None

    @property
    def event_label(self) -> object:
        return EVENT_LABELS.get(self.event, self.event)

    @property
    def reason_label(self) -> object:
        return None if self.reason is None else REASON_LABELS.get(self.reason, self.reason)


def _note_id(body: Mapping[str, object]) -> str | None:
    note = body.get("note")
    if isinstance(note, str) and note.startswith("decision_notes/"):
        return note.removeprefix("decision_notes/")
    return None


def on_record(conn: Connection, record: str) -> list[Decision]:
    """The decisions naming `record` ("reports/<id>", ...), oldest first."""
    names = staff_names(conn)
    bodies = log.for_record(conn, record, DECISION_EVENTS)
    if record.startswith("disclosure_requests/"):
        # A request's steps name it beside the records they disclose; the disclosure
        # itself is an unseal entry, a decision when it carries its note.
        bodies = [body for body in log.for_request(conn, record)
                  if body.get("event") in DECISION_EVENTS or _note_id(body)]
    found = []
    for body in bodies:
        actor = str(body.get("actor", ""))
        reason = body.get("reason")
        found.append(Decision(event=str(body.get("event", Event.UNSEALED.value)),
                              at=str(body.get("at", "")),
                              actor=names.get(actor, ""),
                              reason=reason if isinstance(reason, str) else None,
                              note_id=_note_id(body)))
    return found


@dataclass(frozen=True)
class OpenedNote:
    note_id: str
    record: str
    text: str
    decision: Decision


def read_note(conn: Connection, key: BoxPrivateKey, actor_id: str, note_id: str,
              now: datetime) -> OpenedNote | None:
    """Open one decision note (logged first); None when there is no such note."""
    of = decision_notes.note_of(conn, note_id)
    if of is None:
        return None
    purpose = _PURPOSES.get(of.record.partition("/")[0], Purpose.VETTING)
    opened = unseal(conn, UnsealRequest(
        actor_id=actor_id, purpose=purpose, table=decision_notes.TABLE, row_ids=[note_id],
        fields={"body": ["note"]}, context={"note_of": of.record}), key, now)
    # The page names the decision the note was given with, so it reads on its own: the
    # log entry that names the note (with its reason), else the note's own row.
    decision = next((d for d in on_record(conn, of.record) if d.note_id == note_id),
                    Decision(event=of.event, at=of.created_at, reason=None, note_id=note_id,
                             actor=staff_names(conn).get(of.actor_id, "")))
    return OpenedNote(note_id, of.record, opened[note_id]["body"]["note"], decision)
