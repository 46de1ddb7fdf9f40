"""Asking an organisation's application for more information, and its answers.

This module owns every write to `application_questions`. A coordinator's question is
kept under the database key only (the organisation has no key to open an envelope with,
and the form asks the coordinator to name no one); the organisation's answer is sealed
to the vetting key at once, because an answer can name people, and a coordinator reads it
through app/vault/unseal.py, which logs first. Asking, answering and reading are each in
the disclosure log; the texts never are.

While a question is open the organisation's key contact can sign in, with the applicant
role, to read and answer it (app/auth/accounts.py); the rest of the scheme stays shut.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from app.common import validation
from app.common.clock import stamp
from app.common.ids import new_id
from app.common.validation import Refusal
from app.membership import records
from app.membership.records import MemberStatus
from app.vault import holders, log, outbox, sealing
from app.vault.db import Connection, Row, transaction
from app.vault.unseal import UnsealRequest, unseal
from crypto.keys import BoxPrivateKey, PublicKey

MAX_QUESTION_CHARS = 2_000
MAX_ANSWER_CHARS = 5_000
# An application asked for more is deleted this long after the last question unless it
# is answered (app/worker/retention.py); the organisation is told PURGE_WARNING before.
UNANSWERED_RETENTION = timedelta(days=30)
PURGE_WARNING = timedelta(days=7)


class QuestionInvalid(Refusal, ValueError):
    """A question that cannot be asked or answered; `message` says why."""

    summary = "question refused"


@dataclass(frozen=True)
class Question:
    id: str
    member_id: str
    reason: str
    text: str
    asked_at: datetime
    answered_at: datetime | None

    @property
    def deleted_after(self) -> datetime:
        """When an unanswered application is deleted, counting from this question."""
        return self.asked_at + UNANSWERED_RETENTION


def check_question(text: str) -> str:
    try:
        return validation.multi_line(
            text, max_chars=MAX_QUESTION_CHARS,
            required_message=_l("Write the question the organisation should answer."))
    except validation.Invalid as invalid:
        raise QuestionInvalid(invalid.message) from None


def _question(row: Row) -> Question:
    answered = row["answered_at"]
    return Question(id=row["id"], member_id=row["member_id"], reason=row["reason"],
                    text=row["question"], asked_at=datetime.fromisoformat(row["asked_at"]),
                    answered_at=datetime.fromisoformat(answered) if answered else None)


_SELECT = ("SELECT id, member_id, reason, question, asked_at, answered_at "
           "FROM application_questions")


def for_application(conn: Connection, member_id: str) -> list[Question]:
    """Oldest first, so the exchange reads in order."""
    return [_question(row) for row in conn.execute(
        f"{_SELECT} WHERE member_id = ? ORDER BY asked_at, id", (member_id,))]


def find(conn: Connection, member_id: str, question_id: str) -> Question | None:
    row = conn.execute(f"{_SELECT} WHERE id = ? AND member_id = ?",
                       (question_id, member_id)).fetchone()
    return _question(row) if row else None


def add(conn: Connection, member_id: str, reason: str, text: str, actor_id: str | None,
        now: datetime) -> str:
    """Store a checked question and tell the organisation; in the caller's transaction."""
    if not conn.in_transaction:
        raise RuntimeError("a question is added inside the decision's transaction")
    question_id = new_id()
    conn.execute("INSERT INTO application_questions (id, member_id, reason, question, "
                 "asked_by, asked_at) VALUES (?, ?, ?, ?, ?, ?)",
                 (question_id, member_id, reason, check_question(text), actor_id, stamp(now)))
    # A content-free notice ("a message for you in your account") over their channel.
    outbox.enqueue_for_member(conn, kind=outbox.NoticeKind.MESSAGE, member_id=member_id,
                              dedupe_key=f"question:{question_id}", now=now, applicant=True)
    return question_id


def answer(conn: Connection, vetting_public: PublicKey, member_id: str, account_id: str,
           question_id: str, text: str, now: datetime) -> None:
    """Seal the organisation's answer; the application waits for a coordinator again."""
    try:
        cleaned = validation.multi_line(
            text, max_chars=MAX_ANSWER_CHARS,
            required_message=_l("Write your answer before sending it."))
    except validation.Invalid as invalid:
        raise QuestionInvalid(invalid.message) from None
    # The database's current key, not the caller's file copy: from the moment a rotation
    # starts, nothing new is sealed to the key being retired.
    recipient = holders.current_vetting_public(conn) or vetting_public
    sealed = sealing.seal_group("application_questions", "answer", question_id,
                                {"answer": cleaned}, [recipient])
    with transaction(conn):
        found = records.status_and_kind(conn, member_id)
        if found is None or found[0] not in (MemberStatus.PENDING, MemberStatus.INFO_REQUESTED):
            raise QuestionInvalid(_l("This application has been decided already."))
        updated = conn.execute(
            "UPDATE application_questions SET answer = ?, answered_by = ?, answered_at = ? "
            "WHERE id = ? AND member_id = ? AND answered_at IS NULL",
            (sealed, account_id, stamp(now), question_id, member_id))
        if updated.rowcount != 1:
            raise QuestionInvalid(_l("This question has been answered already."))
        if not conn.execute("SELECT 1 FROM application_questions WHERE member_id = ? AND "
                            "answered_at IS NULL", (member_id,)).fetchone():
            records.set_status(conn, member_id, MemberStatus.PENDING)
        log.append(conn, log.information_answered(at=now, actor=account_id,
                                                  member_id=member_id,
                                                  question_id=question_id))


def read_answers(conn: Connection, key: BoxPrivateKey, actor_id: str, member_id: str,
                 now: datetime) -> dict[str, str]:
    """Question id -> answer, for every answered question; one logged unseal."""
    ids = [row["id"] for row in conn.execute(
        "SELECT id FROM application_questions WHERE member_id = ? AND answered_at IS NOT NULL "
        "ORDER BY asked_at, id", (member_id,))]
    if not ids:
        return {}
    opened = unseal(conn, UnsealRequest(
        actor_id=actor_id, purpose="vetting", table="application_questions", row_ids=ids,
        fields={"answer": ["answer"]}, context={"application": f"members/{member_id}"},
    ), key, now)
    return {qid: opened[qid]["answer"]["answer"] for qid in ids}


def may_sign_in_to_answer(conn: Connection, member_id: str | None) -> bool:
    """An open application that has been asked something may sign in to read it."""
    if member_id is None:
        return False
    return conn.execute(
        "SELECT 1 FROM members m JOIN application_questions q ON q.member_id = m.id "
        "WHERE m.id = ? AND m.status IN ('pending', 'info_requested') LIMIT 1",
        (member_id,)).fetchone() is not None


def delete_for_application(conn: Connection, member_id: str) -> None:
    """Leaving or retention: questions and sealed answers go with the application."""
    conn.execute("DELETE FROM application_questions WHERE member_id = ?", (member_id,))


def warn_before_purge(conn: Connection, now: datetime) -> int:
    """Tell each organisation whose unanswered application will soon be deleted; once.

    Counted from the last question, as the purge is. Returns how many were told.
    """
    due = (now - UNANSWERED_RETENTION + PURGE_WARNING).isoformat(timespec="seconds")
    told = 0
    with transaction(conn):
        rows = conn.execute(
            "SELECT q.id, q.member_id FROM application_questions q "
            "JOIN members m ON m.id = q.member_id WHERE m.status = 'info_requested' "
            "AND q.answered_at IS NULL AND q.purge_warned_at IS NULL AND q.asked_at < ? "
            "AND q.asked_at = (SELECT max(asked_at) FROM application_questions l "
            "                  WHERE l.member_id = q.member_id)", (due,)).fetchall()
        for row in rows:
            conn.execute("UPDATE application_questions SET purge_warned_at = ? WHERE id = ?",
                         (stamp(now), row["id"]))
            outbox.enqueue_for_member(conn, kind=outbox.NoticeKind.MESSAGE,
                                      member_id=row["member_id"],
                                      dedupe_key=f"purge-warning:{row['id']}", now=now,
                                      applicant=True)
            told += 1
    return told
