"""A membership's life after applying: approve, reject, ask for more, revoke, leave.

Plain functions over a connection. Each writes its decision row (who, what, when) in the
same transaction as the change it records. Reasons are codes from fixed lists, so no
free text about a person is ever stored beside a decision.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.auth import sessions
from app.vault import outbox
from app.vault.db import Connection, transaction

REJECT_REASONS = {
    "unverifiable": _l("We could not confirm the details given"),
    "duplicate": _l("The applicant is already a member"),
    "not_eligible": _l("The application is outside who the scheme is for"),
    "organisation_unverified": _l("The organisation's website or email could not be checked"),
}
INFO_REASONS = {
    "website": _l("We need to check the organisation's website"),
    "official_email": _l("We need an official email address on the website's domain"),
    "work_with_sex_workers": _l("We need to know more about the work with sex workers"),
}
REVOKE_REASONS = {
    "false_membership": _l("False membership"),
    "malicious_reporting": _l("Malicious or false reporting"),
}

OPEN_APPLICATION = ("pending", "info_requested")


class DecisionError(Exception):
    """The decision does not fit the membership's current state; the message says why."""


def _status(conn: Connection, member_id: str) -> tuple[str, str]:
    row = conn.execute("SELECT status, kind FROM members WHERE id = ?", (member_id,)).fetchone()
    if row is None:
        raise DecisionError("There is no such membership.")
    return row[0], row[1]


def _record(conn: Connection, member_id: str, action: str, reason: str | None,
            actor_id: str | None, now: datetime) -> None:
    conn.execute(
        "INSERT INTO membership_decisions (member_id, action, reason, actor_id, at) "
        "VALUES (?, ?, ?, ?, ?)",
        (member_id, action, reason, actor_id, now.isoformat(timespec="seconds")))


def _close_accounts(conn: Connection, member_id: str) -> None:
    for (account_id,) in conn.execute("SELECT id FROM accounts WHERE member_id = ?",
                                      (member_id,)).fetchall():
        sessions.end_all(conn, account_id)
    conn.execute("UPDATE accounts SET status = 'disabled' WHERE member_id = ?", (member_id,))


def approve(conn: Connection, member_id: str, actor_id: str, now: datetime) -> None:
    with transaction(conn):
        status, _kind = _status(conn, member_id)
        if status not in OPEN_APPLICATION:
            raise DecisionError("Only an application still waiting can be approved.")
        conn.execute("UPDATE members SET status = 'active', decided_at = ? WHERE id = ?",
                     (now.isoformat(timespec="seconds"), member_id))
        conn.execute("UPDATE accounts SET status = 'active' WHERE member_id = ? "
                     "AND status = 'pending'", (member_id,))
        _record(conn, member_id, "approve", None, actor_id, now)
        # The applicant learns over their chosen channel, if any, that they can sign in.
        outbox.enqueue_for_member(conn, kind="approval", member_id=member_id,
                                  dedupe_key=f"approval:{member_id}", now=now)


def reject(conn: Connection, member_id: str, reason: str, actor_id: str,
           now: datetime) -> None:
    if reason not in REJECT_REASONS:
        raise DecisionError("Choose a reason from the list.")
    with transaction(conn):
        status, _kind = _status(conn, member_id)
        if status not in OPEN_APPLICATION:
            raise DecisionError("Only an application still waiting can be rejected.")
        conn.execute("UPDATE members SET status = 'rejected', decided_at = ? WHERE id = ?",
                     (now.isoformat(timespec="seconds"), member_id))
        _close_accounts(conn, member_id)
        _record(conn, member_id, "reject", reason, actor_id, now)


def request_info(conn: Connection, member_id: str, reason: str, actor_id: str,
                 now: datetime) -> None:
    if reason not in INFO_REASONS:
        raise DecisionError("Choose what you need from the list.")
    with transaction(conn):
        status, kind = _status(conn, member_id)
        if kind == "individual":
            raise DecisionError("More information is asked of organisations only.")
        if status != "pending":
            raise DecisionError("Only a waiting application can be asked for more.")
        conn.execute("UPDATE members SET status = 'info_requested' WHERE id = ?", (member_id,))
        _record(conn, member_id, "request_info", reason, actor_id, now)


def revoke(conn: Connection, member_id: str, reason: str, actor_id: str,
           now: datetime) -> None:
    """End a membership for false membership or malicious reporting.

    The sealed details are kept: the terms say they may be passed to the police.
    """
    if reason not in REVOKE_REASONS:
        raise DecisionError("Choose a reason from the list.")
    with transaction(conn):
        status, _kind = _status(conn, member_id)
        if status != "active":
            raise DecisionError("Only an active membership can be revoked.")
        conn.execute("UPDATE members SET status = 'revoked', decided_at = ? WHERE id = ?",
                     (now.isoformat(timespec="seconds"), member_id))
        _close_accounts(conn, member_id)
        _record(conn, member_id, "revoke", reason, actor_id, now)


def leave(conn: Connection, member_id: str, actor_id: str | None, now: datetime, *,
          recorded_by_coordinator: bool = False) -> None:
    """Leave at once: delete identity, contact and their indexes; disable every login.

    secure_delete (set on every connection) overwrites the freed pages, so the envelopes
    do not linger in the file. Reports stay, no longer linked to the member.
    """
    with transaction(conn):
        status, _kind = _status(conn, member_id)
        if status in ("left", "revoked"):
            raise DecisionError("This membership has already ended.")
        conn.execute("UPDATE members SET identity = NULL, contact = NULL, status = 'left', "
                     "alert_channel = 'none', decided_at = ? WHERE id = ?",
                     (now.isoformat(timespec="seconds"), member_id))
        conn.execute("DELETE FROM member_contact_index WHERE member_id = ?", (member_id,))
        # Reports stay (they protect others) but no longer point at the member.
        conn.execute("UPDATE reports SET reporter_account_id = NULL, reporter_member_id = NULL "
                     "WHERE reporter_member_id = ?", (member_id,))
        _close_accounts(conn, member_id)
        _record(conn, member_id, "leave_recorded" if recorded_by_coordinator else "leave",
                None, actor_id, now)
