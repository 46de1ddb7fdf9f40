"""Staff logins of an organisation, managed by its key contact. Plain functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.auth import accounts
from app.common.passwords import Passwords
from app.vault.db import Connection, transaction
from crypto.passphrase import generate_passphrase


@dataclass(frozen=True)
class StaffLogin:
    account_id: str
    username: str
    status: str
    created_at: str


def list_staff(conn: Connection, member_id: str) -> list[StaffLogin]:
    rows = conn.execute("SELECT id, username, status, created_at FROM accounts "
                        "WHERE member_id = ? AND role = 'org_staff' ORDER BY created_at, id",
                        (member_id,)).fetchall()
    return [StaffLogin(account_id=row["id"], username=row["username"], status=row["status"],
                       created_at=row["created_at"]) for row in rows]


def add_staff(conn: Connection, passwords: Passwords, member_id: str,
              now: datetime) -> tuple[accounts.Account, str]:
    """A new staff login with its own generated username and a generated first password."""
    password = generate_passphrase()
    password_hash = passwords.hash(password)
    with transaction(conn):
        account = accounts.create_login(conn, role="org_staff", password_hash=password_hash,
                                        now=now, member_id=member_id, status="active")
    return account, password


def remove_staff(conn: Connection, member_id: str, account_id: str) -> bool:
    """Close one of this organisation's staff logins at once; False if it is not theirs."""
    with transaction(conn):
        return accounts.close_staff_login(conn, member_id, account_id)
