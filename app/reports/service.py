"""Submitting a report and listing one's own, as plain functions over a connection.

Narrative and place are one envelope, the offender's description and identifiers another,
both sealed to the vetting key. Each identifier also gets full-length blind indexes
(app/identifiers.py) so coordinators can link reports without unsealing them. Dates, area,
categories and consents stay plain for queues and statistics.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l

from app.common import choices, identifiers, validation
from app.common.clock import UK, stamp, uk_today
from app.common.ids import new_id, new_reference
from app.reports import records
from app.support import records as support_records
from app.vault.db import Connection, Row, transaction, write_grouped
from app.vault.holders import vetting_recipient
from app.vault.sealing import seal_group
from crypto.blind_index import BlindIndexer
from crypto.keystore import ServerKeys

MAX_NARRATIVE_CHARS = 20_000
MAX_DESCRIPTION_CHARS = 5_000
MAX_PLACE_CHARS = 300
MAX_IDENTIFIER_CHARS = 300
MAX_IDENTIFIERS = 20
LATE_AFTER = timedelta(hours=72)
EARLIEST_INCIDENT = date(1990, 1, 1)
# The latest moment of each time band: a report counts as late only when even that is
# more than 72 hours ago, so an approximate time never makes a report look late.
_BAND_ENDS = {"morning": time(12), "afternoon": time(18), "evening": time(23, 59),
              "night": time(6), "unknown": time(23, 59)}


@dataclass(frozen=True)
class ReportSubmission:
    incident_date: str
    incident_time: str
    area: str
    place: str
    categories: Sequence[str]
    identifiers: Sequence[tuple[str, str]]  # (kind, value) rows; empty values are ignored
    description: str
    narrative: str
    consent_alert: bool = False
    consent_police_anonymous: bool = False
    consent_police_details: bool = False
    wants_support: bool = False
    third_party: bool = False


class ReportInvalid(ValueError):
    """Problems by form field name; nothing has been written."""

    def __init__(self, problems: dict[str, object]) -> None:
        super().__init__("invalid report")  # never a value: this may be logged
        self.problems = problems


@dataclass
class _Checked:
    incident_date: date
    place: str = ""
    description: str = ""
    narrative: str = ""
    identifiers: list[identifiers.Identifier] = field(default_factory=list)


def check_report(sub: ReportSubmission, today: date) -> _Checked:
    problems = validation.Problems()
    incident = EARLIEST_INCIDENT
    try:
        incident = date.fromisoformat(sub.incident_date.strip())
    except ValueError:
        problems["incident_date"] = _l("Enter the date like 2026-11-21 (year, month, day).")
    else:
        if incident > today:
            problems["incident_date"] = _l("That date is in the future.")
        elif incident < EARLIEST_INCIDENT:
            problems["incident_date"] = _l("Enter a date from 1990 onwards.")
    if sub.incident_time not in choices.values(choices.TIMES_OF_DAY):
        problems["incident_time"] = _l("Choose roughly when it happened.")
    if sub.area not in choices.values(choices.AREAS):
        problems["area"] = _l("Choose the area where it happened.")
    if not sub.categories:
        problems["categories"] = _l("Choose at least one kind of incident.")
    elif not set(sub.categories) <= choices.values(choices.REPORT_CATEGORIES):
        problems["categories"] = _l("Choose from the kinds of incident listed.")
    checked = _Checked(incident_date=incident)
    checked.place = problems.check("place", validation.single_line, sub.place,
                                   max_chars=MAX_PLACE_CHARS) or ""
    checked.narrative = problems.check(
        "narrative", validation.multi_line, sub.narrative, max_chars=MAX_NARRATIVE_CHARS,
        required_message=_l("Tell us what happened, in your own words.")) or ""
    description = sub.description.strip()
    if description:
        checked.description = problems.check(
            "description", validation.multi_line, description,
            max_chars=MAX_DESCRIPTION_CHARS, required_message="") or ""

    rows = [(i, kind, value.strip()) for i, (kind, value) in enumerate(sub.identifiers)
            if value.strip()]
    if len(rows) > MAX_IDENTIFIERS:
        problems["identifiers"] = _l("Give at most %(count)d identifiers; put the most "
                                     "useful first.", count=MAX_IDENTIFIERS)
    else:
        for i, kind, value in rows:
            if len(value) > MAX_IDENTIFIER_CHARS:
                problems[f"identifiers-{i}-value"] = _l("That is too long for an identifier.")
                continue
            message = identifiers.check(kind, value)
            if message:
                problems[f"identifiers-{i}-value"] = message
            else:
                checked.identifiers.append(identifiers.Identifier(kind, value))
    if problems:
        raise ReportInvalid(dict(problems))
    return checked


def _late(incident: date, band: str, now: datetime) -> bool:
    end = datetime.combine(incident, _BAND_ENDS.get(band, time(23, 59)), tzinfo=UK)
    if band == "night":
        end += timedelta(days=1)  # "night" runs past midnight into the next day
    return now - end > LATE_AFTER


@dataclass(frozen=True)
class SentReport:
    id: str
    reference: str  # what the reporter is shown, to quote when they get in touch


def submit_report(conn: Connection, keys: ServerKeys, *, account_id: str,
                  member_id: str | None, submission: ReportSubmission,
                  now: datetime) -> SentReport:
    """Check, seal, index and store a report in one transaction."""
    checked = check_report(submission, uk_today(now))
    report_id = new_id()
    vetting = [vetting_recipient(conn, keys)]
    narrative = seal_group("reports", "narrative", report_id,
                           {"narrative": checked.narrative, "place": checked.place}, vetting)
    offender = seal_group("reports", "offender", report_id, {
        "description": checked.description,
        "identifiers": json.dumps([{"kind": i.kind, "value": i.value}
                                   for i in checked.identifiers], ensure_ascii=False),
    }, vetting)
    indexer = BlindIndexer(keys.index_key)
    indexes = {pair for ident in checked.identifiers
               for pair in identifiers.index_values(indexer, ident.kind, ident.value)}
    values: dict[str, object] = {
        "reporter_account_id": account_id, "reporter_member_id": member_id,
        "created_at": stamp(now), "incident_date": checked.incident_date.isoformat(),
        "incident_time": submission.incident_time, "area": submission.area,
        "late": int(_late(checked.incident_date, submission.incident_time, now)),
        "third_party": int(submission.third_party),
        "consent_alert": int(submission.consent_alert),
        "consent_police_anonymous": int(submission.consent_police_anonymous),
        "consent_police_details": int(submission.consent_police_details),
        "wants_support": int(submission.wants_support),
        "narrative": narrative, "offender": offender,
    }

    def store(writer: Connection) -> str:
        reference = new_reference()
        while records.reference_taken(writer, reference):
            reference = new_reference()
        records.insert_report(writer, report_id, {**values, "reference": reference},
                              categories=submission.categories, indexes=indexes)
        if submission.wants_support:
            # Asking for support puts the report in the coordinators' support queue.
            support_records.open_request(writer, report_id, stamp(now))
        return reference

    # Reports arrive together (an incident is often reported by several people at once):
    # concurrent submissions share one durable commit instead of queueing for one each.
    return SentReport(id=report_id, reference=write_grouped(conn, store))


@dataclass(frozen=True)
class OwnReport:
    id: str
    created_at: str
    incident_date: str
    status: str
    reference: str = ""
    withdrawn_at: str | None = None
    additions: int = 0

    @property
    def can_withdraw(self) -> bool:
        return self.withdrawn_at is None and self.status != records.ReportStatus.ALERT_PUBLISHED


_OWN = ("SELECT r.id, r.created_at, r.incident_date, r.status, r.reference, r.withdrawn_at, "
        "(SELECT count(*) FROM report_additions a WHERE a.report_id = r.id) AS additions "
        "FROM reports r WHERE r.reporter_account_id = ?")


def _own(row: Row) -> OwnReport:
    return OwnReport(id=row["id"], created_at=row["created_at"],
                     incident_date=row["incident_date"], status=row["status"],
                     reference=row["reference"] or "", withdrawn_at=row["withdrawn_at"],
                     additions=row["additions"])


def own_reports(conn: Connection, account_id: str) -> list[OwnReport]:
    rows = conn.execute(_OWN + " ORDER BY r.created_at DESC", (account_id,)).fetchall()
    return [_own(row) for row in rows]


def own_report(conn: Connection, account_id: str, report_id: str) -> OwnReport | None:
    """One of the account's own reports; None for anyone else's (no oracle: the same 404)."""
    row = conn.execute(_OWN + " AND r.id = ?", (account_id, report_id)).fetchone()
    return _own(row) if row else None


MAX_ADDITION_CHARS = MAX_NARRATIVE_CHARS


def add_information(conn: Connection, keys: ServerKeys, *, account_id: str, report_id: str,
                    text: str, now: datetime) -> None:
    """Seal what the reporter adds, like the narrative; ReportInvalid if it cannot be used.

    Only the reporter's own account reaches its report, and not once it is withdrawn.
    """
    report = own_report(conn, account_id, report_id)
    if report is None:
        raise LookupError("no such report of this account")
    if report.withdrawn_at is not None:
        raise ReportInvalid({"text": _l("This report is withdrawn: nothing can be added.")})
    problems = validation.Problems()
    cleaned = problems.check("text", validation.multi_line, text,
                             max_chars=MAX_ADDITION_CHARS,
                             required_message=_l("Write what you want to add."))
    if problems or cleaned is None:
        raise ReportInvalid(dict(problems))
    addition_id = new_id()
    body = seal_group("report_additions", "body", addition_id, {"text": cleaned},
                      [vetting_recipient(conn, keys)])
    with transaction(conn):
        records.insert_addition(conn, addition_id, report_id, body, now)


def withdraw(conn: Connection, *, account_id: str, report_id: str, now: datetime) -> None:
    """Withdraw one's own report (kept for coordinators, marked); ReportInvalid if too late."""
    if own_report(conn, account_id, report_id) is None:
        raise LookupError("no such report of this account")
    with transaction(conn):
        if not records.mark_withdrawn(conn, report_id, account_id, now):
            raise ReportInvalid({"withdraw": _l(
                "This report can no longer be withdrawn: an alert from it is already "
                "published, or it was withdrawn before.")})
