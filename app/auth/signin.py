"""What happens when someone tries to sign in, as a plain function over a connection.

`device_tokens` are the tokens the browser's device cookie holds (app/auth/devices.py):
one live for the account means the attempt is held only to that browser's own count,
never to the counts strangers build up (app/web/limits.py says how).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from app.auth import accounts, devices, recovery
from app.auth import reset as reset_codes
from app.common.passwords import Passwords
from app.common.waiting import Waiting
from app.membership import questions
from app.vault.db import Connection, transaction
from app.web.limits import ResetLimiter, SignInThrottle, Verdict
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
    retry_after: timedelta = timedelta(0)
    # The hash of the device token the browser showed for this account, if any.
    device: str | None = None


def attempt_password(conn: Connection, passwords: Passwords, throttle: SignInThrottle,
                     username: str, password: str, now: datetime,
                     device_tokens: Sequence[object] = ()) -> Attempt:
    device = devices.known_token_for_username(conn, device_tokens, username, now)
    verdict = throttle.check(username, device, now)
    if not verdict.allowed:
        return Attempt(Outcome.THROTTLED, retry_after=verdict.retry_after)
    account = accounts.authenticate(conn, passwords, username, password)
    if account is None:
        throttle.failed(username, device, now)
        return Attempt(Outcome.FAILED)
    # Only now, with the right password, may the caller learn anything about the account.
    if account.status == "pending" and not questions.may_sign_in_to_answer(
            conn, account.member_id if account.role == "org_contact" else None):
        return Attempt(Outcome.PENDING, account)
    if account.status not in ("active", "pending"):
        return Attempt(Outcome.CLOSED, account)
    if account.needs_totp:
        return Attempt(Outcome.NEEDS_CODE, account, device=device)
    throttle.succeeded(username, device)
    return Attempt(Outcome.SIGNED_IN, account, device=device)


def attempt_code(conn: Connection, throttle: SignInThrottle, account_id: str, code: str,
                 now: datetime, device_tokens: Sequence[object] = (),
                 keys: ServerKeys | None = None) -> Attempt:
    """The second step: an authenticator code, or (given `keys`) one recovery code, once.

    Recovery codes count against the same throttle as authenticator codes.
    """
    account = accounts.by_id(conn, account_id)
    if account is None or account.status != "active":
        return Attempt(Outcome.FAILED)
    device = devices.known_token(conn, device_tokens, account.id, now)
    verdict = throttle.check(account.username, device, now)
    if not verdict.allowed:
        return Attempt(Outcome.THROTTLED, retry_after=verdict.retry_after)
    if accounts.check_totp(conn, account, code, now):
        throttle.succeeded(account.username, device)
        return Attempt(Outcome.SIGNED_IN, account, device=device)
    if keys is not None and recovery.looks_like_a_code(code):
        with transaction(conn):
            spent = recovery.use_code(conn, keys, account.id, code)
        if spent:
            throttle.succeeded(account.username, device)
            return Attempt(Outcome.SIGNED_IN, account, used_recovery_code=True, device=device)
    throttle.failed(account.username, device, now)
    return Attempt(Outcome.FAILED)


def remember_browser(conn: Connection, attempt: Attempt, now: datetime) -> str | None:
    """After a sign-in: a new device token for an unknown browser (None if it was known)."""
    assert attempt.outcome is Outcome.SIGNED_IN and attempt.account is not None
    with transaction(conn):
        if attempt.device is not None:
            devices.touch(conn, attempt.device, now)
            return None
        return devices.issue(conn, attempt.account.id, now)


def ask_for_code(waiting: Waiting, limiter: ResetLimiter, username: str,
                 now: datetime) -> Verdict:
    """A password reset request under its own limit, apart from sign-in's: never a failure.

    A refused request queues nothing; one let through is only added to `waiting` (which a
    background job resolves: app/auth/reset.resolve_requests), the same work and the same
    page whether or not the username exists.
    """
    verdict = limiter.allow_request(username, now)
    if verdict.allowed:
        reset_codes.request_code(waiting, username)
    return verdict
