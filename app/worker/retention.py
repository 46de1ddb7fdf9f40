"""Retention: what the scheme no longer needs is deleted (secure_delete overwrites it).

- Rejected applications, 30 days after the decision.
- Applications asked for more information that did not answer within 30 days of the last
  question: the account was never activated. A week before, the organisation is told
  (app/membership/questions.warn_before_purge).
- Withdrawn alerts, a configured time after withdrawal (default 90 days).
- Sent, failed and cancelled notices after 30 days (they tie member ids to times).
- Idle sessions and expired reset codes.
- Notices of sign-in changes in members' accounts, after 90 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app.alerts import service as alert_service
from app.auth import account_notices, accounts, reset, sessions
from app.membership import questions
from app.membership import records as member_records
from app.reports import records as report_records
from app.vault import outbox
from app.vault.db import Connection, transaction

APPLICATION_RETENTION = timedelta(days=30)
NOTICE_RETENTION = timedelta(days=30)
WITHDRAWN_ALERT_RETENTION = timedelta(days=90)


@dataclass
class Purged:
    applications: int = 0
    alerts: int = 0
    notices: int = 0
    sessions: int = 0
    resets: int = 0
    access_notices: int = 0
    warned: int = 0


def _purge_member(conn: Connection, member_id: str) -> None:
    report_records.forget_reporter(conn, member_id)
    questions.delete_for_application(conn, member_id)
    accounts.delete_for_member(conn, member_id)
    member_records.delete_member(conn, member_id)


def purge(conn: Connection, now: datetime, *,
          withdrawn_alerts_after: timedelta = WITHDRAWN_ALERT_RETENTION) -> Purged:
    done = Purged()
    done.warned = questions.warn_before_purge(conn, now)
    cutoff = (now - APPLICATION_RETENTION).isoformat(timespec="seconds")
    with transaction(conn):
        rejected = [r["id"] for r in conn.execute(
            "SELECT id FROM members WHERE status = 'rejected' AND decided_at < ?", (cutoff,))]
        unanswered = [r["id"] for r in conn.execute(
            "SELECT m.id FROM members m WHERE m.status = 'info_requested' AND "
            "(SELECT max(at) FROM membership_decisions d WHERE d.member_id = m.id "
            " AND d.action = 'request_info') < ?", (cutoff,))]
        for member_id in rejected + unanswered:
            _purge_member(conn, member_id)
        done.applications = len(rejected) + len(unanswered)

        done.alerts = alert_service.purge_withdrawn(conn, now - withdrawn_alerts_after)
        # A reset code sealed in the outbox is erased once its code has expired.
        outbox.erase_expired_secrets(conn, now - reset.CODE_LIFETIME)
        done.notices = outbox.purge_finished(conn, now - NOTICE_RETENTION)
        done.sessions = sessions.purge_idle(conn, now)
        done.resets = reset.purge_expired(conn, now)
        done.access_notices = account_notices.purge_old(conn, now)
    return done
