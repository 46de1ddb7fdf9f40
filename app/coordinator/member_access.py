"""A coordinator helping a member who lost access: reset their two-step, send a reset code.

Both act on the membership's own login (the member's, or an organisation's key contact),
never on an organisation's staff logins, which the key contact manages. Both write a
disclosure-log entry and a notice the member sees in their account, in one transaction
with the change, so a change the member did not ask for shows where they will look. Neither
opens an envelope: the reset code goes out through the worker, which alone can read the
member's contact details.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.auth import account_notices, accounts, recovery, reset
from app.auth.account_notices import AccessNoticeKind
from app.common.validation import Refusal
from app.vault import log, outbox
from app.vault.db import Connection, transaction
from crypto.keystore import ServerKeys


class AccessError(Refusal):
    """The change cannot be made; `message` (a lazy string) says why."""

    summary = "member access change refused"


@dataclass(frozen=True)
class MemberAccess:
    """What the member page shows about the membership's own login."""

    account_id: str
    two_step_on: bool
    recovery_codes_left: int
    can_receive_code: bool


def _own_login(conn: Connection, member_id: str) -> accounts.Account | None:
    row = conn.execute("SELECT id FROM accounts WHERE member_id = ? AND status = 'active' "
                       "AND role IN ('member', 'org_contact') ORDER BY created_at LIMIT 1",
                       (member_id,)).fetchone()
    return accounts.by_id(conn, str(row["id"])) if row else None


def access_of(conn: Connection, member_id: str) -> MemberAccess | None:
    """The membership's own active login, or None (pending, left, revoked)."""
    login = _own_login(conn, member_id)
    if login is None:
        return None
    channel = conn.execute("SELECT alert_channel FROM members WHERE id = ? AND status = 'active'",
                           (member_id,)).fetchone()
    return MemberAccess(
        account_id=login.id, two_step_on=login.totp_secret is not None,
        recovery_codes_left=recovery.remaining(conn, login.id),
        can_receive_code=channel is not None and channel["alert_channel"] in outbox.PUSH_CHANNELS)


def _login_or_error(conn: Connection, member_id: str) -> accounts.Account:
    login = _own_login(conn, member_id)
    if login is None:
        raise AccessError(_l("This membership has no active login."))
    return login


def reset_two_step(conn: Connection, member_id: str, *, actor: str, now: datetime) -> None:
    """Two-step off and recovery codes gone: the member signs in with their password alone
    and can turn it on again. Logged, and the member is told in their account."""
    with transaction(conn):
        login = _login_or_error(conn, member_id)
        if login.totp_secret is None:
            raise AccessError(_l("Two-step sign-in is already off for this member."))
        accounts.turn_off_totp(conn, login.id)
        recovery.delete_all(conn, login.id)
        account_notices.add(conn, login.id, AccessNoticeKind.TWO_STEP_RESET, now)
        log.append(conn, log.member_access_changed(
            log.Event.MEMBER_TWO_STEP_RESET, at=now, actor=actor, member_id=member_id,
            account_id=login.id))


def send_reset_code(conn: Connection, keys: ServerKeys, member_id: str, *, actor: str,
                    now: datetime) -> str:
    """A password-reset code to the member's own email or mobile (the usual reset path);
    returns the channel. Logged, and the member is told in their account."""
    with transaction(conn):
        login = _login_or_error(conn, member_id)
        channel = reset.send_code(conn, keys, login, now)
        if channel is None:
            raise AccessError(_l("This member chose neither email nor text messages, so no "
                                 "code can be sent to them."))
        account_notices.add(conn, login.id, AccessNoticeKind.RESET_CODE_SENT, now)
        log.append(conn, log.member_access_changed(
            log.Event.MEMBER_RESET_CODE_SENT, at=now, actor=actor, member_id=member_id,
            account_id=login.id, channel=channel))
    return channel
