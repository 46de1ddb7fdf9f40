"""Rekeying the database (`keys rotate database`): SQLCipher's own PRAGMA rekey.

The rekey runs with a rollback journal rather than WAL (the WAL is checkpointed into the
file first): SQLCipher rewrites every page in one transaction, so a kill part-way leaves
a hot journal of pages under the old key that the next open under the old key rolls
back. Either the whole file is under the new key or none of it is. The caller proves the
new key opens it (and the old no longer does) before it makes the new key file current.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from app.vault import db, log


def opens_with(path: Path, key: bytes) -> bool:
    """Whether the database at `path` opens with `key` (and reads its schema)."""
    try:
        conn = db.connect(path, key)
    except db.StartupError:
        return False
    conn.close()
    return True


def rekey(path: Path, old: bytes, new: bytes) -> None:
    """Re-encrypt every page of the database from `old` to `new`; proves `new` opens it."""
    if len(new) != 32:
        raise db.StartupError("The new database key must be 32 bytes.")
    conn = db.connect(path, old)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute(f"PRAGMA rekey = \"x'{new.hex()}'\"")
        conn.execute("PRAGMA journal_mode = WAL")
    finally:
        conn.close()
    if not opens_with(path, new) or opens_with(path, old):
        raise db.StartupError(f"The rekey of {path} did not take: the database key files "
                              "are unchanged; run the rotation again.")


def record(path: Path, key: bytes, *, backup: str, now: datetime) -> None:
    """Log the rotation in the rekeyed database (the backup made first, by file name)."""
    conn = db.connect(path, key)
    try:
        with db.transaction(conn):
            log.append(conn, log.database_key_rotated(at=now, actor=log.OPERATOR,
                                                      backup=backup))
    finally:
        conn.close()
