"""Browsers known to an account: OWASP's device cookie, for sign-in throttling only.

A browser that signs in to an account gets a random token for that account; the
database keeps only its hash (`token_hash`, as for sessions), so a copy of the database
cannot be replayed as a known browser. Showing a live token for the account being signed
in to means the attempt is counted against that token alone (app/web/limits.py), so a
stranger's failures never slow the owner's known browsers. A token proves nothing else:
it signs no one in and skips no password or code.

Plain sign-out keeps the token (the browser is still the owner's); "sign out everywhere"
and any password change revoke every token of the account. This module owns every write
to `device_tokens`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from app.common.ids import token_hash
from app.vault.db import Connection

# Unused this long, a token no longer counts (and is deleted at the account's next issue).
LIFETIME = timedelta(days=180)
# The newest tokens of an account that stay live; more browsers than this is unusual.
PER_ACCOUNT = 10
# Looked up in place of an unknown username's account id: the same reads, no match.
_NO_ACCOUNT = "no-such-account"


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _digest(token: object) -> bytes | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 100:
        return None
    try:
        return token_hash(token)
    except (UnicodeEncodeError, AttributeError):
        return None


def issue(conn: Connection, account_id: str, now: datetime) -> str:
    """A new token for the account; expired and surplus old ones go. Inside a transaction."""
    token = secrets.token_urlsafe(32)
    conn.execute("DELETE FROM device_tokens WHERE account_id = ? AND last_used_at < ?",
                 (account_id, _stamp(now - LIFETIME)))
    conn.execute("INSERT INTO device_tokens (token_hash, account_id, created_at, "
                 "last_used_at) VALUES (?, ?, ?, ?)",
                 (token_hash(token), account_id, _stamp(now), _stamp(now)))
    conn.execute(
        "DELETE FROM device_tokens WHERE account_id = ? AND token_hash NOT IN ("
        "SELECT token_hash FROM device_tokens WHERE account_id = ? "
        "ORDER BY last_used_at DESC, created_at DESC LIMIT ?)",
        (account_id, account_id, PER_ACCOUNT))
    return token


def known_token(conn: Connection, tokens: Iterable[object], account_id: str,
                now: datetime) -> str | None:
    """The hash (hex) of the first of `tokens` that is a live token of the account, or None.

    The hex digest is what the throttle counts failures by: never the token itself.
    """
    cutoff = _stamp(now - LIFETIME)
    for token in tokens:
        digest = _digest(token)
        if digest is None:
            continue
        row = conn.execute("SELECT 1 AS found FROM device_tokens WHERE token_hash = ? AND "
                           "account_id = ? AND last_used_at >= ?",
                           (digest, account_id, cutoff)).fetchone()
        if row is not None:
            return digest.hex()
    return None


def known_token_for_username(conn: Connection, tokens: Iterable[object], username: str,
                             now: datetime) -> str | None:
    """As known_token, for the account a typed username names (None for no such account).

    The same reads for every username, known or not: one account look-up, then one token
    look-up per token the browser holds (against an id no account has, for an unknown
    name). The answer only chooses which counter an attempt is held to.
    """
    row = conn.execute("SELECT id FROM accounts WHERE username = ?",
                       (username.strip().lower(),)).fetchone()
    return known_token(conn, list(tokens), row["id"] if row is not None else _NO_ACCOUNT, now)


def touch(conn: Connection, digest_hex: str, now: datetime) -> None:
    """A known browser signed in again: its token stays live for another LIFETIME."""
    conn.execute("UPDATE device_tokens SET last_used_at = ? WHERE token_hash = ?",
                 (_stamp(now), bytes.fromhex(digest_hex)))


def purge_unused(conn: Connection, now: datetime) -> int:
    """Forget tokens unused for LIFETIME: a last-used day is itself a trace of someone's use,
    kept no longer than it helps sign-in throttling. Inside a transaction."""
    return int(conn.execute("DELETE FROM device_tokens WHERE last_used_at < ?",
                            (_stamp(now - LIFETIME),)).rowcount)


def revoke_all(conn: Connection, account_id: str) -> int:
    """Every browser of the account becomes a stranger again (sign out everywhere, new password)."""
    return int(conn.execute("DELETE FROM device_tokens WHERE account_id = ?",
                            (account_id,)).rowcount)
