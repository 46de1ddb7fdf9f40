"""The one way sealed values leave the database: logged first, then opened.

`unseal` writes the disclosure-log entry and opens the envelopes inside one transaction.
If the entry cannot be written, or any envelope fails to open, the transaction rolls back
and no plaintext is returned: no entry, no plaintext. (The worker's delivery batches are
the other door, in app/vault/outbox.py, kept to the same rule.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.vault import log, opening, sealing
from app.vault.db import Connection, transaction
from app.vault.log import LegalBasis, Purpose
from crypto.keys import BoxPrivateKey

PURPOSES = frozenset(Purpose)
LEGAL_BASES = frozenset(LegalBasis)

Opened = dict[str, dict[str, dict[str, str]]]  # row id -> column -> field -> value

# Keys a request's context may not set: they belong to every unseal entry.
_ENTRY_KEYS = frozenset({"at", "actor", "approver", "purpose", "legal_basis", "records",
                         "fields", "member_notified", "event"})


@dataclass(frozen=True)
class UnsealRequest:
    actor_id: str
    purpose: Purpose | str
    table: str
    row_ids: Sequence[str]
    fields: Mapping[str, Sequence[str]]  # column -> the field names wanted from it
    legal_basis: LegalBasis | str | None = None
    member_notified: bool = False
    approver_id: str | None = None
    # Extra keys for the entry that name what the unseal is for, by id only (for example
    # {"request": "disclosure_requests/<id>"}); they cannot replace the keys above.
    context: Mapping[str, str] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.context is not None:
            clash = set(self.context) & _ENTRY_KEYS
            if clash or not all(isinstance(v, str) for v in self.context.values()):
                raise ValueError(f"context cannot set {sorted(clash)} and holds text only")
        try:
            object.__setattr__(self, "purpose", Purpose(self.purpose))
        except ValueError:
            raise ValueError(f"unknown purpose {self.purpose!r}") from None
        if self.legal_basis is not None:
            try:
                object.__setattr__(self, "legal_basis", LegalBasis(self.legal_basis))
            except ValueError:
                raise ValueError(f"unknown legal basis {self.legal_basis!r}") from None
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

    def entry(self, at: datetime) -> log.LogEntry:
        return log.unsealed(
            at=at, actor=self.actor_id, purpose=Purpose(self.purpose),
            records=[f"{self.table}/{rid}" for rid in self.row_ids], fields=self.field_names,
            legal_basis=None if self.legal_basis is None else LegalBasis(self.legal_basis),
            approver=self.approver_id, member_notified=self.member_notified,
            context=self.context)


def unseal(conn: Connection, request: UnsealRequest, key: BoxPrivateKey,
           now: datetime | None = None) -> Opened:
    """Log, then open the requested fields of each row."""
    columns = sorted(request.fields)
    placeholders = ",".join("?" * len(request.row_ids))
    # Table and columns were checked against SEALED_PLACES, never taken from input.
    query = (f"SELECT id, {', '.join(columns)} FROM {request.table} "  # noqa: S608
             f"WHERE id IN ({placeholders})")
    with transaction(conn):
        rows = {row["id"]: row for row in conn.execute(query, tuple(request.row_ids))}
        missing = [rid for rid in request.row_ids if rid not in rows]
        if missing:
            raise LookupError("1 record not found" if len(missing) == 1
                              else f"{len(missing)} records not found")
        log.append(conn, request.entry(now or datetime.now(UTC)))
        opened: Opened = {}
        for rid in request.row_ids:
            opened[rid] = {}
            for column in columns:
                sealed = rows[rid][column]
                values = ({} if sealed is None else
                          opening.open_group(request.table, column, rid, bytes(sealed), key))
                opened[rid][column] = {name: values.get(name, "")
                                       for name in request.fields[column]}
    return opened
