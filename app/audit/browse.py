"""Reading the disclosure log for auditors: rows, filters, pages and the CSV export.

Entries name records by id and fields by name; they never hold a sealed value, so
everything here is safe to show an auditor. Rows come from the same strict reading that
verification uses (verification.read_entries): what is shown is what was verified.
Filtering happens here rather than in SQL for the same reason (one reading of each body).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from app.audit.verification import read_entries
from app.common import csv_export
from app.common.ids import resolve_id
from app.vault.db import Connection
from crypto.audit_chain import ChainedEntry

PAGE_SIZE = 100
UNSEAL_EVENT = "unseal"  # entries written by app/unseal.py carry no "event" key
UNREADABLE_EVENT = "unreadable"
NO_LEGAL_BASIS = "none"

# Keys with a column of their own; any other key is shown under "other details".
_KNOWN = frozenset({"at", "actor", "approver", "purpose", "legal_basis", "event", "records",
                    "fields", "member_notified", "member_notified_at"})

# actor_name and approver_name come last so tools reading the older columns by position
# keep working; details holds the event's own fields (reason codes, counts) as JSON.
CSV_COLUMNS = ("seq", "at", "actor", "approver", "purpose", "legal_basis", "event", "records",
               "fields", "member_notified", "entry_hash", "details", "actor_name",
               "approver_name")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _texts(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(_text(item) for item in value)
    return (_text(value),)


@dataclass(frozen=True)
class LogRow:
    """One entry as an auditor sees it. Unreadable (damaged) entries keep seq and hash only."""

    seq: int
    entry_hash: str  # hex
    readable: bool
    at: str = ""
    actor: str = ""
    approver: str = ""
    purpose: str = ""
    legal_basis: str = ""
    event: str = UNREADABLE_EVENT
    records: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    member_notified: bool | None = None
    member_notified_at: str = ""
    other: tuple[tuple[str, str], ...] = ()

    @property
    def at_utc(self) -> datetime | None:
        try:
            parsed = datetime.fromisoformat(self.at)
        except ValueError:
            return None
        return parsed.astimezone(UTC) if parsed.tzinfo else None


def to_row(entry: ChainedEntry) -> LogRow:
    digest = entry.entry_hash.hex() if isinstance(entry.entry_hash, bytes) else ""
    body = entry.body
    if not isinstance(body, Mapping):
        return LogRow(seq=entry.seq, entry_hash=digest, readable=False)
    notified = body.get("member_notified")
    return LogRow(
        seq=entry.seq, entry_hash=digest, readable=True,
        at=_text(body.get("at")), actor=_text(body.get("actor")),
        approver=_text(body.get("approver")), purpose=_text(body.get("purpose")),
        legal_basis=_text(body.get("legal_basis")),
        event=_text(body["event"]) if "event" in body else UNSEAL_EVENT,
        records=_texts(body.get("records")), fields=_texts(body.get("fields")),
        member_notified=notified if isinstance(notified, bool) else None,
        member_notified_at=_text(body.get("member_notified_at")),
        other=tuple((key, _text(body[key])) for key in sorted(body) if key not in _KNOWN),
    )


def rows(conn: Connection) -> list[LogRow]:
    """Every entry, oldest first."""
    return [to_row(entry) for entry in read_entries(conn)]


@dataclass(frozen=True)
class LogFilter:
    """What an auditor narrowed the log to; every field optional. Dates are UTC days."""

    date_from: date | None = None
    date_to: date | None = None
    who: frozenset[str] = frozenset()  # account ids: matches the actor or the approver
    purpose: str = ""
    legal_basis: str = ""  # a legal basis, or NO_LEGAL_BASIS for entries without one
    event: str = ""
    record: str = ""  # a record id, bare ("abc") or with its table ("members/abc")

    @property
    def active(self) -> bool:
        return bool(self.date_from or self.date_to or self.who or self.purpose
                    or self.legal_basis or self.event or self.record)

    def matches(self, row: LogRow) -> bool:
        if self.date_from or self.date_to:
            when = row.at_utc
            if when is None:
                return False
            if self.date_from and when.date() < self.date_from:
                return False
            if self.date_to and when.date() > self.date_to:
                return False
        if self.who and row.actor not in self.who and row.approver not in self.who:
            return False
        if self.purpose and row.purpose != self.purpose:
            return False
        if self.legal_basis == NO_LEGAL_BASIS:
            if row.legal_basis:
                return False
        elif self.legal_basis and row.legal_basis != self.legal_basis:
            return False
        if self.event and row.event != self.event:
            return False
        return not self.record or any(r == self.record or r.endswith("/" + self.record)
                                      for r in row.records)


def resolve_record(all_rows: Iterable[LogRow], typed: str) -> str:
    """The record the auditor means: a full id, or the short id a page shows (optionally
    after its table, "reports/AbC12x"), resolved among the records the log names.

    Among the log's records rather than the database's: an entry outlives the row it names
    (a member who left), and the filter must not tell whether other records exist. Raises
    validation.Invalid when no entry names such a record, or a short id starts several.
    """
    typed = typed.strip()
    table, _slash, bare = typed.rpartition("/")
    named = sorted({rec.rpartition("/")[2] for row in all_rows for rec in row.records
                    if not table or rec.rpartition("/")[0] == table})

    def starting_with(prefix: str, limit: int) -> list[str]:
        return [rid for rid in named if rid.startswith(prefix)][:limit]

    full = resolve_id(bare, starting_with)
    return f"{table}/{full}" if table else full


def select(all_rows: Iterable[LogRow], wanted: LogFilter) -> list[LogRow]:
    return [row for row in all_rows if wanted.matches(row)]


@dataclass(frozen=True)
class Page:
    rows: tuple[LogRow, ...]
    number: int
    pages: int
    matching: int

    @property
    def first(self) -> int:
        return 0 if not self.rows else (self.number - 1) * PAGE_SIZE + 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def newest_first_page(matching: Sequence[LogRow], number: int) -> Page:
    """One page of at most PAGE_SIZE rows, newest first; out-of-range numbers are clamped."""
    pages = max(1, -(-len(matching) // PAGE_SIZE))
    number = min(max(1, number), pages)
    newest = list(reversed(matching))
    chunk = newest[(number - 1) * PAGE_SIZE: number * PAGE_SIZE]
    return Page(tuple(chunk), number, pages, len(matching))


def events_in(all_rows: Iterable[LogRow], known: Iterable[str] = ()) -> list[str]:
    """Every event an auditor may filter by: those the app writes, and any in the log."""
    return sorted({row.event for row in all_rows} | {UNSEAL_EVENT} | set(known))


def staff_names(conn: Connection) -> dict[str, str]:
    """Account id -> "label · username" (or the username) for coordinators and auditors.

    Member usernames never: an entry about a member names the membership by id only.
    """
    return {str(row["id"]): (f"{row['label']} · {row['username']}" if row["label"]
                             else str(row["username"])) for row in conn.execute(
        "SELECT a.id, a.username, p.label FROM accounts a "
        "LEFT JOIN staff_profiles p ON p.account_id = a.id "
        "WHERE a.role IN ('coordinator', 'auditor')")}


def staff_ids_for(conn: Connection, who: str) -> frozenset[str]:
    """The account ids an auditor's "who" means: the id itself, or a staff username's or
    display name's id."""
    who = who.strip()
    if not who:
        return frozenset()
    found = {str(row["id"]) for row in conn.execute(
        "SELECT a.id FROM accounts a LEFT JOIN staff_profiles p ON p.account_id = a.id "
        "WHERE a.role IN ('coordinator', 'auditor') AND (a.username = ? OR p.label = ?)",
        (who, who))}
    return frozenset({who} | found)


def _notified(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def to_csv(selected: Iterable[LogRow], names: Mapping[str, str] | None = None) -> str:
    """The log (oldest first) as CSV with the CSV_COLUMNS header, formula-safe
    (app/common/csv_export). `names` maps staff account ids to what auditors call them."""
    names = names or {}
    return csv_export.to_csv(CSV_COLUMNS, (
        (row.seq, row.at, row.actor, row.approver, row.purpose, row.legal_basis,
         row.event, " ".join(row.records), " ".join(row.fields),
         _notified(row.member_notified), row.entry_hash,
         json.dumps(dict(row.other), ensure_ascii=False, sort_keys=True) if row.other else "",
         names.get(row.actor, ""), names.get(row.approver, ""))
        for row in selected))
