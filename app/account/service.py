"""Account settings as plain functions: change password, sign out everywhere, TOTP."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.alerts import service as alert_settings
from app.auth import accounts, sessions
from app.common.passwords import Passwords, password_problem
from app.membership import records as member_records
from app.vault.db import Connection, transaction


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
    return None


def sign_out_everywhere(conn: Connection, account_id: str) -> int:
    with transaction(conn):
        return sessions.end_all(conn, account_id)


def turn_on_totp(conn: Connection, account: accounts.Account, secret: str, code: str,
                 now: datetime) -> bool:
    """Turn TOTP on only once the member has shown a working code for the new secret."""
    return accounts.turn_on_totp(conn, account, secret, code, now)


def confirm_alert_settings(conn: Connection, member_id: str, areas: list[str],
                           now: datetime) -> None:
    """The member's alert areas, confirmed: the first-sign-in question is not asked again."""
    with transaction(conn):
        alert_settings.set_member_areas(conn, member_id, areas)
        member_records.confirm_settings(conn, member_id, now)
