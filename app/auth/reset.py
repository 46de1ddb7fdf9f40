"""Password reset by a code sent over the member's own channel.

The response never says whether a username exists, and neither does the work behind it:
a request only adds the typed username to a queue in memory (app/common/waiting.py), and a
background job looks the batch up later and queues codes where an account can receive one
(resolve_requests). A code try does the same reads, the same Argon2id hash and the same
keyed hash for every username, and a wrong code's count is written later, in a batch, so a
try costs no write whether or not a code was pending.

The code goes out through the worker (sealed to the delivery key in the outbox, erased
from it once sent or expired); the database keeps only a keyed hash of it, which expires
after 30 minutes and allows five tries. Requests and tries have their own limits
(app/auth/signin.ask_for_code): they never count as sign-in failures.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from app.auth import accounts, devices, sessions
from app.common.passwords import Passwords, password_problem
from app.common.waiting import Waiting
from app.vault import outbox
from app.vault.db import Connection, transaction
from crypto.blind_index import BlindIndexer
from crypto.keystore import ServerKeys

CODE_LIFETIME = timedelta(minutes=30)
MAX_TRIES = 5
# Stands in for the account id of a username with no account, so an unknown name runs the
# same statements and the same keyed hash as a known one (no account has this id).
_NO_ACCOUNT = "no-such-account"
# Compared against when no code is pending: the same comparison, which never matches.
_NO_CODE = b"\0" * 32


def _code_hash(keys: ServerKeys, account_id: str, code: str) -> bytes:
    return BlindIndexer(keys.index_key).compute("password_resets", "code", account_id, code)


def _typed(username: str) -> str:
    return username.strip().lower()[:128]


def request_code(waiting: Waiting, username: str) -> None:
    """Ask for a code: the same, cheap, database-free work for every username."""
    waiting.add(_typed(username))


def resolve_requests(conn: Connection, keys: ServerKeys, waiting: Waiting,
                     now: datetime) -> int:
    """Off every request: a code for each waiting username whose account can receive one.

    Returns how many codes were queued (for tests; never shown to anyone).
    """
    queued = 0
    for username in waiting.take():
        account = accounts.by_username(conn, username)
        if account is not None and send_code(conn, keys, account, now) is not None:
            queued += 1
    return queued


def record_failed_tries(conn: Connection, failed: Waiting) -> int:
    """Off every request: add the wrong codes counted in memory to each pending code's tries."""
    tries: dict[str, int] = {}
    for account_id in failed.take():
        tries[account_id] = tries.get(account_id, 0) + 1
    tries.pop(_NO_ACCOUNT, None)
    if tries:
        with transaction(conn):
            conn.executemany("UPDATE password_resets SET attempts = attempts + ? "
                             "WHERE account_id = ?",
                             [(n, account_id) for account_id, n in sorted(tries.items())])
    return sum(tries.values())


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
             code: str, new_password: str, now: datetime,
             failed: Waiting | None = None) -> object | None:
    """Set a new password with a valid code; returns a problem message or None.

    Every username, known or not, with a code pending or not, costs one account read, one
    Argon2id hash, one read of password_resets and one keyed hash. A wrong code is counted
    in `failed` (written later by record_failed_tries) rather than by a write here; without
    `failed` (a caller with no background job) it is written at once.
    """
    problem = password_problem(new_password)
    if problem:
        return problem
    generic = _l("That code is not right or has expired. Ask for a new one.")
    account = accounts.by_username(conn, username)
    account_id = account.id if account is not None else _NO_ACCOUNT
    new_hash = passwords.hash(new_password)
    with transaction(conn):
        row = conn.execute("SELECT code_hash, expires_at, attempts FROM password_resets "
                           "WHERE account_id = ?", (account_id,)).fetchone()
        offered = _code_hash(keys, account_id, code.strip())
        matches = secrets.compare_digest(bytes(row["code_hash"]) if row else _NO_CODE, offered)
        waiting_tries = failed.count(account_id) if failed is not None else 0
        if (account is None or row is None or not matches
                or datetime.fromisoformat(row["expires_at"]) < now
                or row["attempts"] + waiting_tries >= MAX_TRIES):
            if failed is not None:
                failed.add(account_id)
            elif row is not None:
                conn.execute("UPDATE password_resets SET attempts = attempts + 1 "
                             "WHERE account_id = ?", (account_id,))
            return generic
        conn.execute("DELETE FROM password_resets WHERE account_id = ?", (account_id,))
        accounts.set_password_hash(conn, account_id, new_hash)
        sessions.end_all(conn, account_id)
        devices.revoke_all(conn, account_id)
    return None


def purge_expired(conn: Connection, now: datetime) -> int:
    """Retention: codes past their lifetime."""
    return int(conn.execute("DELETE FROM password_resets WHERE expires_at < ?",
                            (now.isoformat(timespec="seconds"),)).rowcount)
