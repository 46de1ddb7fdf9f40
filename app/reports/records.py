"""The reports tables: reports, their categories, identifier indexes and review events.

This module owns every write to `reports`, `report_categories`, `report_identifier_index`,
`report_events` and `report_additions`; members' submissions (service.py), coordinators' review
(app/coordinator/reports.py), alerts, leaving and retention all call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum

from app.common.clock import stamp
from app.vault.db import Connection


class ReportStatus(StrEnum):
    RECEIVED = "received"
    UNDER_REVIEW = "under_review"
    ALERT_PUBLISHED = "alert_published"
    CLOSED = "closed"


class ReportAction(StrEnum):
    REVIEW = "review"
    MALICIOUS = "malicious"
    MALICIOUS_UNDONE = "malicious_undone"
    CLOSE = "close"
    ALERT_DRAFT = "alert_draft"


# The columns a new report is written with (besides its id), in one place.
REPORT_COLUMNS = ("reporter_account_id", "reporter_member_id", "created_at", "incident_date",
                  "incident_time", "area", "late", "third_party", "consent_alert",
                  "consent_police_anonymous", "consent_police_details", "wants_support",
                  "narrative", "offender", "reference")


def insert_report(conn: Connection, report_id: str, values: Mapping[str, object],
                  categories: Iterable[str], indexes: Iterable[tuple[str, bytes]]) -> None:
    """A new report with its categories and identifier indexes; in the caller's transaction."""
    if set(values) != set(REPORT_COLUMNS):
        raise ValueError("a report is written with exactly REPORT_COLUMNS")
    columns = ", ".join(("id", *REPORT_COLUMNS))
    marks = ", ".join("?" * (len(REPORT_COLUMNS) + 1))
    conn.execute(f"INSERT INTO reports ({columns}) VALUES ({marks})",  # noqa: S608
                 (report_id, *(values[name] for name in REPORT_COLUMNS)))
    conn.executemany("INSERT INTO report_categories (report_id, category) VALUES (?, ?)",
                     [(report_id, c) for c in sorted(set(categories))])
    conn.executemany("INSERT INTO report_identifier_index (report_id, index_name, value) "
                     "VALUES (?, ?, ?)", [(report_id, n, v) for n, v in sorted(set(indexes))])


def reference_taken(conn: Connection, reference: str) -> bool:
    return conn.execute("SELECT 1 FROM reports WHERE reference = ?",
                        (reference,)).fetchone() is not None


def insert_addition(conn: Connection, addition_id: str, report_id: str, body: bytes,
                    now: datetime) -> None:
    """What the reporter added later (sealed); in the caller's transaction."""
    conn.execute("INSERT INTO report_additions (id, report_id, created_at, body) "
                 "VALUES (?, ?, ?, ?)", (addition_id, report_id, stamp(now), body))


def mark_withdrawn(conn: Connection, report_id: str, account_id: str, now: datetime) -> bool:
    """The reporter withdraws their report; False unless it is theirs and still open to it.

    A report whose alert is published stays as it is: members have already been warned.
    """
    cursor = conn.execute(
        "UPDATE reports SET withdrawn_at = ? WHERE id = ? AND reporter_account_id = ? "
        "AND withdrawn_at IS NULL AND status != ?",
        (stamp(now), report_id, account_id, ReportStatus.ALERT_PUBLISHED))
    return cursor.rowcount == 1


def record_event(conn: Connection, report_id: str, action: ReportAction, actor_id: str,
                 now: datetime) -> None:
    conn.execute("INSERT INTO report_events (report_id, action, actor_id, at) "
                 "VALUES (?, ?, ?, ?)", (report_id, action, actor_id, stamp(now)))


def start_review(conn: Connection, report_id: str) -> None:
    """A report first read by a coordinator is under review (a later read changes nothing)."""
    conn.execute("UPDATE reports SET status = ? WHERE id = ? AND status = ?",
                 (ReportStatus.UNDER_REVIEW, report_id, ReportStatus.RECEIVED))


def set_status(conn: Connection, report_id: str, status: ReportStatus) -> None:
    conn.execute("UPDATE reports SET status = ? WHERE id = ?", (status, report_id))


def mark_malicious(conn: Connection, report_id: str) -> None:
    conn.execute("UPDATE reports SET malicious = 1, status = ? WHERE id = ?",
                 (ReportStatus.CLOSED, report_id))


def unmark_malicious(conn: Connection, report_id: str, status: ReportStatus) -> None:
    """An undone malicious mark: the flag off and the status it replaced back."""
    conn.execute("UPDATE reports SET malicious = 0, status = ? WHERE id = ? AND malicious = 1",
                 (status, report_id))


def forget_reporter(conn: Connection, member_id: str) -> None:
    """The member left or was purged: their reports stay, no longer linked to them."""
    conn.execute("UPDATE reports SET reporter_account_id = NULL, reporter_member_id = NULL "
                 "WHERE reporter_member_id = ?", (member_id,))
