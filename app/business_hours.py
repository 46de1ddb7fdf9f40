"""Age in business hours: Monday to Friday, 9:00 to 17:00, UK time.

Applications are processed in those hours, so a queue ordered by this age shows which
application has really been waiting longest. Bank holidays count as working days: the UK
has four different calendars, and over-stating a wait is the safe direction.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

UK = ZoneInfo("Europe/London")
OPENS = time(9, 0)
CLOSES = time(17, 0)


def _open_interval(day: date) -> tuple[datetime, datetime] | None:
    if day.weekday() >= 5:
        return None
    return (datetime.combine(day, OPENS, tzinfo=UK), datetime.combine(day, CLOSES, tzinfo=UK))


def business_hours_between(start: datetime, end: datetime) -> float:
    """Hours between two aware datetimes that fall inside UK office hours."""
    if end <= start:
        return 0.0
    start_uk, end_uk = start.astimezone(UK), end.astimezone(UK)
    total = timedelta()
    day = start_uk.date()
    while day <= end_uk.date():
        interval = _open_interval(day)
        if interval:
            lo, hi = max(interval[0], start_uk), min(interval[1], end_uk)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds() / 3600
