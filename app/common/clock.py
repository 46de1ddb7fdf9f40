"""Time as the scheme counts it: UK days, stored stamps, and age in business hours.

Every "now" comes from the caller (the app's clock), so tests can move time. Stored times
are ISO 8601 with seconds and an offset (`stamp`); the days members see are UK days.

Age in business hours: Monday to Friday, 9:00 to 17:00, UK time. Applications are
processed in those hours, so a queue ordered by this age shows which application has
really been waiting longest. Public holidays do not count: the member's (or report's)
area picks the calendar (England and Wales, Scotland, Northern Ireland or Ireland, from the
`holidays` library), and an area we cannot place counts as England, the commonest.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

UK = ZoneInfo("Europe/London")
OPENS = time(9, 0)
CLOSES = time(17, 0)

# Public-holiday calendars, as (country, subdivision) in the `holidays` library.
ENGLAND = ("GB", "ENG")
CALENDARS: dict[str, tuple[str, str | None]] = {
    "wal": ("GB", "WLS"),
    "sco": ("GB", "SCT"),
    "ni": ("GB", "NIR"),
    "ie": ("IE", None),
}


def stamp(moment: datetime) -> str:
    """How a time is stored: ISO 8601 to the second, with its offset."""
    return moment.isoformat(timespec="seconds")


def uk_time(moment: datetime | str | None) -> str:
    """A time as staff read it: UK local time with the zone named ("24 Dec 2026, 14:05 GMT").

    A stored stamp is accepted as it is stored; a naive time is read as UTC (as
    `uk_date_of` does). Anything unreadable is shown as it came.
    """
    if moment is None:
        return ""
    if isinstance(moment, str):
        try:
            parsed = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    else:
        parsed = moment
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UK).strftime("%-d %b %Y, %H:%M %Z")


def uk_today(now: datetime) -> date:
    """The UK calendar day of an aware datetime."""
    return now.astimezone(UK).date()


def uk_day(now: datetime) -> str:
    """The UK calendar day of an aware datetime, as YYYY-MM-DD."""
    return uk_today(now).isoformat()


def utc_day(now: datetime) -> str:
    """The UTC calendar day of an aware datetime, as YYYY-MM-DD."""
    return now.astimezone(UTC).date().isoformat()


def uk_date_of(stored: str | None) -> date | None:
    """The UK day of a stored stamp (a naive one is read as UTC), or None if unreadable."""
    if not stored:
        return None
    try:
        moment = datetime.fromisoformat(stored)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UK).date()


def uk_day_shown(stored: str | datetime | None) -> str:
    """The UK day of a stored stamp as YYYY-MM-DD, for pages that show a day and no time:
    a stamp's first ten characters are its UTC day, a day early between midnight and 1:00
    in summer. Anything unreadable is shown as it came."""
    if isinstance(stored, datetime):
        stored = stored.isoformat()
    if not isinstance(stored, str):
        return "" if stored is None else str(stored)
    day = uk_date_of(stored)
    return day.isoformat() if day else stored


def calendar_for(area: str | None) -> tuple[str, str | None]:
    """The public-holiday calendar an area keeps (England for any English region or none)."""
    return CALENDARS.get(area or "", ENGLAND)


@cache
def _holidays(calendar: tuple[str, str | None]) -> holidays.HolidayBase:
    # One calendar object per region, filled a year at a time as dates are asked about.
    country, subdivision = calendar
    return holidays.country_holidays(country, subdiv=subdivision, years=range(2024, 2041))


def is_public_holiday(day: date, area: str | None = None) -> bool:
    return day in _holidays(calendar_for(area))


def _open_interval(day: date, area: str | None) -> tuple[datetime, datetime] | None:
    if day.weekday() >= 5 or is_public_holiday(day, area):
        return None
    return (datetime.combine(day, OPENS, tzinfo=UK), datetime.combine(day, CLOSES, tzinfo=UK))


def business_hours_between(start: datetime, end: datetime, area: str | None = None) -> float:
    """Hours between two aware datetimes inside UK office hours, skipping `area`'s holidays."""
    if end <= start:
        return 0.0
    start_uk, end_uk = start.astimezone(UK), end.astimezone(UK)
    total = timedelta()
    day = start_uk.date()
    while day <= end_uk.date():
        interval = _open_interval(day, area)
        if interval:
            lo, hi = max(interval[0], start_uk), min(interval[1], end_uk)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds() / 3600
