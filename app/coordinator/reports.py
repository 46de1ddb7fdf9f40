"""Coordinators' report review: the queue, linked reports, unsealing, and outcomes.

Linking works on the full-length identifier indexes alone: two reports that share any
index value are linked, and the coordinator sees that before unsealing either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime

from app.alerts import service as alert_service
from app.reports import records
from app.reports.records import ReportAction, ReportStatus
from app.vault import log
from app.vault.db import Connection, Row, count, transaction
from app.vault.unseal import UnsealRequest, unseal
from crypto.keys import BoxPrivateKey


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


_SELECT = """
SELECT r.id, r.created_at, r.incident_date, r.incident_time, r.area, r.late, r.third_party,
       r.consent_alert, r.consent_police_anonymous, r.consent_police_details,
       r.wants_support, r.status, r.malicious, r.reporter_member_id,
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
class OpenedReport:
    report: ReportSummary
    narrative: str
    place: str
    description: str
    identifiers: list[dict[str, str]]


def open_report(conn: Connection, key: BoxPrivateKey, actor_id: str, report_id: str,
                now: datetime) -> OpenedReport:
    """Unseal a report for review: the disclosure entry is written before anything opens."""
    opened = unseal(conn, UnsealRequest(
        actor_id=actor_id, purpose="report_review", table="reports", row_ids=[report_id],
        fields={"narrative": ["narrative", "place"],
                "offender": ["description", "identifiers"]},
    ), key, now)[report_id]
    with transaction(conn):
        records.start_review(conn, report_id)
        records.record_event(conn, report_id, ReportAction.REVIEW, actor_id, now)
    summary = find(conn, report_id)
    assert summary is not None
    return OpenedReport(summary, opened["narrative"]["narrative"], opened["narrative"]["place"],
                        opened["offender"]["description"],
                        json.loads(opened["offender"]["identifiers"] or "[]"))


def mark_malicious(conn: Connection, report_id: str, actor_id: str, now: datetime) -> None:
    """Malicious or false: closed, and flagged on the reporter's membership for revocation."""
    with transaction(conn):
        records.mark_malicious(conn, report_id)
        records.record_event(conn, report_id, ReportAction.MALICIOUS, actor_id, now)
        log.append(conn, log.report_marked_malicious(at=now, actor=actor_id,
                                                     report_id=report_id))


def close(conn: Connection, report_id: str, actor_id: str, now: datetime) -> None:
    with transaction(conn):
        records.set_status(conn, report_id, ReportStatus.CLOSED)
        records.record_event(conn, report_id, ReportAction.CLOSE, actor_id, now)


def start_alert_draft(conn: Connection, report_id: str, actor_id: str, now: datetime) -> str:
    """An empty alert draft tied to the report, which the coordinator then composes."""
    with transaction(conn):
        alert_id = alert_service.create(conn, actor_id, now, report_id=report_id)
        records.record_event(conn, report_id, ReportAction.ALERT_DRAFT, actor_id, now)
    return alert_id


def malicious_count(conn: Connection, member_id: str) -> int:
    return count(conn, "SELECT count(*) FROM reports WHERE reporter_member_id = ? "
                      "AND malicious = 1", (member_id,))
