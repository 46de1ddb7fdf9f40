"""The one way sealed values leave the database: logged first, then opened.

`unseal` writes the disclosure-log entry and opens the envelopes inside one transaction.
If the entry cannot be written, or any envelope fails to open, the transaction rolls back
and no plaintext is returned: no entry, no plaintext.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from crypto.keys import BoxPrivateKey

from . import disclosure_log, sealing
from .db import Connection, transaction

PURPOSES = frozenset({"vetting", "report_review", "alert_delivery", "disclosure"})
LEGAL_BASES = frozenset({"consent", "child_protection", "preventing_crime",
                         "risk_to_life", "terrorism", "court_order"})

Opened = dict[str, dict[str, dict[str, str]]]  # row id -> column -> field -> value

# The keys every unseal entry has, plus "event" (an unseal entry has none: see app/audit).
_ENTRY_KEYS = frozenset({"at", "actor", "approver", "purpose", "legal_basis", "records",
                         "fields", "member_notified", "event"})


@dataclass(frozen=True)
class UnsealRequest:
    actor_id: str
    purpose: str
    table: str
    row_ids: Sequence[str]
    fields: Mapping[str, Sequence[str]]  # column -> the field names wanted from it
    legal_basis: str | None = None
    member_notified: bool = False
    approver_id: str | None = None
    # Extra keys for the entry that name what the unseal is for, by id only (for example
    # {"request": "disclosure_requests/<id>"}); they cannot replace the keys above.
    context: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.context is not None:
            clash = set(self.context) & _ENTRY_KEYS
            if clash or not all(isinstance(v, str) for v in self.context.values()):
                raise ValueError(f"context cannot set {sorted(clash)} and holds text only")
        if self.purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {self.purpose!r}")
        if self.legal_basis is not None and self.legal_basis not in LEGAL_BASES:
            raise ValueError(f"unknown legal basis {self.legal_basis!r}")
        if not self.row_ids or not self.fields or not all(self.fields.values()):
            raise ValueError("an unseal names at least one record and one field")
        for column, names in self.fields.items():
            allowed = sealing.SEALED_PLACES.get((self.table, column))
            if allowed is None or not set(names) <= allowed:
                raise sealing.UnknownPlace(f"cannot unseal {self.table}.{column}")

    @property
    def field_names(self) -> list[str]:
        return sorted(f"{column}.{name}" for column, names in self.fields.items()
                      for name in names)


def unseal(conn: Connection, request: UnsealRequest, key: BoxPrivateKey,
           now: datetime | None = None) -> Opened:
    """Log, then open the requested fields of each row."""
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    columns = sorted(request.fields)
    placeholders = ",".join("?" * len(request.row_ids))
    # Table and columns were checked against SEALED_PLACES, never taken from input.
    query = (f"SELECT id, {', '.join(columns)} FROM {request.table} "  # noqa: S608
             f"WHERE id IN ({placeholders})")
    with transaction(conn):
        rows = {row[0]: row[1:] for row in conn.execute(query, tuple(request.row_ids))}
        missing = [rid for rid in request.row_ids if rid not in rows]
        if missing:
            raise LookupError(f"{len(missing)} record(s) not found")
        disclosure_log.append(conn, {
            "at": when,
            "actor": request.actor_id,
            "approver": request.approver_id,
            "purpose": request.purpose,
            "legal_basis": request.legal_basis,
            "records": [f"{request.table}/{rid}" for rid in request.row_ids],
            "fields": request.field_names,
            "member_notified": request.member_notified,
            **(request.context or {}),
        })
        opened: Opened = {}
        for rid in request.row_ids:
            opened[rid] = {}
            for column, sealed in zip(columns, rows[rid], strict=True):
                values = ({} if sealed is None else
                          sealing.open_group(request.table, column, rid, bytes(sealed), key))
                opened[rid][column] = {name: values.get(name, "")
                                       for name in request.fields[column]}
    return opened
