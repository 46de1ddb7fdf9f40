"""The disclosure log in the database: a hash chain (crypto/audit_chain.py) in one table.

An entry names who, what purpose, which records (by id) and which fields (by name). It
never holds a sealed value. Appends happen inside the caller's transaction, so the entry
and whatever it records commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping

from crypto import audit_chain

from .db import Connection


def _row_to_entry(row: tuple[int, str, bytes, bytes]) -> audit_chain.ChainedEntry:
    import json

    seq, body, prev_hash, entry_hash = row
    return audit_chain.ChainedEntry(seq=seq, body=json.loads(body),
                                    prev_hash=bytes(prev_hash), entry_hash=bytes(entry_hash))


def head(conn: Connection) -> audit_chain.ChainedEntry | None:
    row = conn.execute(
        "SELECT seq, body, prev_hash, entry_hash FROM disclosure_log ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    return _row_to_entry(row) if row else None


def append(conn: Connection, body: Mapping[str, object]) -> audit_chain.ChainedEntry:
    """Add one entry. Must run inside `db.transaction` (BEGIN IMMEDIATE serialises heads)."""
    if not conn.in_transaction:
        raise RuntimeError("disclosure_log.append must run inside a transaction")
    entry = audit_chain.append(head(conn), body)
    conn.execute(
        "INSERT INTO disclosure_log (seq, body, prev_hash, entry_hash) VALUES (?, ?, ?, ?)",
        (entry.seq, audit_chain.canonical(entry.body).decode("utf-8"),
         entry.prev_hash, entry.entry_hash),
    )
    return entry


def entries(conn: Connection) -> list[audit_chain.ChainedEntry]:
    rows = conn.execute(
        "SELECT seq, body, prev_hash, entry_hash FROM disclosure_log ORDER BY seq"
    ).fetchall()
    return [_row_to_entry(row) for row in rows]


def verify(conn: Connection) -> audit_chain.ChainVerdict:
    return audit_chain.verify_chain(entries(conn))
