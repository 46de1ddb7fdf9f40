"""Account settings as plain functions: change password, sign out everywhere, TOTP."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.auth import accounts, recovery, sessions
from app.auth import staff as staff_logins
from app.common.passwords import Passwords, password_problem
from app.vault.db import Connection, transaction
from crypto.keystore import ServerKeys


def change_password(conn: Connection, passwords: Passwords, account: accounts.Account,
                    current: str, new: str, keep_token: str) -> object | None:
    """Change the password and end every other session; returns a problem or None."""
    if not passwords.verify(account.password_hash, current):
        return _l("Your current password is not right.")
    problem = password_problem(new)
    if problem:
        return problem
    new_hash = passwords.hash(new)
    with transaction(conn):
        accounts.set_password_hash(conn, account.id, new_hash)
        sessions.end_all(conn, account.id, keep_token=keep_token)
        staff_logins.password_changed(conn, account.id)
    return None


def sign_out_everywhere(conn: Connection, account_id: str) -> int:
    with transaction(conn):
        return sessions.end_all(conn, account_id)


def turn_on_totp(conn: Connection, keys: ServerKeys, account: accounts.Account, secret: str,
                 code: str, now: datetime) -> list[str] | None:
    """Turn TOTP on once the member has shown a working code for the new secret.

    Returns the ten recovery codes to show once (None if the code was wrong); they are made
    in the same transaction, so two-step is never on without them.
    """
    with transaction(conn):
        if not accounts.turn_on_totp(conn, account, secret, code, now):
            return None
        return recovery.replace_codes(conn, keys, account.id)


def turn_off_totp(conn: Connection, passwords: Passwords, keys: ServerKeys,
                  account: accounts.Account, password: str, code: str,
                  now: datetime) -> object | None:
    """Turn two-step off with the password and a current or recovery code; a problem or None.

    Both are asked for: a borrowed unlocked phone or a seen password alone is not enough.
    """
    generic = _l("That password and code do not match. Nothing was changed.")
    if account.totp_secret is None:
        return _l("Two-step sign-in is already off.")
    if not passwords.verify(account.password_hash, password):
        return generic
    with transaction(conn):
        if not (accounts.check_totp(conn, account, code, now)
                or recovery.use_code(conn, keys, account.id, code)):
            return generic
        accounts.turn_off_totp(conn, account.id)
        recovery.delete_all(conn, account.id)
    return None
