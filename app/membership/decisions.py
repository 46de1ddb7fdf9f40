"""A membership's life after applying: approve, reject, ask for more, revoke, leave.

Plain functions over a connection. Each writes its decision row (who, what, when) in the
same transaction as the change it records. Reasons are codes from fixed lists, so no
free text about a person is ever stored beside a decision.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.auth import accounts
from app.common import choices, validation
from app.common.choices import RevokeReason
from app.common.validation import Refusal
from app.membership import questions, records
from app.membership.records import Decision, MemberStatus
from app.reports import records as report_records
from app.vault import decision_notes, holders, log, outbox
from app.vault.db import Connection, transaction
from crypto.keys import BoxPrivateKey
from crypto.keystore import ServerKeys

REJECT_REASONS = {
    "unverifiable": _l("We could not confirm the details given"),
    "duplicate": _l("The applicant is already a member"),
    "not_eligible": _l("The application is outside who the scheme is for"),
    "organisation_unverified": _l("The organisation's website or email could not be checked"),
    "not_genuine": _l("The application is not a genuine request to join"),
}
INFO_REASONS = {
    "website": _l("We need to check the organisation's website"),
    "official_email": _l("We need an official email address on the website's domain"),
    "work_with_sex_workers": _l("We need to know more about the work with sex workers"),
}
# Approving without having opened the application in this unlock needs one of these.
APPROVE_UNREAD_REASONS = {
    "vetted_by_colleague": _l("Another coordinator has already vetted it"),
    "known_in_person": _l("The applicant is known to the scheme in person"),
    "referred_by_partner": _l("Referred by a partner organisation that vetted them"),
}
REVOKE_REASONS = {
    RevokeReason.FALSE_MEMBERSHIP.value: _l("False membership"),
    RevokeReason.MALICIOUS_REPORTING.value: _l("Malicious or false reporting"),
}

OPEN_APPLICATION = (MemberStatus.PENDING, MemberStatus.INFO_REQUESTED)


class DecisionError(Refusal):
    """The decision does not fit the membership's current state; `message` says why."""

    summary = "decision refused"


def _status(conn: Connection, member_id: str) -> tuple[str, str]:
    found = records.status_and_kind(conn, member_id)
    if found is None:
        raise DecisionError(_l("There is no such membership."))
    return found


def approve(conn: Connection, member_id: str, actor_id: str, now: datetime, *, read: bool,
            reason: str | None = None, keys: ServerKeys | None = None,
            vetting_key: BoxPrivateKey | None = None) -> None:
    """Approve; a member who chose push alerts gets the delivery wrap, then the notice.

    `read`: the coordinator opened the application in this unlock; if not, a reason.
    The wrap needs the unlocked vetting key. Without it the member is approved all the
    same, and `catch_up_delivery` adds the wrap and queues the approval notice at the
    next unlock, so nothing is queued that the worker could not open.
    """
    if not read and reason not in APPROVE_UNREAD_REASONS:
        raise DecisionError(_l("Open the application first, or choose why you approve it "
                               "without reading it."))
    with transaction(conn):
        status, _kind = _status(conn, member_id)
        if status not in OPEN_APPLICATION:
            raise DecisionError(_l("Only an application still waiting can be approved."))
        records.set_status(conn, member_id, MemberStatus.ACTIVE, decided_at=now)
        reachable = (keys is not None and vetting_key is not None
                     and records.grant_delivery(conn, keys, member_id, vetting_key))
        accounts.activate_for_member(conn, member_id)
        records.record_decision(conn, member_id, Decision.APPROVE, None if read else reason,
                                actor_id, now)
        log.append(conn, log.application_approved(at=now, actor=actor_id, member_id=member_id,
                                                  read=read, reason=None if read else reason))
        if reachable:
            # The applicant learns over their chosen channel that they can sign in.
            _queue_approval_notice(conn, member_id, now)


def _queue_approval_notice(conn: Connection, member_id: str, now: datetime) -> None:
    outbox.enqueue_for_member(conn, kind="approval", member_id=member_id,
                              dedupe_key=f"approval:{member_id}", now=now)


def catch_up_delivery(conn: Connection, keys: ServerKeys, vetting_key: BoxPrivateKey,
                      now: datetime) -> int:
    """At an unlock: wrap for delivery every active push member approved without the key.

    Their approval notice goes out now (once: the outbox's dedupe key). Returns how many
    members were caught up.
    """
    with transaction(conn):
        waiting = records.active_without_delivery(conn, keys)
        for member_id in waiting:
            records.grant_delivery(conn, keys, member_id, vetting_key)
            _queue_approval_notice(conn, member_id, now)
    return len(waiting)


def reject(conn: Connection, member_id: str, reason: str, actor_id: str,
           now: datetime, *, keys: ServerKeys | None = None) -> None:
    if reason not in REJECT_REASONS:
        raise DecisionError(_l("Choose a reason from the list."))
    with transaction(conn):
        status, _kind = _status(conn, member_id)
        if status not in OPEN_APPLICATION:
            raise DecisionError(_l("Only an application still waiting can be rejected."))
        records.set_status(conn, member_id, MemberStatus.REJECTED, decided_at=now)
        if keys is not None:
            records.revoke_delivery(conn, keys, member_id)
        accounts.close_for_member(conn, member_id)
        records.record_decision(conn, member_id, Decision.REJECT, reason, actor_id, now)
        log.append(conn, log.application_rejected(at=now, actor=actor_id, member_id=member_id,
                                                  reason=reason))


# At most this many applications rejected by one decision of a coordinator's.
MAX_REJECTED_AT_ONCE = 1000


def reject_many(conn: Connection, member_ids: list[str], reason: str, actor_id: str,
                now: datetime) -> int:
    """Reject several waiting applications with one reason, each decision recorded as one.

    One transaction: if any of them cannot be rejected (decided meanwhile, or no such
    application), none is, and DecisionError says why.
    """
    wanted = list(dict.fromkeys(member_ids))
    if not wanted:
        raise DecisionError(_l("Choose the applications to reject."))
    if len(wanted) > MAX_REJECTED_AT_ONCE:
        raise DecisionError(_l("Reject at most %(count)d applications at once.",
                               count=MAX_REJECTED_AT_ONCE))
    with transaction(conn):
        for member_id in wanted:
            reject(conn, member_id, reason, actor_id, now)
    return len(wanted)


def request_info(conn: Connection, member_id: str, reason: str, question: str,
                 actor_id: str | None, now: datetime) -> str:
    """Ask an organisation's application a question (again, if need be); its id.

    The question is shown to the organisation, so it is checked here, and the 30-day
    purge of an unanswered application counts from the latest one.
    """
    if reason not in INFO_REASONS:
        raise DecisionError(_l("Choose what you need from the list."))
    try:
        questions.check_question(question)
    except questions.QuestionInvalid as invalid:
        raise DecisionError(invalid.message) from None
    with transaction(conn):
        status, kind = _status(conn, member_id)
        if kind == "individual":
            raise DecisionError(_l("More information is asked of organisations only."))
        if status not in OPEN_APPLICATION:
            raise DecisionError(_l("Only a waiting application can be asked for more."))
        records.set_status(conn, member_id, MemberStatus.INFO_REQUESTED)
        records.record_decision(conn, member_id, Decision.REQUEST_INFO, reason, actor_id, now)
        question_id = questions.add(conn, member_id, reason, question, actor_id, now)
        log.append(conn, log.information_requested(at=now, actor=actor_id,
                                                   member_id=member_id, reason=reason,
                                                   question_id=question_id))
    return question_id


def revoke(conn: Connection, member_id: str, reason: str, actor_id: str,
           now: datetime, *, keys: ServerKeys | None = None, note: str = "",
           confirmed: bool = False) -> None:
    """End a membership for false membership or malicious reporting.

    Takes a confirmation, a listed reason and an optional note (sealed to the vetting key,
    so it needs `keys`). The sealed details are kept: the terms say they may be passed to
    the police.
    """
    reason, text = validation.decision_inputs(reason, REVOKE_REASONS, note,
                                              confirmed=confirmed)
    if text is not None and keys is None:
        raise ValueError("a note is sealed to the vetting key: pass the server's keys")
    with transaction(conn):
        status, _kind = _status(conn, member_id)
        if status != MemberStatus.ACTIVE:
            raise DecisionError(_l("Only an active membership can be revoked."))
        note_id = None if text is None or keys is None else decision_notes.add(
            conn, holders.vetting_recipient(conn, keys), event=log.Event.MEMBERSHIP_REVOKED,
            record=f"members/{member_id}", actor_id=actor_id, text=text, now=now)
        records.set_status(conn, member_id, MemberStatus.REVOKED, decided_at=now)
        if keys is not None:
            records.revoke_delivery(conn, keys, member_id)
        accounts.close_for_member(conn, member_id)
        records.record_decision(conn, member_id, Decision.REVOKE, reason, actor_id, now)
        log.append(conn, log.membership_revoked(at=now, actor=actor_id, member_id=member_id,
                                                reason=reason, note_id=note_id))


def leave(conn: Connection, member_id: str, actor_id: str | None, now: datetime, *,
          recorded_by_coordinator: bool = False, reason: str = "",
          confirmed: bool = False) -> None:
    """Leave at once: delete identity, contact and their indexes; disable every login.

    secure_delete (set on every connection) overwrites the freed pages, so the envelopes
    do not linger in the file. Reports stay, no longer linked to the member. A coordinator
    recording it confirms and says how the member asked, from a list. No note: the
    member's details are deleted, and a free-text note could name them and outlive that.
    """
    code: str | None = None
    if recorded_by_coordinator:
        code, _no_note = validation.decision_inputs(
            reason, choices.values(choices.LEAVE_REASONS), "", confirmed=confirmed)
    with transaction(conn):
        status, _kind = _status(conn, member_id)
        if status in (MemberStatus.LEFT, MemberStatus.REVOKED):
            raise DecisionError(_l("This membership has already ended."))
        records.erase_details(conn, member_id, now)
        questions.delete_for_application(conn, member_id)
        # Reports stay (they protect others) but no longer point at the member.
        report_records.forget_reporter(conn, member_id)
        accounts.close_for_member(conn, member_id)
        records.record_decision(
            conn, member_id, Decision.LEAVE_RECORDED if recorded_by_coordinator
            else Decision.LEAVE, code, actor_id, now)
        log.append(conn, log.leave_recorded(at=now, actor=actor_id, member_id=member_id,
                                            by_member=not recorded_by_coordinator,
                                            reason=code))
