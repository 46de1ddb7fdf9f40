"""Account settings as plain functions: change password, sign out everywhere, TOTP."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.alerts import service as alert_settings
from app.auth import accounts, devices, recovery, sessions
from app.auth import staff as staff_logins
from app.common.passwords import Passwords, password_problem
from app.membership import records as member_records
from app.vault.db import Connection, transaction
from crypto.keystore import ServerKeys


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
        staff_logins.password_changed(conn, account.id)
        devices.revoke_all(conn, account.id)
    return None


def sign_out_everywhere(conn: Connection, account_id: str) -> int:
    """End every session and forget every browser that signed in (their device tokens)."""
    with transaction(conn):
        devices.revoke_all(conn, account_id)
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


def confirm_alert_settings(conn: Connection, member_id: str, areas: list[str],
                           now: datetime) -> None:
    """The member's alert areas, confirmed: the first-sign-in question is not asked again."""
    with transaction(conn):
        alert_settings.set_member_areas(conn, member_id, areas)
        member_records.confirm_settings(conn, member_id, now)
