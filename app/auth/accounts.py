"""Accounts: looking them up, checking passwords and TOTP codes, creating and closing logins.

Plain functions over a connection; no request, no Flask. This module owns every write to
the `accounts` table.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime
from enum import StrEnum

import pyotp

from app.auth import sessions
from app.common.ids import new_id
from app.common.languages import supported
from app.common.passwords import Passwords
from app.vault.db import Connection, IntegrityError, Row, count, transaction
from crypto.passphrase import generate_passphrase, generate_username


class AccountStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DISABLED = "disabled"


STAFF_ROLES = ("coordinator", "auditor")
MEMBER_ROLES = ("member", "org_contact", "org_staff")
# What an authenticator app lists the code under, on a phone anyone may glance at: the
# scheme's configured site name, or this neutral one, never "Ugly Mugs".
NEUTRAL_ISSUER = "Safety notices"


@dataclass(frozen=True)
class Account:
    id: str
    username: str
    role: str
    status: str
    member_id: str | None
    password_hash: str
    totp_secret: str | None
    totp_last_step: int | None
    # The language they chose (app/common/languages.py); None: the device's or browser's.
    locale: str | None = None

    @property
    def needs_totp(self) -> bool:
        return self.role in STAFF_ROLES or self.totp_secret is not None

    def __repr__(self) -> str:
        return f"Account(id={self.id!r}, role={self.role!r}, status={self.status!r})"


_COLUMNS = ("id, username, role, status, member_id, password_hash, totp_secret, "
            "totp_last_step, locale")


def _row(row: Row | None) -> Account | None:
    if row is None:
        return None
    return Account(**{f.name: row[f.name] for f in fields(Account)})


def by_username(conn: Connection, username: str) -> Account | None:
    return _row(conn.execute(f"SELECT {_COLUMNS} FROM accounts WHERE username = ?",  # noqa: S608
                             (username.strip().lower(),)).fetchone())


def by_id(conn: Connection, account_id: str) -> Account | None:
    return _row(conn.execute(f"SELECT {_COLUMNS} FROM accounts WHERE id = ?",  # noqa: S608
                             (account_id,)).fetchone())


def authenticate(conn: Connection, passwords: Passwords, username: str,
                 password: str) -> Account | None:
    """The account if the password is right, else None; unknown names cost the same."""
    account = by_username(conn, username)
    if not passwords.verify(account.password_hash if account else None, password):
        return None
    assert account is not None
    if passwords.needs_rehash(account.password_hash):
        conn.execute("UPDATE accounts SET password_hash = ? WHERE id = ?",
                     (passwords.hash(password), account.id))
    return account


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str, site_name: str | None) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username,
                                               issuer_name=site_name or NEUTRAL_ISSUER)


def check_totp(conn: Connection, account: Account, code: str, now: datetime) -> bool:
    """Accept a current code once: a code already used (or an older one) is refused."""
    if account.totp_secret is None:
        return False
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return False
    totp = pyotp.TOTP(account.totp_secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):  # one step of clock drift either way
        if secrets.compare_digest(totp.generate_otp(step), code):
            if account.totp_last_step is not None and step <= account.totp_last_step:
                return False
            updated = conn.execute(
                "UPDATE accounts SET totp_last_step = ? WHERE id = ? AND "
                "(totp_last_step IS NULL OR totp_last_step < ?)",
                (step, account.id, step),
            )
            return updated.rowcount == 1
    return False


USERNAME_ATTEMPTS = 20


def create_login(conn: Connection, *, role: str, password_hash: str, now: datetime,
                 member_id: str | None = None, status: str = "active",
                 totp_secret: str | None = None) -> Account:
    """Insert an account with a fresh generated username; must run inside a transaction.

    Takes a ready hash: hashing costs 64 MiB and a noticeable time, and must not run while
    the transaction holds the database's write lock.
    """
    account_id = new_id()  # an id the audit CSV shows as it is
    for _attempt in range(USERNAME_ATTEMPTS):
        username = generate_username()
        try:
            conn.execute(
                "INSERT INTO accounts (id, username, password_hash, role, member_id, status, "
                "totp_secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (account_id, username, password_hash, role, member_id, status, totp_secret,
                 now.isoformat(timespec="seconds")),
            )
        except IntegrityError as error:
            # Only a taken username is worth another try; the failed statement alone is
            # undone and the transaction goes on.
            if "accounts.username" in str(error):
                continue
            raise
        account = by_id(conn, account_id)
        assert account is not None
        return account
    raise RuntimeError("no free username found")


@dataclass(frozen=True)
class NewStaff:
    account: Account
    password: str
    totp_secret: str


def create_staff(conn: Connection, passwords: Passwords, *, role: str, now: datetime,
                 password: str | None = None) -> NewStaff:
    """A coordinator or auditor login, always with TOTP; opens its own transaction."""
    if role not in STAFF_ROLES:
        raise ValueError(f"staff role must be one of {STAFF_ROLES}")
    password = password or generate_passphrase()
    password_hash = passwords.hash(password)
    secret = new_totp_secret()
    with transaction(conn):
        account = create_login(conn, role=role, password_hash=password_hash, now=now,
                               totp_secret=secret)
    return NewStaff(account, password, secret)


def count_staff(conn: Connection, role: str) -> int:
    return count(conn, "SELECT count(*) FROM accounts WHERE role = ? AND status = 'active'",
                      (role,))


def set_password_hash(conn: Connection, account_id: str, password_hash: str) -> None:
    conn.execute("UPDATE accounts SET password_hash = ? WHERE id = ?",
                 (password_hash, account_id))


def set_status(conn: Connection, account_id: str, status: AccountStatus) -> None:
    conn.execute("UPDATE accounts SET status = ? WHERE id = ?", (status.value, account_id))


def turn_off_totp(conn: Connection, account_id: str) -> None:
    conn.execute("UPDATE accounts SET totp_secret = NULL, totp_last_step = NULL WHERE id = ?",
                 (account_id,))


def enable_totp(conn: Connection, account_id: str, secret: str) -> None:
    conn.execute("UPDATE accounts SET totp_secret = ?, totp_last_step = NULL WHERE id = ?",
                 (secret, account_id))


def turn_on_totp(conn: Connection, account: Account, secret: str, code: str,
                 now: datetime) -> bool:
    """Turn TOTP on only once the person has shown a working code for the new secret."""
    trial = replace(account, totp_secret=secret, totp_last_step=None)
    with transaction(conn):
        enable_totp(conn, account.id, secret)
        if not check_totp(conn, trial, code, now):
            conn.execute("UPDATE accounts SET totp_secret = ?, totp_last_step = ? WHERE id = ?",
                         (account.totp_secret, account.totp_last_step, account.id))
            return False
    return True


def activate_for_member(conn: Connection, member_id: str) -> None:
    """An approved application's pending logins start working."""
    conn.execute("UPDATE accounts SET status = 'active' WHERE member_id = ? "
                 "AND status = 'pending'", (member_id,))


def close_for_member(conn: Connection, member_id: str) -> None:
    """Every login of a membership stops at once, its sessions included."""
    for row in conn.execute("SELECT id FROM accounts WHERE member_id = ?",
                            (member_id,)).fetchall():
        sessions.end_all(conn, row["id"])
    conn.execute("UPDATE accounts SET status = 'disabled' WHERE member_id = ?", (member_id,))


def close_staff_login(conn: Connection, member_id: str, account_id: str) -> bool:
    """Close one of an organisation's staff logins; False if it is not theirs or not open."""
    updated = conn.execute(
        "UPDATE accounts SET status = 'disabled' WHERE id = ? AND member_id = ? "
        "AND role = 'org_staff' AND status = 'active'", (account_id, member_id))
    if updated.rowcount != 1:
        return False
    sessions.end_all(conn, account_id)
    return True


def delete_for_member(conn: Connection, member_id: str) -> None:
    """Retention: the logins of an application that is being purged."""
    conn.execute("DELETE FROM accounts WHERE member_id = ?", (member_id,))


def set_locale(conn: Connection, account_id: str, locale: str) -> None:
    """Remember the account's language, so pages and notices follow it on any device."""
    if not supported(locale):
        raise ValueError(f"not a language the service speaks: {locale!r}")
    with transaction(conn):
        conn.execute("UPDATE accounts SET locale = ? WHERE id = ?", (locale, account_id))


def notice_locales(conn: Connection, member_ids: Iterable[str]) -> dict[str, str]:
    """Each membership's language for notices: that of its own login (member or key contact).

    Organisation staff logins share the membership but not its notices, so their choice
    does not count; a membership whose login chose nothing is left out (source language).
    """
    wanted = sorted(set(member_ids))
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = conn.execute(
        f"SELECT member_id, locale FROM accounts WHERE member_id IN ({marks}) "  # noqa: S608
        "AND role IN ('member', 'org_contact') AND locale IS NOT NULL", wanted)
    return {row["member_id"]: row["locale"] for row in rows if supported(row["locale"])}
