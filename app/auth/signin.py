"""What happens when someone tries to sign in, as a plain function over a connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from app.auth import accounts
from app.common.passwords import Passwords
from app.membership import questions
from app.vault.db import Connection
from app.web.limits import SignInThrottle


class Outcome(Enum):
    THROTTLED = "throttled"
    FAILED = "failed"          # unknown username or wrong password: indistinguishable
    PENDING = "pending"        # right password, application not yet approved
    CLOSED = "closed"          # right password, account left or revoked
    NEEDS_CODE = "needs_code"  # right password, TOTP code still to come
    SIGNED_IN = "signed_in"


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    account: accounts.Account | None = None


def attempt_password(conn: Connection, passwords: Passwords, throttle: SignInThrottle,
                     username: str, password: str) -> Attempt:
    if not throttle.allow_attempt(username):
        return Attempt(Outcome.THROTTLED)
    account = accounts.authenticate(conn, passwords, username, password)
    if account is None:
        throttle.record_failure(username)
        return Attempt(Outcome.FAILED)
    # Only now, with the right password, may the caller learn anything about the account.
    if account.status == "pending" and not questions.may_sign_in_to_answer(
            conn, account.member_id if account.role == "org_contact" else None):
        return Attempt(Outcome.PENDING, account)
    if account.status not in ("active", "pending"):
        return Attempt(Outcome.CLOSED, account)
    if account.needs_totp:
        return Attempt(Outcome.NEEDS_CODE, account)
    throttle.reset(username)
    return Attempt(Outcome.SIGNED_IN, account)


def attempt_code(conn: Connection, throttle: SignInThrottle, account_id: str, code: str,
                 now: datetime) -> Attempt:
    account = accounts.by_id(conn, account_id)
    if account is None or account.status != "active":
        return Attempt(Outcome.FAILED)
    if not throttle.allow_attempt(account.username):
        return Attempt(Outcome.THROTTLED)
    if not accounts.check_totp(conn, account, code, now):
        throttle.record_failure(account.username)
        return Attempt(Outcome.FAILED)
    throttle.reset(account.username)
    return Attempt(Outcome.SIGNED_IN, account)
