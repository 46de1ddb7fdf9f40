"""Monitoring statistics: the true counts from the database, published through suppression.

Every breakdown becomes a one-dimensional table (``suppression.publish_1d``); scheme-wide
single figures go through ``suppression.national``. No table here crosses two dimensions:
each breakdown's margin is a scheme-wide total that other tables publish too, and a
cross-tabulation would publish margins (reports per area, say) that per-table suppression
of the other tables could not protect. Only counts leave this module, never a row.

Reports marked malicious or false by a coordinator are left out of every report figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from app.common import choices
from app.common.clock import uk_day
from app.common.labels import KIND_LABELS
from app.statistics import suppression
from app.vault.db import Connection, count

MONTHS_SHOWN = 24
DAYS_SHOWN = 30


@dataclass(frozen=True)
class Breakdown:
    """One published table: a label per row, the published numbers and what they count."""

    key: str
    title: object
    dimension: object
    labels: tuple[object, ...]
    table: suppression.Table1D
    note: object | None = None

    @property
    def rows(self) -> list[tuple[object, suppression.Published]]:
        return list(zip(self.labels, self.table.cells, strict=True))


@dataclass(frozen=True)
class Headline:
    label: object
    value: int


@dataclass(frozen=True)
class Section:
    key: str
    title: object
    intro: object | None
    breakdowns: tuple[Breakdown, ...]


@dataclass(frozen=True)
class Statistics:
    headlines: tuple[Headline, ...]
    sections: tuple[Section, ...]
    as_of: str


def _ordered(known: Sequence[tuple[str, object]], found: dict[str, int]) -> tuple[
        list[object], list[int]]:
    """Counts in the order of a choice list; codes not in the list follow, under their code."""
    labels = [label for _code, label in known]
    counts = [found.get(code, 0) for code, _label in known]
    codes = {code for code, _label in known}
    for code in sorted(set(found) - codes):
        labels.append(code)
        counts.append(found[code])
    return labels, counts


def _breakdown(key: str, title: object, dimension: object, labels: Iterable[object],
               counts: Sequence[int], note: object | None = None) -> Breakdown:
    return Breakdown(key, title, dimension, tuple(labels), suppression.publish_1d(counts),
                     note)


def _grouped(conn: Connection, sql: str, params: Sequence[object] = ()) -> dict[str, int]:
    """{key: n} from a query that selects `... AS key, ... AS n`."""
    return {str(row["key"]): int(row["n"]) for row in conn.execute(sql, params)}


# Members -----------------------------------------------------------------------------


def active_members_by_kind(conn: Connection) -> dict[str, int]:
    return _grouped(conn, "SELECT kind AS key, count(*) AS n FROM members WHERE status = 'active' "
                          "GROUP BY kind")


def monitoring_answers(conn: Connection, question: str) -> dict[str, int]:
    return _grouped(conn, "SELECT answer AS key, count AS n FROM monitoring_counts "
                          "WHERE question = ?",
                    (question,))


# Reports -----------------------------------------------------------------------------

def reports_by_month(conn: Connection) -> dict[str, int]:
    return _grouped(conn, "SELECT substr(incident_date, 1, 7) AS key, count(*) AS n FROM reports "
                          "WHERE malicious = 0 GROUP BY 1")


def reports_by_area(conn: Connection) -> dict[str, int]:
    return _grouped(conn, "SELECT area AS key, count(*) AS n FROM reports WHERE malicious = 0 "
                          "GROUP BY area")


def reports_by_category(conn: Connection) -> dict[str, int]:
    return _grouped(conn, "SELECT c.category AS key, count(*) AS n FROM report_categories AS c "
                          "JOIN reports AS r ON r.id = c.report_id WHERE r.malicious = 0 "
                          "GROUP BY c.category")


def reports_total(conn: Connection) -> int:
    return count(conn, "SELECT count(*) FROM reports WHERE malicious = 0")


# Alerts and checks -------------------------------------------------------------------


def alerts_published_by_month(conn: Connection) -> dict[str, int]:
    return _grouped(conn, "SELECT substr(published_at, 1, 7) AS key, count(*) AS n FROM alerts "
                          "WHERE status = 'published' AND published_at IS NOT NULL GROUP BY 1")


def checks_by_day(conn: Connection, days: Sequence[str]) -> dict[str, int]:
    if not days:
        return {}
    return _grouped(conn, "SELECT day AS key, count AS n FROM check_counts "
                          "WHERE day BETWEEN ? AND ?",
                    (days[0], days[-1]))


# Time buckets ------------------------------------------------------------------------


def last_months(today: date, found: Iterable[str], count: int = MONTHS_SHOWN) -> list[str]:
    """YYYY-MM for the `count` months ending with this month (or the latest found)."""
    latest = max([today.strftime("%Y-%m"), *(m for m in found if _is_month(m))])
    year, month = int(latest[:4]), int(latest[5:7])
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def _is_month(text: str) -> bool:
    return len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit()


def _by_month(found: dict[str, int], today: date) -> tuple[list[object], list[int]]:
    months = last_months(today, found)
    labels: list[object] = [_l("Earlier than %(month)s", month=_month_label(months[0]))]
    counts = [sum(n for m, n in found.items() if m not in months)]
    for month in months:
        labels.append(_month_label(month))
        counts.append(found.get(month, 0))
    return labels, counts


def _month_label(month: str) -> str:
    return format_date(date(int(month[:4]), int(month[5:7]), 1), "MMMM y")


def last_days(now: datetime, count: int = DAYS_SHOWN) -> list[str]:
    """The UK calendar days ending today, oldest first, as YYYY-MM-DD."""
    today = date.fromisoformat(uk_day(now))
    return [(today - timedelta(days=k)).isoformat() for k in range(count - 1, -1, -1)]


# The page ----------------------------------------------------------------------------


def build(conn: Connection, now: datetime) -> Statistics:
    """Every figure on the statistics page, already suppressed and rounded."""
    today = date.fromisoformat(uk_day(now))

    by_kind = active_members_by_kind(conn)
    kind_labels, kind_counts = _ordered(list(KIND_LABELS.items()), by_kind)
    members = [_breakdown("members-type", _l("Active members by type"), _l("Type"),
                          kind_labels, kind_counts)]
    questions = (("gender", _l("Gender"), choices.GENDERS),
                 ("sector", _l("Sector"), choices.SECTORS),
                 ("area", _l("Area"), choices.AREAS))
    for question, label, options in questions:
        labels, counts = _ordered(options, monitoring_answers(conn, question))
        members.append(_breakdown(
            f"monitoring-{question}", _l("Answers at application: %(q)s", q=label), label,
            labels, counts,
            note=_l("Counts of answers given when people applied, not of current members: "
                    "they include people who were turned down or have left, and leave out "
                    "everyone who preferred not to say.")))

    month_labels, month_counts = _by_month(reports_by_month(conn), today)
    area_labels, area_counts = _ordered(choices.AREAS, reports_by_area(conn))
    category_labels, category_counts = _ordered(choices.REPORT_CATEGORIES,
                                                reports_by_category(conn))
    reports = (
        _breakdown("reports-month", _l("Reports by month of the incident"), _l("Month"),
                   month_labels, month_counts),
        _breakdown("reports-category", _l("Reports by category"), _l("Category"),
                   category_labels, category_counts,
                   note=_l("A report can name more than one category, so this total counts "
                           "categories named, not reports.")),
        _breakdown("reports-area", _l("Reports by area"), _l("Area"), area_labels,
                   area_counts),
    )

    alert_labels, alert_counts = _by_month(alerts_published_by_month(conn), today)
    days = last_days(now)
    found_checks = checks_by_day(conn, days)
    activity = (
        _breakdown("alerts-month", _l("Alerts published, by month published"), _l("Month"),
                   alert_labels, alert_counts,
                   note=_l("Alerts that are published now; withdrawn alerts are not counted.")),
        _breakdown("checks-day", _l("Checks made per day, last %(n)d days", n=DAYS_SHOWN),
                   _l("Day (UK time)"),
                   [format_date(date.fromisoformat(day), "EEE d MMM y") for day in days],
                   [found_checks.get(day, 0) for day in days]),
    )

    headlines = (
        Headline(_l("Active members"), suppression.national(sum(by_kind.values()))),
        Headline(_l("Reports received"), suppression.national(reports_total(conn))),
        Headline(_l("Alerts published"), suppression.national(sum(alert_counts))),
        Headline(_l("Checks in the last %(n)d days", n=DAYS_SHOWN),
                 suppression.national(sum(found_checks.values()))),
    )
    return Statistics(
        headlines=headlines,
        sections=(
            Section("members", _l("Members"), None, tuple(members)),
            Section("reports", _l("Reports"),
                    _l("Reports a coordinator marked as malicious or false are not counted."),
                    reports),
            Section("activity", _l("Alerts and checks"), None, activity),
        ),
        as_of=today.isoformat(),
    )
