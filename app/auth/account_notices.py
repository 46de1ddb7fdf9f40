"""Notices in a member's account about what a coordinator did to their sign-in.

A coordinator can reset a member's two-step sign-in or send them a password-reset code
(app/coordinator/member_access.py). The member sees each such change on their account
page, so one they never asked for is noticed. Rows hold a code and a time, no text. This
module owns every write to the `account_notices` table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.common.clock import stamp
from app.vault.db import Connection

# Long enough to be seen by someone who signs in now and then; then they go.
SHOWN_FOR = timedelta(days=90)


class AccessNoticeKind(StrEnum):
    TWO_STEP_RESET = "two_step_reset"
    RESET_CODE_SENT = "reset_code_sent"


@dataclass(frozen=True)
class AccessNotice:
    kind: str
    created_at: str


def add(conn: Connection, account_id: str, kind: AccessNoticeKind, now: datetime) -> None:
    """Record a notice; inside the caller's transaction, with the change it tells of."""
    conn.execute("INSERT INTO account_notices (account_id, kind, created_at) VALUES (?, ?, ?)",
                 (account_id, kind.value, stamp(now)))


def recent(conn: Connection, account_id: str, now: datetime) -> list[AccessNotice]:
    """The account's notices of the last SHOWN_FOR, newest first."""
    return [AccessNotice(str(row["kind"]), str(row["created_at"])) for row in conn.execute(
        "SELECT kind, created_at FROM account_notices WHERE account_id = ? AND created_at >= ? "
        "ORDER BY created_at DESC, id DESC", (account_id, stamp(now - SHOWN_FOR)))]


def purge_old(conn: Connection, now: datetime) -> int:
    """Retention: notices no longer shown."""
    return int(conn.execute("DELETE FROM account_notices WHERE created_at < ?",
                            (stamp(now - SHOWN_FOR),)).rowcount)
