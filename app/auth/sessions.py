"""Server-side sessions: the browser holds a random token, the database only its hash.

A new token on every sign-in (no session fixation); an idle timeout; "sign out
everywhere"; a password change ends every other session.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from app.common.ids import token_hash
from app.vault.db import Connection

IDLE_TIMEOUT = timedelta(minutes=30)
# Writing last_seen on every request would cost a write per page; a minute is precise enough.
_TOUCH_EVERY = timedelta(minutes=1)


def create(conn: Connection, account_id: str, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    stamp = now.isoformat(timespec="seconds")
    conn.execute("INSERT INTO sessions (token_hash, account_id, created_at, last_seen_at) "
                 "VALUES (?, ?, ?, ?)", (token_hash(token), account_id, stamp, stamp))
    return token


def resolve(conn: Connection, token: str, now: datetime,
            idle_timeout: timedelta = IDLE_TIMEOUT) -> str | None:
    """The account id for a live session token; an idle one is deleted and gives None."""
    try:
        digest = token_hash(token)
    except (UnicodeEncodeError, AttributeError):
        return None
    row = conn.execute("SELECT account_id, last_seen_at FROM sessions WHERE token_hash = ?",
                       (digest,)).fetchone()
    if row is None:
        return None
    account_id, last_seen = row["account_id"], datetime.fromisoformat(row["last_seen_at"])
    if now - last_seen > idle_timeout:
        conn.execute("DELETE FROM sessions WHERE token_hash = ?", (digest,))
        return None
    if now - last_seen > _TOUCH_EVERY:
        conn.execute("UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?",
                     (now.isoformat(timespec="seconds"), digest))
    return account_id


def end(conn: Connection, token: str) -> None:
    conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash(token),))


def end_all(conn: Connection, account_id: str, *, keep_token: str | None = None) -> int:
    """End every session of the account (but `keep_token`'s); returns how many ended."""
    if keep_token is None:
        cursor = conn.execute("DELETE FROM sessions WHERE account_id = ?", (account_id,))
    else:
        cursor = conn.execute(
            "DELETE FROM sessions WHERE account_id = ? AND token_hash != ?",
            (account_id, token_hash(keep_token)))
    return cursor.rowcount


def purge_idle(conn: Connection, now: datetime, idle_timeout: timedelta = IDLE_TIMEOUT) -> int:
    cutoff = (now - idle_timeout).isoformat(timespec="seconds")
    return conn.execute("DELETE FROM sessions WHERE last_seen_at < ?", (cutoff,)).rowcount


def digests(conn: Connection, account_id: str) -> list[bytes]:
    """The stored digests of the account's sessions (what the keyring holds keys under)."""
    return [bytes(row["token_hash"]) for row in conn.execute(
        "SELECT token_hash FROM sessions WHERE account_id = ?", (account_id,))]
