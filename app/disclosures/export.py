"""Consented sharing with police intelligence: a CSV of chosen reports.

Only reports whose reporter ticked "share this anonymously with police intelligence"
(consent_police_anonymous) or "share this with the police including my details"
(consent_police_details) can be chosen, and never one marked malicious or false.

What goes in (the minimum useful by default):
- always: the report's id (so the police can refer back to it), the month it was sent,
  the incident date and rough time of day, the area and what happened (categories).
  None of these is sealed, and none names the reporter.
- the offender's identifiers and description (ticked by default): what police
  intelligence most needs to link offences. Sealed, so it needs the vetting key.
- the narrative and the place, in the reporter's words: off by default, because a
  reporter's own words can identify them; a coordinator ticks it only after reading the
  reports. Sealed.
- the reporter's details (work name or organisation name, email, mobile; never a real
  name): off by default, and only ever for reports whose reporter gave
  consent_police_details; the other rows stay anonymous. Sealed.

Every export writes a "police_export" entry in the disclosure log (purpose disclosure,
legal basis consent, the reports and fields by name), and every sealed field goes through
app/unseal.unseal with the same purpose and basis, its entry written before it opens.
Cells are neutralised against spreadsheet formulas by the one CSV writer,
app/common/csv_export.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.common import choices, csv_export, identifiers
from app.coordinator.reports import ReportSummary, find
from app.disclosures.service import RequestInvalid
from app.vault import log as disclosure_log
from app.vault.db import Connection, transaction
from app.vault.unseal import UnsealRequest, unseal
from crypto.keys import BoxPrivateKey

MAX_REPORTS = 500
EXPORT_CONTEXT = {"export": "police_export"}


@dataclass(frozen=True)
class ExportChoice:
    report_ids: Sequence[str]
    offender: bool = True
    narrative: bool = False
    reporter_details: bool = False

    @property
    def needs_key(self) -> bool:
        return self.offender or self.narrative or self.reporter_details


class NeedsKey(Exception):
    """A sealed field was chosen and the vetting key is locked."""


def consented(conn: Connection) -> list[ReportSummary]:
    """Reports that may be exported, newest first: consented to police sharing, and not
    marked malicious or false."""
    ids = [row["id"] for row in conn.execute(
        "SELECT id FROM reports WHERE (consent_police_anonymous = 1 OR "
        "consent_police_details = 1) AND malicious = 0 ORDER BY created_at DESC, id")]
    found = [find(conn, rid) for rid in ids]
    return [r for r in found if r is not None]


def _labels(pairs: choices.Choices) -> dict[str, str]:
    return {code: str(label) for code, label in pairs}


def _identifiers_text(raw: str) -> str:
    try:
        rows = json.loads(raw or "[]")
    except ValueError:
        return ""
    kinds = {code: str(label) for code, label in identifiers.KINDS.items()}
    return "; ".join(f"{kinds.get(r.get('kind', ''), r.get('kind', ''))}: {r.get('value', '')}"
                     for r in rows if isinstance(r, dict))


def build_export(conn: Connection, key: BoxPrivateKey | None, actor_id: str,
                 choice: ExportChoice, now: datetime) -> str:
    """The CSV text; logs before any sealed field opens. Raises RequestInvalid or NeedsKey."""
    allowed = {r.id: r for r in consented(conn)}
    wanted = list(dict.fromkeys(choice.report_ids))
    if not wanted:
        raise RequestInvalid({"report_ids": _l("Choose at least one report.")})
    if len(wanted) > MAX_REPORTS:
        raise RequestInvalid({"report_ids": _l("At most %(count)d reports in one export.",
                                               count=MAX_REPORTS)})
    if any(rid not in allowed for rid in wanted):
        raise RequestInvalid({"report_ids": _l(
            "Only reports whose reporter consented to police sharing can be exported.")})
    if choice.needs_key and key is None:
        raise NeedsKey
    reports = [allowed[rid] for rid in wanted]

    report_fields: dict[str, list[str]] = {}
    if choice.offender:
        report_fields["offender"] = ["description", "identifiers"]
    if choice.narrative:
        report_fields["narrative"] = ["narrative", "place"]
    with_details = [r for r in reports if r.consent_police_details and r.reporter_member_id]
    reporters = sorted({r.reporter_member_id for r in with_details
                        if r.reporter_member_id}) if choice.reporter_details else []

    opened_reports: dict[str, dict[str, dict[str, str]]] = {}
    opened_members: dict[str, dict[str, dict[str, str]]] = {}
    if report_fields:
        assert key is not None
        opened_reports = unseal(conn, UnsealRequest(
            actor_id=actor_id, purpose="disclosure", table="reports", row_ids=wanted,
            fields=report_fields, legal_basis="consent", context=EXPORT_CONTEXT), key, now)
    if reporters:
        assert key is not None
        opened_members = unseal(conn, UnsealRequest(
            actor_id=actor_id, purpose="disclosure", table="members", row_ids=reporters,
            fields={"identity": ["work_name", "org_name"],
                    "contact": ["email", "mobile", "org_email"]},
            legal_basis="consent", context=EXPORT_CONTEXT), key, now)

    columns = ["report", "sent_month", "incident_date", "time_of_day", "area", "what_happened"]
    if choice.offender:
        columns += ["offender_identifiers", "offender_description"]
    if choice.narrative:
        columns += ["place", "narrative"]
    if choice.reporter_details:
        columns += ["reporter_consented_to_details", "reporter_name", "reporter_email",
                    "reporter_mobile"]
    with transaction(conn):
        disclosure_log.append(conn, disclosure_log.police_export(
            at=now, actor=actor_id,
            records=[f"reports/{rid}" for rid in wanted]
            + [f"members/{mid}" for mid in reporters],
            fields=columns))

    areas = _labels(choices.AREAS)
    times = _labels(choices.TIMES_OF_DAY)
    categories = _labels(choices.REPORT_CATEGORIES)
    lines: list[list[str]] = []
    for report in reports:
        row = [report.id, report.created_at[:7], report.incident_date,
               times.get(report.incident_time, report.incident_time),
               areas.get(report.area, report.area),
               "; ".join(categories.get(c, c) for c in report.categories)]
        sealed = opened_reports.get(report.id, {})
        if choice.offender:
            offender = sealed.get("offender", {})
            row += [_identifiers_text(offender.get("identifiers", "")),
                    offender.get("description", "")]
        if choice.narrative:
            narrative = sealed.get("narrative", {})
            row += [narrative.get("place", ""), narrative.get("narrative", "")]
        if choice.reporter_details:
            member = opened_members.get(report.reporter_member_id or "", {})
            if report.consent_police_details and member:
                identity, contact = member.get("identity", {}), member.get("contact", {})
                row += ["yes", identity.get("work_name") or identity.get("org_name", ""),
                        contact.get("email") or contact.get("org_email", ""),
                        contact.get("mobile", "")]
            else:
                row += ["no", "", "", ""]
        lines.append([str(value) for value in row])
    return csv_export.to_csv(columns, lines)
