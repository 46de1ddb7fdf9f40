"""Account settings as plain functions: change password, sign out everywhere, TOTP."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.auth import accounts, devices, sessions
from app.common.passwords import Passwords, password_problem
from app.vault.db import Connection, transaction


def change_password(conn: Connection, passwords: Passwords, account: accounts.Account,
                    current: str, new: str, keep_token: str) -> object | None:
    """Change the password, end every other session and forget every known browser.

    Returns a problem or None. Known browsers go too: whoever had the old password may
    have signed in from one, and a known browser is spared the strangers' sign-in limits.
    """
    if not passwords.verify(account.password_hash, current):
        return _l("Your current password is not right.")
    problem = password_problem(new)
    if problem:
        return problem
    new_hash = passwords.hash(new)
    with transaction(conn):
        accounts.set_password_hash(conn, account.id, new_hash)
        sessions.end_all(conn, account.id, keep_token=keep_token)
        devices.revoke_all(conn, account.id)
    return None


def sign_out_everywhere(conn: Connection, account_id: str) -> int:
    """End every session and forget every browser that signed in (their device tokens)."""
    with transaction(conn):
        devices.revoke_all(conn, account_id)
        return sessions.end_all(conn, account_id)


def turn_on_totp(conn: Connection, account: accounts.Account, secret: str, code: str,
                 now: datetime) -> bool:
    """Turn TOTP on only once the member has shown a working code for the new secret."""
    return accounts.turn_on_totp(conn, account, secret, code, now)
