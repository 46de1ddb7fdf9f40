"""The one way sealed values leave the database: logged first, then opened.

`unseal` writes the disclosure-log entry and opens the envelopes inside one transaction.
If the entry cannot be written, or any envelope fails to open, the transaction rolls back
and no plaintext is returned: no entry, no plaintext.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from crypto.keys import BoxPrivateKey

from . import disclosure_log, sealing
from .db import Connection, transaction

PURPOSES = frozenset({"vetting", "report_review", "alert_delivery", "disclosure"})
LEGAL_BASES = frozenset({"consent", "child_protection", "preventing_crime",
                         "risk_to_life", "terrorism", "court_order"})


@dataclass(frozen=True)
class UnsealRequest:
    actor_id: str
    purpose: str
    table: str
    column: str
    row_ids: Sequence[str]
    fields: Sequence[str]
    legal_basis: str | None = None
    member_notified: bool = False
    approver_id: str | None = None

    def __post_init__(self) -> None:
        if self.purpose not in PURPOSES:
            raise ValueError(f"unknown purpose {self.purpose!r}")
        if self.legal_basis is not None and self.legal_basis not in LEGAL_BASES:
            raise ValueError(f"unknown legal basis {self.legal_basis!r}")
        if not self.row_ids or not self.fields:
            raise ValueError("an unseal names at least one record and one field")


def unseal(
    conn: Connection, request: UnsealRequest, key: BoxPrivateKey,
    now: datetime | None = None,
) -> dict[str, dict[str, str]]:
    """Log, then open `request.fields` of each row; returns {row_id: {field: value}}."""
    allowed = sealing.SEALED_PLACES.get((request.table, request.column))
    if allowed is None or not set(request.fields) <= allowed:
        raise sealing.UnknownPlace(f"cannot unseal {request.table}.{request.column}")
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    placeholders = ",".join("?" * len(request.row_ids))
    # Table and column come from SEALED_PLACES, never from input, so formatting is safe.
    query = (f"SELECT id, {request.column} FROM {request.table} "  # noqa: S608
             f"WHERE id IN ({placeholders})")
    with transaction(conn):
        rows = dict(conn.execute(query, tuple(request.row_ids)).fetchall())
        missing = [rid for rid in request.row_ids if rows.get(rid) is None]
        if missing:
            raise LookupError(f"no sealed {request.column} for {len(missing)} record(s)")
        disclosure_log.append(conn, {
            "at": when,
            "actor": request.actor_id,
            "approver": request.approver_id,
            "purpose": request.purpose,
            "legal_basis": request.legal_basis,
            "records": [f"{request.table}/{rid}" for rid in request.row_ids],
            "fields": sorted(request.fields),
            "member_notified": request.member_notified,
        })
        opened = {
            rid: sealing.open_group(request.table, request.column, rid, bytes(rows[rid]), key)
            for rid in request.row_ids
        }
    return {rid: {f: values.get(f, "") for f in request.fields}
            for rid, values in opened.items()}
