"""Writing disclosure-log bodies the typed constructors would refuse.

The service writes only `LogEntry` values (app/vault/log.py). Tests of the auditor's side
must also face bodies the service would never write (a forged actor, a purpose from
nowhere), as an attacker with the database key could: this appends such a body to the
chain exactly as the log's own append does.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.vault import log
from crypto import audit_chain


def append_raw(conn, body: Mapping[str, object]) -> audit_chain.ChainedEntry:
    assert conn.in_transaction
    entry = audit_chain.append(log.head(conn), body)
    conn.execute(
        "INSERT INTO disclosure_log (seq, body, prev_hash, entry_hash) VALUES (?, ?, ?, ?)",
        (entry.seq, audit_chain.canonical(entry.body).decode("utf-8"), entry.prev_hash,
         entry.entry_hash))
    return entry
