"""Telling members that information about them was disclosed: now, or when a delay ends.

A member is told in two ways at once: a message in their account (what was shared, with
whom and why, written from the request's codes when they read it) and a content-free
notice over the channel they chose (outbox kind "disclosure": "There is a new message in
your account..."). Then a `member_notified` entry goes into the disclosure
log, so the auditor sees whether and when the member was told; the log is append-only, so
this is a follow-up entry rather than a change to the disclosure's own entry.

`release_due_notices(conn, now)` is what the worker calls on every delivery run
(app/worker/scheduler.py): it tells the members of every disclosed request whose notice
is due, that is not delayed, or whose review date has passed (UTC) without the delay
being extended. It also catches a notice that an interrupted request failed to send.

Plain functions, no Flask: the worker imports this module.
"""

from __future__ import annotations

import logging
from datetime import datetime

from app.common.clock import stamp as _stamp
from app.common.clock import utc_day
from app.disclosures import records
from app.disclosures.records import RequestStatus
from app.vault import log as disclosure_log
from app.vault.db import Connection, transaction
from app.vault.log import LegalBasis
from app.vault.outbox import NoticeKind, enqueue_for_member

log = logging.getLogger("uglymugs.disclosures")


def record_ids(conn: Connection, request_id: str) -> list[str]:
    return [row["row_id"] for row in conn.execute(
        "SELECT row_id FROM disclosure_request_records WHERE request_id = ? ORDER BY row_id",
        (request_id,))]


def members_concerned(conn: Connection, subject_table: str, ids: list[str]) -> list[str]:
    """The members a disclosure is about: the member, or each report's reporter."""
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    if subject_table == "members":
        query = (f"SELECT id AS member_id FROM members WHERE id IN ({marks}) "  # noqa: S608
                 "ORDER BY id")
    else:
        query = ("SELECT DISTINCT reporter_member_id AS member_id FROM reports "  # noqa: S608
                 f"WHERE id IN ({marks}) AND reporter_member_id IS NOT NULL "
                 "ORDER BY reporter_member_id")
    return [row["member_id"] for row in conn.execute(query, ids)]


def _active(conn: Connection, member_ids: list[str]) -> list[str]:
    if not member_ids:
        return []
    marks = ",".join("?" * len(member_ids))
    return [row["id"] for row in conn.execute(
        f"SELECT id FROM members WHERE id IN ({marks}) AND status = 'active' "  # noqa: S608
        "ORDER BY id", member_ids)]


def notify(conn: Connection, request_id: str, actor_id: str, now: datetime) -> bool:
    """Tell the members concerned by a disclosed request, once; False if nothing was due.

    Members who can no longer sign in (left, revoked) cannot be told through the scheme:
    the log entry then says the member was not notified, and why, so coordinators can
    decide what else to do.
    """
    stamp = _stamp(now)
    with transaction(conn):
        row = conn.execute(
            "SELECT subject_table, legal_basis FROM disclosure_requests WHERE id = ? AND "
            "status = ? AND disclosed_at IS NOT NULL AND notified_at IS NULL",
            (request_id, RequestStatus.DISCLOSED)).fetchone()
        if row is None:
            return False
        subject_table = row["subject_table"]
        ids = record_ids(conn, request_id)
        told = _active(conn, members_concerned(conn, subject_table, ids))
        channel_notices = 0
        for member_id in told:
            records.add_disclosure_message(conn, member_id, request_id, stamp)
            if enqueue_for_member(conn, kind=NoticeKind.DISCLOSURE, member_id=member_id,
                                  dedupe_key=f"disclosure:{request_id}:{member_id}",
                                  now=now):
                channel_notices += 1
        records.set_notified(conn, request_id, stamp, "notified" if told else "no_member")
        disclosure_log.append(conn, disclosure_log.member_notified(
            at=now, actor=actor_id, legal_basis=LegalBasis(row["legal_basis"]),
            records=([f"members/{m}" for m in told] if told
                     else [f"{subject_table}/{rid}" for rid in ids]),
            request_id=request_id, told=bool(told), channel_notices=channel_notices))
    return True


def release_due_notices(conn: Connection, now: datetime) -> int:
    """Tell the members of every disclosed request whose notice is due; returns how many."""
    due = [row["id"] for row in conn.execute(
        "SELECT id FROM disclosure_requests WHERE status = ? AND "
        "disclosed_at IS NOT NULL AND notified_at IS NULL AND "
        "(notice_review_on IS NULL OR notice_review_on < ?) ORDER BY disclosed_at, id",
        (RequestStatus.DISCLOSED, utc_day(now)))]
    released = sum(1 for request_id in due if notify(conn, request_id, disclosure_log.WORKER, now))
    if released:
        log.info("disclosure notices released: %d", released)
    return released
