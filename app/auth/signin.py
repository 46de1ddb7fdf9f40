"""What happens when someone tries to sign in, as a plain function over a connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from app.auth import accounts, recovery
from app.common.passwords import Passwords
from app.membership import questions
from app.vault.db import Connection, transaction
from app.web.limits import SignInThrottle
from crypto.keystore import ServerKeys


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
    # Signed in with a recovery code in place of an authenticator code (that code is spent).
    used_recovery_code: bool = False


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
                 now: datetime, keys: ServerKeys | None = None) -> Attempt:
    """The second step: an authenticator code, or (given `keys`) one recovery code, once.

    Recovery codes count against the same throttle as authenticator codes.
    """
    account = accounts.by_id(conn, account_id)
    if account is None or account.status != "active":
        return Attempt(Outcome.FAILED)
    if not throttle.allow_attempt(account.username):
        return Attempt(Outcome.THROTTLED)
    if accounts.check_totp(conn, account, code, now):
        throttle.reset(account.username)
        return Attempt(Outcome.SIGNED_IN, account)
    if keys is not None and recovery.looks_like_a_code(code):
        with transaction(conn):
            spent = recovery.use_code(conn, keys, account.id, code)
        if spent:
            throttle.reset(account.username)
            return Attempt(Outcome.SIGNED_IN, account, used_recovery_code=True)
    throttle.record_failure(account.username)
    return Attempt(Outcome.FAILED)
