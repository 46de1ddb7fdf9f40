"""Password reset by a code sent over the member's own channel.

The response never says whether a username exists. The code goes out through the worker
(sealed to the delivery key in the outbox); the database keeps only a keyed hash of it,
which expires after 30 minutes and allows five tries.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from app.auth import accounts, sessions
from app.common.passwords import Passwords, password_problem
from app.vault import outbox
from app.vault.db import Connection, transaction
from crypto.blind_index import BlindIndexer
from crypto.keystore import ServerKeys

CODE_LIFETIME = timedelta(minutes=30)
MAX_TRIES = 5


def _code_hash(keys: ServerKeys, account_id: str, code: str) -> bytes:
    return BlindIndexer(keys.index_key).compute("password_resets", "code", account_id, code)


def request_code(conn: Connection, keys: ServerKeys, username: str, now: datetime) -> bool:
    """Queue a code if the account can receive one; True if queued (never shown to users)."""
    account = accounts.by_username(conn, username)
    if account is None:
        return False
    return send_code(conn, keys, account, now) is not None


def send_code(conn: Connection, keys: ServerKeys, account: accounts.Account,
              now: datetime) -> str | None:
    """Queue a code over the member's own channel; the channel used, or None if there is none.

    Joins the caller's transaction, so a coordinator's request for a member is logged with it.
    """
    if account.status != "active" or account.member_id is None:
        return None
    row = conn.execute("SELECT alert_channel FROM members WHERE id = ? AND status = 'active'",
                       (account.member_id,)).fetchone()
    if row is None or row["alert_channel"] not in outbox.PUSH_CHANNELS:
        return None
    code = f"{secrets.randbelow(10**8):08d}"
    with transaction(conn):
        conn.execute("DELETE FROM password_resets WHERE account_id = ?", (account.id,))
        conn.execute("INSERT INTO password_resets (account_id, code_hash, expires_at) "
                     "VALUES (?, ?, ?)", (account.id, _code_hash(keys, account.id, code),
                                          (now + CODE_LIFETIME).isoformat(timespec="seconds")))
        outbox.cancel_pending(conn, kind="reset", member_id=account.member_id)
        outbox.enqueue(conn, kind="reset", member_id=account.member_id,
                       channel=row["alert_channel"],
                       dedupe_key=f"reset:{account.id}:{secrets.token_hex(8)}", now=now,
                       secret=code, keys=keys)
    return str(row["alert_channel"])


def use_code(conn: Connection, keys: ServerKeys, passwords: Passwords, username: str,
             code: str, new_password: str, now: datetime) -> object | None:
    """Set a new password with a valid code; returns a problem message or None."""
    problem = password_problem(new_password)
    if problem:
        return problem
    generic = _l("That code is not right or has expired. Ask for a new one.")
    account = accounts.by_username(conn, username)
    if account is None:
        return generic
    new_hash = passwords.hash(new_password)
    with transaction(conn):
        row = conn.execute("SELECT code_hash, expires_at, attempts FROM password_resets "
                           "WHERE account_id = ?", (account.id,)).fetchone()
        if (row is None or datetime.fromisoformat(row["expires_at"]) < now
                or row["attempts"] >= MAX_TRIES):
            return generic
        if not secrets.compare_digest(bytes(row["code_hash"]),
                                      _code_hash(keys, account.id, code.strip())):
            conn.execute("UPDATE password_resets SET attempts = attempts + 1 "
                         "WHERE account_id = ?", (account.id,))
            return generic
        conn.execute("DELETE FROM password_resets WHERE account_id = ?", (account.id,))
        accounts.set_password_hash(conn, account.id, new_hash)
        sessions.end_all(conn, account.id)
    return None


def purge_expired(conn: Connection, now: datetime) -> int:
    """Retention: codes past their lifetime."""
    return int(conn.execute("DELETE FROM password_resets WHERE expires_at < ?",
                            (now.isoformat(timespec="seconds"),)).rowcount)
