"""Coordinators' report review: the queue, linked reports, unsealing, and outcomes.

Linking works on the full-length identifier indexes alone: two reports that share any
index value are linked, and the coordinator sees that before unsealing either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.alerts import service as alert_service
from app.common import choices, validation
from app.common.validation import Refusal
from app.reports import records
from app.reports.records import ReportAction, ReportStatus
from app.vault import decision_notes, holders, log
from app.vault.db import Connection, Row, count, transaction
from app.vault.unseal import UnsealRequest, unseal
from crypto.keys import BoxPrivateKey
from crypto.keystore import ServerKeys


@dataclass(frozen=True)
class ReportSummary:
    id: str
    created_at: str
    incident_date: str
    incident_time: str
    area: str
    late: bool
    third_party: bool
    consent_alert: bool
    consent_police_anonymous: bool
    consent_police_details: bool
    wants_support: bool
    status: str
    malicious: bool
    reporter_member_id: str | None
    categories: tuple[str, ...]
    linked: int
    reference: str | None = None
    withdrawn_at: str | None = None
    additions: int = 0


_SELECT = """
SELECT r.id, r.created_at, r.incident_date, r.incident_time, r.area, r.late, r.third_party,
       r.consent_alert, r.consent_police_anonymous, r.consent_police_details,
       r.wants_support, r.status, r.malicious, r.reporter_member_id, r.reference,
       r.withdrawn_at,
       (SELECT count(*) FROM report_additions a WHERE a.report_id = r.id) AS additions,
       (SELECT group_concat(category, ',') FROM
           (SELECT category FROM report_categories c WHERE c.report_id = r.id
            ORDER BY category)) AS categories,
       (SELECT COUNT(DISTINCT other.report_id)
          FROM report_identifier_index mine
          JOIN report_identifier_index other
            ON other.index_name = mine.index_name AND other.value = mine.value
           AND other.report_id != mine.report_id
         WHERE mine.report_id = r.id) AS linked
  FROM reports r
"""
_FLAGS = ("late", "third_party", "consent_alert", "consent_police_anonymous",
          "consent_police_details", "wants_support", "malicious")


def _summary(row: Row) -> ReportSummary:
    values = {f.name: row[f.name] for f in fields(ReportSummary)}
    values.update({flag: bool(row[flag]) for flag in _FLAGS})
    values["categories"] = tuple(row["categories"].split(",")) if row["categories"] else ()
    return ReportSummary(**values)


def queue(conn: Connection, limit: int = 500) -> list[ReportSummary]:
    """Newest first."""
    rows = conn.execute(_SELECT + " ORDER BY r.created_at DESC, r.id LIMIT ?",
                        (limit,)).fetchall()
    return [_summary(row) for row in rows]


def find(conn: Connection, report_id: str) -> ReportSummary | None:
    row = conn.execute(_SELECT + " WHERE r.id = ?", (report_id,)).fetchone()
    return _summary(row) if row else None


def linked(conn: Connection, report_id: str) -> list[ReportSummary]:
    """Every other report sharing any identifier index value, oldest first."""
    ids = [row["report_id"] for row in conn.execute(
        "SELECT DISTINCT other.report_id FROM report_identifier_index mine "
        "JOIN report_identifier_index other ON other.index_name = mine.index_name "
        "AND other.value = mine.value AND other.report_id != mine.report_id "
        "WHERE mine.report_id = ?", (report_id,))]
    found = [find(conn, rid) for rid in ids]
    return sorted((r for r in found if r), key=lambda r: r.created_at)


@dataclass(frozen=True)
class Addition:
    """What the reporter added later: when, and the text (opened for review)."""

    created_at: str
    text: str


@dataclass(frozen=True)
class OpenedReport:
    report: ReportSummary
    narrative: str
    place: str
    description: str
    identifiers: list[dict[str, str]]
    additions: tuple[Addition, ...] = ()


def open_report(conn: Connection, key: BoxPrivateKey, actor_id: str, report_id: str,
                now: datetime) -> OpenedReport:
    """Unseal a report for review: the disclosure entry is written before anything opens.

    The reporter's additions are opened with it, in the same transaction, each under the
    log entry that names them; a report with none opens exactly as before.
    """
    with transaction(conn):
        opened = unseal(conn, UnsealRequest(
            actor_id=actor_id, purpose="report_review", table="reports", row_ids=[report_id],
            fields={"narrative": ["narrative", "place"],
                    "offender": ["description", "identifiers"]},
        ), key, now)[report_id]
        added = conn.execute("SELECT id, created_at FROM report_additions WHERE report_id = ? "
                             "ORDER BY created_at, id", (report_id,)).fetchall()
        texts = {} if not added else unseal(conn, UnsealRequest(
            actor_id=actor_id, purpose="report_review", table="report_additions",
            row_ids=[row["id"] for row in added], fields={"body": ["text"]},
            context={"report": f"reports/{report_id}"}), key, now)
        records.start_review(conn, report_id)
        records.record_event(conn, report_id, ReportAction.REVIEW, actor_id, now)
    summary = find(conn, report_id)
    assert summary is not None
    return OpenedReport(summary, opened["narrative"]["narrative"], opened["narrative"]["place"],
                        opened["offender"]["description"],
                        json.loads(opened["offender"]["identifiers"] or "[]"),
                        tuple(Addition(row["created_at"], texts[row["id"]]["body"]["text"])
                              for row in added))


def has_read(conn: Connection, actor_id: str, report_id: str) -> bool:
    """Has this coordinator read (unsealed) the report since their latest key unlock?"""
    return log.opened_since_unlock(conn, actor_id, f"reports/{report_id}",
                                   log.Purpose.REPORT_REVIEW)


class OutcomeRefused(Refusal):
    """A report outcome that cannot be recorded now; `message` says why."""

    summary = "report outcome refused"


def mark_malicious(conn: Connection, keys: ServerKeys, report_id: str, actor_id: str,
                   now: datetime, *, reason: str, note: str = "",
                   confirmed: bool = False) -> None:
    """Malicious or false: closed, and flagged on the reporter's membership for revocation.

    Only by a coordinator who read the report in this unlock (the log is the evidence),
    with a confirmation and a listed reason; the status it had is logged so an undo can
    put it back.
    """
    reason, text = validation.decision_inputs(reason, choices.values(choices.MALICIOUS_REASONS),
                                              note, confirmed=confirmed)
    with transaction(conn):
        report = find(conn, report_id)
        if report is None:
            raise OutcomeRefused(_l("There is no such report."))
        if report.malicious:
            raise OutcomeRefused(_l("This report is already marked as malicious or false."))
        if not has_read(conn, actor_id, report_id):
            raise OutcomeRefused(_l("Read the report first: only a report you have read "
                                    "since unlocking can be marked as malicious."))
        note_id = None if text is None else decision_notes.add(
            conn, holders.vetting_recipient(conn, keys),
            event=log.Event.REPORT_MARKED_MALICIOUS, record=f"reports/{report_id}",
            actor_id=actor_id, text=text, now=now)
        records.mark_malicious(conn, report_id)
        records.record_event(conn, report_id, ReportAction.MALICIOUS, actor_id, now)
        log.append(conn, log.report_marked_malicious(at=now, actor=actor_id,
                                                     report_id=report_id, reason=reason,
                                                     note_id=note_id,
                                                     previous_status=report.status))


def status_before_malicious(conn: Connection, report_id: str) -> str:
    """The status the newest malicious mark replaced, as its log entry says.

    A mark logged before the entry named it (none can have been undone) goes back to
    "under review": a mark always followed a reading, and a reading sets that status.
    """
    entry = log.latest(conn, log.Event.REPORT_MARKED_MALICIOUS, f"reports/{report_id}")
    previous = None if entry is None else entry.get("previous_status")
    known = {status.value for status in ReportStatus}
    return previous if isinstance(previous, str) and previous in known \
        else ReportStatus.UNDER_REVIEW.value


def undo_malicious(conn: Connection, keys: ServerKeys, report_id: str, actor_id: str,
                   now: datetime, *, reason: str, note: str = "",
                   confirmed: bool = False) -> str:
    """Take the malicious mark off: flag cleared, the previous status back. Returns it."""
    reason, text = validation.decision_inputs(
        reason, choices.values(choices.MALICIOUS_UNDO_REASONS), note, confirmed=confirmed)
    with transaction(conn):
        report = find(conn, report_id)
        if report is None:
            raise OutcomeRefused(_l("There is no such report."))
        if not report.malicious:
            raise OutcomeRefused(_l("This report is not marked as malicious or false."))
        previous = status_before_malicious(conn, report_id)
        note_id = None if text is None else decision_notes.add(
            conn, holders.vetting_recipient(conn, keys),
            event=log.Event.REPORT_MARKED_MALICIOUS_UNDONE, record=f"reports/{report_id}",
            actor_id=actor_id, text=text, now=now)
        records.unmark_malicious(conn, report_id, ReportStatus(previous))
        records.record_event(conn, report_id, ReportAction.MALICIOUS_UNDONE, actor_id, now)
        log.append(conn, log.report_malicious_undone(at=now, actor=actor_id,
                                                     report_id=report_id, reason=reason,
                                                     note_id=note_id,
                                                     restored_status=previous))
    return previous


def close(conn: Connection, report_id: str, actor_id: str, now: datetime) -> None:
    with transaction(conn):
        records.set_status(conn, report_id, ReportStatus.CLOSED)
        records.record_event(conn, report_id, ReportAction.CLOSE, actor_id, now)


class ReportWithdrawn(ValueError):
    """The reporter withdrew the report: no alert is made from it."""


def start_alert_draft(conn: Connection, report_id: str, actor_id: str, now: datetime) -> str:
    """An empty alert draft tied to the report, which the coordinator then composes."""
    with transaction(conn):
        report = find(conn, report_id)
        if report is not None and report.withdrawn_at is not None:
            raise ReportWithdrawn("withdrawn by the reporter")
        alert_id = alert_service.create(conn, actor_id, now, report_id=report_id)
        records.record_event(conn, report_id, ReportAction.ALERT_DRAFT, actor_id, now)
    return alert_id


def malicious_count(conn: Connection, member_id: str) -> int:
    return count(conn, "SELECT count(*) FROM reports WHERE reporter_member_id = ? "
                      "AND malicious = 1", (member_id,))
