"""The identifiers a published alert names, as full-length blind indexes.

The number checker answers from `alert_identifier_index` joined with published alerts;
this module is the only writer of that table. The Alerts issue calls
`index_alert_identifiers` when an alert is published (in the same transaction as the
status change) and `clear_alert_identifiers` when it is withdrawn. The index values are
`identifiers.index_values`: the same normalisers and subkeys as report identifiers, so an
alert, a report and a member's check that name the same number meet on equal bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.common import identifiers as offender_identifiers
from app.vault.db import Connection
from crypto.blind_index import BlindIndexer


class NotInTransaction(RuntimeError):
    """Raised when a caller forgets the transaction that keeps an alert and its index together."""


def _require_transaction(conn: Connection, what: str) -> None:
    if not conn.in_transaction:
        raise NotInTransaction(
            f"{what} must be called inside db.transaction(conn), with the alert's status change"
        )


def index_alert_identifiers(conn: Connection, indexer: BlindIndexer, alert_id: str,
                            identifiers: Sequence[tuple[str, str]]) -> int:
    """Replace the alert's index rows with those of `identifiers` ((kind, raw value) pairs).

    Every value is normalised and indexed before anything is deleted, so a value that does
    not normalise (NormalisationError) or an unknown kind (ValueError) leaves the existing
    rows untouched. Returns the number of distinct index rows now held for the alert (two
    spellings of one identifier give one row). Must run in the caller's transaction.
    """
    _require_transaction(conn, "index_alert_identifiers")
    rows: set[tuple[str, bytes]] = set()
    for kind, raw in identifiers:
        rows.update(offender_identifiers.index_values(indexer, kind, raw))
    conn.execute("DELETE FROM alert_identifier_index WHERE alert_id = ?", (alert_id,))
    conn.executemany(
        "INSERT INTO alert_identifier_index (alert_id, index_name, value) VALUES (?, ?, ?)",
        [(alert_id, name, value) for name, value in sorted(rows)])
    return len(rows)


def clear_alert_identifiers(conn: Connection, alert_id: str) -> int:
    """Delete every index row of the alert (on withdrawal); returns how many there were.

    Must run in the caller's transaction. secure_delete (app/db.py) overwrites the rows.
    """
    _require_transaction(conn, "clear_alert_identifiers")
    cursor = conn.execute("DELETE FROM alert_identifier_index WHERE alert_id = ?", (alert_id,))
    return cursor.rowcount
