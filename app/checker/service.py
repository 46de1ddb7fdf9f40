"""The number checker: does any published alert name this phone, email, plate or handle?

Plain functions, callable without a request. The query is normalised and blind-indexed
exactly as report and alert identifiers are (app/identifiers.py), then compared with the
index of PUBLISHED alerts only: an unvetted report never answers a check.

What a check leaves behind: one more in the UK day's count, nothing else. Counts are held
in memory (app/common/tally.py) and added to `check_counts` in batches every few minutes
and at shutdown, so no stored figure can be timed to one check. The value typed is never
written to the database, a log, the session or a URL, and is never shown back (someone
may be looking at the screen). Its blind index is used as a query parameter and dropped.
A per-account rate limit, held in memory, keeps the checker from being used to sweep a
list of numbers.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l

from app.common import identifiers
from app.common.clock import uk_date_of, uk_day
from app.common.tally import DailyTally
from app.common.validation import Refusal
from app.vault import db
from crypto.blind_index import BlindIndexer
from crypto.errors import NormalisationError

# Longer than any real phone number, email address, plate or handle (the normalisers'
# own limit); anything longer is refused before it is normalised.
MAX_VALUE_CHARS = 320

# How the answer refers to what was typed, without showing it.
YOU_ENTERED: dict[str, object] = {
    "phone": _l("the phone number you entered"),
    "email": _l("the email address you entered"),
    "plate": _l("the vehicle registration you entered"),
    "handle": _l("the username or handle you entered"),
}
_EMPTY: dict[str, object] = {
    "phone": _l("Type the phone number you want to check."),
    "email": _l("Type the email address you want to check."),
    "plate": _l("Type the vehicle registration you want to check."),
    "handle": _l("Type the username or handle you want to check."),
}
_TOO_LONG = _l("That is far too long to be a phone number, email address, vehicle "
               "registration or username. Please check what you typed.")
_CONTROL = _l("That contains an invisible control character, which cannot be part of what "
              "you are checking. Please type it again rather than pasting it.")
_NO_KIND = _l("Choose whether you are checking a phone number, an email address, a vehicle "
              "registration or a username.")


class InvalidCheck(Refusal):
    """A check that cannot be answered: `field` is the form field, `message` says why.

    The message never quotes the value typed.
    """

    summary = "check refused"

    def __init__(self, field: str, message: object) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class AlertMention:
    alert_id: str
    title: str
    published_on: date | None  # the UK date it was published


@dataclass(frozen=True)
class CheckResult:
    kind: str
    alerts: list[AlertMention]


def validate(kind: str, raw: str) -> None:
    """Raise InvalidCheck unless `raw` is a checkable value of `kind`."""
    _validate_shape(kind, raw)
    problem = identifiers.check(kind, raw)
    if problem is not None:
        raise InvalidCheck("value", problem)


def _validate_shape(kind: str, raw: str) -> None:
    """Everything validate checks but the normalisers, which index_values runs anyway."""
    if kind not in identifiers.CHECKABLE:
        raise InvalidCheck("kind", _NO_KIND)
    if len(raw) > MAX_VALUE_CHARS:
        raise InvalidCheck("value", _TOO_LONG)
    if not raw.strip():
        raise InvalidCheck("value", _EMPTY[kind])
    # C0 and C1 controls (NUL, escape, tab, line breaks...). Some normalisers would skip
    # a stray one; refusing says plainly that what was pasted is not what it looks like.
    if any(unicodedata.category(ch) == "Cc" for ch in raw):
        raise InvalidCheck("value", _CONTROL)


# The identifier index is read first, by its (index_name, value) index, and only the few
# alerts it names are looked up: CROSS JOIN fixes that order, so the planner can never
# start from the alerts table and scan a million index rows (tests/test_checker.py).
MENTIONS_QUERY = (
    "SELECT DISTINCT a.id, v.title, a.published_at FROM alert_identifier_index AS i "
    "CROSS JOIN alerts AS a ON a.id = i.alert_id "
    "JOIN alert_versions AS v ON v.alert_id = a.id AND v.version = a.current_version "
    "WHERE a.status = 'published' AND ({clause}) "
    "ORDER BY a.published_at DESC, a.id")


def published_alerts_mentioning(conn: db.Connection, indexer: BlindIndexer, kind: str,
                                raw: str) -> list[AlertMention]:
    """Published alerts whose identifier index matches the value, newest first.

    Raises InvalidCheck for a value that `validate` refuses.
    """
    _validate_shape(kind, raw)
    try:
        # Normalising is what refuses a malformed value, with the message check() gives:
        # done once here rather than once to validate and again to index.
        pairs = identifiers.index_values(indexer, kind, raw)
    except (NormalisationError, ValueError) as error:
        raise InvalidCheck("value", str(error)) from None
    clause, params = identifiers.matching_clause(pairs, "i")
    # `clause` is built from placeholders only; every value is a parameter.
    rows = conn.execute(MENTIONS_QUERY.format(clause=clause), params).fetchall()
    return [AlertMention(alert_id=row["id"], title=row["title"],
                         published_on=uk_date_of(row["published_at"])) for row in rows]


def count_check(tally: DailyTally, now: datetime) -> None:
    """One more check today (UK date), in memory until `flush_counts` writes it."""
    tally.add(uk_day(now))


def flush_counts(conn: db.Connection, tally: DailyTally) -> int:
    """Add the counts held in memory to `check_counts`, in one transaction.

    Returns how many checks were written. If the write fails the counts go back to the
    tally, so the next flush writes them.
    """
    counts = tally.take()
    if not counts:
        return 0
    try:
        with db.transaction(conn):
            conn.executemany(
                "INSERT INTO check_counts (day, count) VALUES (?, ?) "
                "ON CONFLICT (day) DO UPDATE SET count = count + excluded.count",
                sorted(counts.items()))
    except BaseException:
        tally.give_back(counts)
        raise
    return sum(counts.values())


def run_check(conn: db.Connection, indexer: BlindIndexer, kind: str, raw: str,
              now: datetime, tally: DailyTally) -> CheckResult:
    """Answer one check and count it; raises InvalidCheck (nothing counted) for bad input."""
    alerts = published_alerts_mentioning(conn, indexer, kind, raw)
    count_check(tally, now)
    return CheckResult(kind, alerts)


def checks_on(conn: db.Connection, day: str) -> int:
    return db.count(conn, "SELECT count FROM check_counts WHERE day = ?", (day,))

