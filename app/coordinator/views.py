from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from app.auth.current import current_account
from app.common.validation import DecisionRefused
from app.coordinator import decision_log, key_session, member_access, vetting
from app.coordinator import reports as report_review
from app.coordinator.forms import (
    ApproveUnreadForm,
    FindMemberForm,
    InfoForm,
    LeaveForm,
    MemberAccessForm,
    QueueFilterForm,
    RejectForm,
    RejectManyForm,
    RevokeForm,
    UnlockForm,
)
from app.coordinator.pages import coordinator_context
from app.membership import decisions as memberships
from app.membership import questions
from app.vault import holders, log
from app.web.access import COORDINATOR, allow
from app.web.forms import ConfirmPage
from app.web.navigation import local_path
from app.web.state import get_db, load_keys, now
from crypto.errors import DamagedKeyFile, KeyFileError, KeyMismatch, WrongPassphrase

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")
_log = logging.getLogger("uglymugs.coordinator")
bp.context_processor(coordinator_context)


@bp.app_template_filter("business_age")
def business_age(hours: float) -> str:
    days, rest = divmod(round(hours * 2) / 2, 8)
    # Formatted first: pybabel skips a gettext call whose arguments hold an f-string.
    # Half hours show as "1.5"; the plural follows the whole hours ("1.5" reads as many).
    left = f"{rest:g}"
    many = 1 if rest == 1 else 2
    if days == 0:
        return ngettext("%(hours)s business hour", "%(hours)s business hours", many,
                        hours=left)
    day_part = ngettext("%(num)d business day", "%(num)d business days", int(days))
    hour_part = ngettext("%(hours)s hour", "%(hours)s hours", many, hours=left)
    return _("%(days)s and %(hours)s", days=day_part, hours=hour_part)


def _application_or_404(member_id: str) -> vetting.Application:
    application = vetting.find(get_db(), member_id, now())
    if application is None:
        abort(404)
    return application


def _queue_page(filter_form: QueueFilterForm, reject_form: RejectManyForm,
                problem: str | None = None, status: int = 200) -> tuple[str, int]:
    wanted = vetting.QueueFilter()
    if filter_form.validate():
        wanted = vetting.QueueFilter(kind=filter_form.kind.data or None,
                                     applied_from=filter_form.applied_from.data,
                                     applied_to=filter_form.applied_to.data)
    elif status == 200:
        status = 400  # a filter that does not read shows every waiting application, and says so
    _index_contacts()
    return render_template("coordinator/queue.html", filter_form=filter_form,
                           reject_form=reject_form, problem=problem,
                           filtered=wanted != vetting.QueueFilter(),
                           applications=vetting.queue(get_db(), now(), wanted)), status


def _index_contacts(first: str | None = None) -> None:
    """With the key unlocked, index the next members not yet checked for duplicates."""
    key, indexer = key_session.held_vetting_key(), key_session.held_indexer()
    if key is None or indexer is None:
        return
    try:
        vetting.index_contacts(get_db(), key, indexer, current_account().id, now(), first)
    except Exception:  # the check is opportunistic: the page must show without it
        # Nothing was opened or written (the unseal's log entry and the indexes share one
        # transaction, rolled back); those members stay "not checked yet" until next time.
        _log.warning("duplicate check skipped: the contacts could not be opened and logged")


@bp.get("/")
@allow(COORDINATOR)
def queue() -> tuple[str, int]:
    return _queue_page(QueueFilterForm(request.args), RejectManyForm())


@bp.post("/reject-applications")
@allow(COORDINATOR)
def reject_many() -> Response | tuple[str, int]:
    """Reject the ticked applications (or every one shown) with one reason."""
    form = RejectManyForm()
    filter_form = QueueFilterForm(request.args)
    if not form.validate():
        return _queue_page(filter_form, form, status=400)
    chosen = request.form.getlist("shown" if form.all_shown.data else "member_ids")
    try:
        done = memberships.reject_many(get_db(), chosen, form.reason.data or "",
                                       current_account().id, now())
    except memberships.DecisionError as error:
        return _queue_page(filter_form, form, problem=str(error.message), status=400)
    flash(ngettext("Rejected %(num)d application.", "Rejected %(num)d applications.", done))
    return redirect(url_for("coordinator.queue"))


@bp.route("/unlock", methods=["GET", "POST"])
@allow(COORDINATOR)
def unlock() -> Response | str | tuple[str, int]:
    form = UnlockForm()
    if not form.is_submitted():
        return render_template("coordinator/unlock.html", form=form)
    if not form.validate():
        return render_template("coordinator/unlock.html", form=form), 400
    data = form.key_file.data.read(key_session.MAX_KEY_FILE_BYTES + 1)
    try:
        key_session.unlock(get_db(), data, form.passphrase.data or "",
                           current_account().id)
    except holders.NotYourHolder:
        problem = _("That key file belongs to another coordinator. Unlock with your own.")
    except holders.SharedVettingKeyFile:
        problem = _("That is the old shared vetting key file, which no longer unlocks "
                    "anything here. Ask the operator to enrol you with a key file of your own.")
    except holders.NotAHolder:
        problem = _("That key file is not, or no longer, a key holder's file for this "
                    "scheme. If you were removed as a key holder, ask the operator.")
    except KeyMismatch:
        problem = _("That file is a key, but not this scheme's vetting key.")
    except WrongPassphrase:
        problem = _("The passphrase does not open that key file. Check it and try again.")
    except (DamagedKeyFile, KeyFileError):
        problem = _("That file is not a vetting key file, or it is damaged.")
    else:
        flash(_("The vetting key is unlocked for 15 minutes, for you only."))
        next_id = request.args.get("next_id")
        if next_id and vetting.find(get_db(), next_id, now()) is not None:
            return redirect(url_for("coordinator.application", member_id=next_id))
        return redirect(local_path(request.args.get("next")) or url_for("coordinator.queue"))
    return render_template("coordinator/unlock.html", form=form, problem=problem), 400


@bp.post("/lock")
@allow(COORDINATOR)
def lock() -> Response:
    key_session.lock()
    flash(_("The vetting key is locked."))
    # Back to the page the coordinator locked from; a locked page there says so.
    return redirect(local_path(request.form.get("next")) or url_for("coordinator.queue"))


def _opened_in_this_unlock(member_id: str) -> bool:
    """Approving on sight needs the details opened since this coordinator's unlock."""
    return key_session.held_vetting_key() is not None and log.opened_since_unlock(
        get_db(), current_account().id, f"members/{member_id}", log.Purpose.VETTING)


def _decide_forms(member_id: str) -> dict[str, object]:
    return {"reject_form": RejectForm(), "info_form": InfoForm(),
            "approve_form": ApproveUnreadForm(),
            "questions": questions.for_application(get_db(), member_id), "answers": None}


@bp.get("/applications/<member_id>")
@allow(COORDINATOR)
def application(member_id: str) -> str:
    _application_or_404(member_id)
    _index_contacts(first=member_id)
    return render_template("coordinator/application.html",
                           application=_application_or_404(member_id),
                           opened=_opened_in_this_unlock(member_id),
                           **_decide_forms(member_id))


@bp.post("/applications/<member_id>/unseal")
@allow(COORDINATOR)
def unseal(member_id: str) -> str | tuple[str, int]:
    application = _application_or_404(member_id)
    key = key_session.held_vetting_key()
    if key is None:
        return render_template("coordinator/locked.html", application=application), 423
    opened = vetting.open_for_vetting(get_db(), key, current_account().id, member_id, now())
    return render_template("coordinator/unsealed.html", opened=opened,
                           **_decide_forms(member_id))


def _decided(action: str, member_id: str, reason: str | None = None) -> Response:
    actor = current_account().id
    try:
        if action == "approve":
            read = _opened_in_this_unlock(member_id)
            memberships.approve(get_db(), member_id, actor, now(), read=read,
                                reason=None if read else reason,
                                keys=load_keys(current_app),
                                vetting_key=key_session.held_vetting_key())
            flash(_("Approved. The applicant can now sign in."))
        elif action == "reject":
            memberships.reject(get_db(), member_id, reason or "", actor, now(),
                               keys=load_keys(current_app))
            flash(_("Rejected."))
    except memberships.DecisionError as error:
        flash(str(error.message))
        return redirect(url_for("coordinator.application", member_id=member_id))
    return redirect(url_for("coordinator.queue"))


@bp.post("/applications/<member_id>/approve")
@allow(COORDINATOR)
def approve(member_id: str) -> Response | tuple[str, int]:
    application = _application_or_404(member_id)
    if _opened_in_this_unlock(member_id):
        return _decided("approve", member_id)
    form = ApproveUnreadForm()
    if not form.validate() or not request.form.get("reason"):
        # Neither read nor a reason: say so, and change nothing.
        form.reason.errors = [_("Open the details first, or choose why you approve "
                                "without reading them.")]
        forms = {**_decide_forms(member_id), "approve_form": form}
        return render_template("coordinator/application.html", application=application,
                               opened=False, **forms), 400
    return _decided("approve", member_id, form.reason.data)


def _decided_with_reason(action: str, member_id: str, form: RejectForm) -> Response:
    _application_or_404(member_id)
    if not form.validate():
        abort(400)
    return _decided(action, member_id, form.reason.data)


@bp.post("/applications/<member_id>/reject")
@allow(COORDINATOR)
def reject(member_id: str) -> Response:
    return _decided_with_reason("reject", member_id, RejectForm())


@bp.post("/applications/<member_id>/request-info")
@allow(COORDINATOR)
def request_info(member_id: str) -> Response | tuple[str, int]:
    application = _application_or_404(member_id)
    form = InfoForm()
    if not form.validate():
        abort(400)
    try:
        memberships.request_info(get_db(), member_id, form.reason.data or "",
                                 form.question.data or "", current_account().id, now())
    except memberships.DecisionError as error:
        # The question typed stays on the page with the reason it was refused.
        form.question.errors = [str(error.message)]
        forms = {**_decide_forms(member_id), "info_form": form}
        return render_template("coordinator/application.html", application=application,
                               opened=_opened_in_this_unlock(member_id), **forms), 400
    flash(_("Your question is in the organisation's account messages. The application "
            "waits for their answer."))
    return redirect(url_for("coordinator.queue"))


@bp.post("/applications/<member_id>/answers")
@allow(COORDINATOR)
def answers(member_id: str) -> str | tuple[str, int]:
    """The organisation's answers, opened with the vetting key (logged, purpose vetting)."""
    application = _application_or_404(member_id)
    key = key_session.held_vetting_key()
    if key is None:
        return render_template("coordinator/locked.html", application=application), 423
    opened = questions.read_answers(get_db(), key, current_account().id, member_id, now())
    forms = {**_decide_forms(member_id), "answers": opened}
    return render_template("coordinator/application.html", application=application,
                           opened=_opened_in_this_unlock(member_id), **forms)


@bp.get("/members")
@allow(COORDINATOR)
def members() -> Response | str | tuple[str, int]:
    find = FindMemberForm(request.args)
    found = None
    if request.args.get("username"):
        if not find.validate():
            abort(400)
        found = vetting.member_id_for_username(get_db(), find.username.data or "")
        if found:
            return redirect(url_for("coordinator.member", member_id=found))
        flash(_("No member has that username."))
    return render_template("coordinator/members.html", find=find,
                           members=vetting.members(get_db(), now()))


# Two forms on one page: the prefixes keep their fields' ids apart.
_TWO_STEP, _RESET = "two_step", "reset_code"


def _member_page(member_id: str, failed: tuple[str, MemberAccessForm] | None = None,
                 status: int = 200) -> tuple[str, int]:
    forms = {prefix: MemberAccessForm(prefix=prefix) for prefix in (_TWO_STEP, _RESET)}
    if failed is not None:
        forms[failed[0]] = failed[1]
    return render_template("coordinator/member.html",
                           member=_application_or_404(member_id),
                           malicious_reports=report_review.malicious_count(get_db(), member_id),
                           access=member_access.access_of(get_db(), member_id),
                           two_step_form=forms[_TWO_STEP], reset_form=forms[_RESET],
                           decisions=decision_log.on_record(get_db(), f"members/{member_id}")
                           ), status


@bp.get("/members/<member_id>")
@allow(COORDINATOR)
def member(member_id: str) -> tuple[str, int]:
    return _member_page(member_id)


@bp.post("/members/<member_id>/reset-two-step")
@allow(COORDINATOR)
def reset_member_two_step(member_id: str) -> Response | tuple[str, int]:
    _application_or_404(member_id)
    form = MemberAccessForm(prefix=_TWO_STEP)
    if not form.validate():
        return _member_page(member_id, (_TWO_STEP, form), 400)
    try:
        member_access.reset_two_step(get_db(), member_id, actor=current_account().id,
                                     now=now())
    except member_access.AccessError as error:
        flash(str(error.message))
        return _member_page(member_id, (_TWO_STEP, form), 409)
    flash(_("Two-step sign-in is off for this member; they can sign in with their password "
            "and turn it on again. They are told in their account."))
    return redirect(url_for("coordinator.member", member_id=member_id))


@bp.post("/members/<member_id>/send-reset-code")
@allow(COORDINATOR)
def send_member_reset_code(member_id: str) -> Response | tuple[str, int]:
    _application_or_404(member_id)
    form = MemberAccessForm(prefix=_RESET)
    if not form.validate():
        return _member_page(member_id, (_RESET, form), 400)
    try:
        member_access.send_reset_code(get_db(), load_keys(current_app), member_id,
                                      actor=current_account().id, now=now())
    except member_access.AccessError as error:
        flash(str(error.message))
        return _member_page(member_id, (_RESET, form), 409)
    flash(_("A password reset code is on its way to the member's own email or mobile. They "
            "use it at the reset page with their username, within 30 minutes."))
    return redirect(url_for("coordinator.member", member_id=member_id))


def _revoke_page(member: vetting.Application, form: RevokeForm, *, problem: object = None,
                 status: int = 200) -> tuple[str, int]:
    page = ConfirmPage(
        title=_("Revoke membership %(id)s", id=member.member_id[:8]),
        happens=[_("The membership ends now, and every login of it is closed at once."),
                 _("Alerts and notices stop reaching the member."),
                 _("The sealed details are kept: the terms say they may be passed to the "
                   "police."),
                 _("The decision, its reason and who took it go into the disclosure log. "
                   "It cannot be undone: a revoked member has to apply again.")],
        action=url_for("coordinator.revoke", member_id=member.member_id),
        button=_("Revoke the membership"),
        back=url_for("coordinator.member", member_id=member.member_id),
        blocked=None if member.status == "active" else _("Only an active membership can "
                                                         "be revoked."))
    return render_template("confirm.html", page=page, form=form, problem=problem), status


@bp.get("/members/<member_id>/revoke")
@allow(COORDINATOR)
def confirm_revoke(member_id: str) -> tuple[str, int]:
    return _revoke_page(_application_or_404(member_id), RevokeForm())


@bp.post("/members/<member_id>/revoke")
@allow(COORDINATOR)
def revoke(member_id: str) -> Response | tuple[str, int]:
    member = _application_or_404(member_id)
    form = RevokeForm()
    if not form.validate():
        return _revoke_page(member, form, status=400)
    try:
        memberships.revoke(get_db(), member_id, form.reason.data or "", current_account().id,
                           now(), keys=load_keys(current_app), note=form.note.data or "",
                           confirmed=bool(form.confirm.data))
    except (memberships.DecisionError, DecisionRefused) as error:
        return _revoke_page(member, form, problem=error.message, status=409)
    flash(_("The membership is revoked and its logins are closed."))
    return redirect(url_for("coordinator.member", member_id=member_id))


def _leave_page(member: vetting.Application, form: LeaveForm, *, problem: object = None,
                status: int = 200) -> tuple[str, int]:
    page = ConfirmPage(
        title=_("Record that member %(id)s has left", id=member.member_id[:8]),
        happens=[_("The member's identity and contact details are deleted at once, and "
                   "cannot be brought back."),
                 _("Every login of the membership is closed."),
                 _("Their reports stay, so they still protect others, but no longer point "
                   "at them."),
                 _("The decision, its reason and who recorded it go into the disclosure "
                   "log.")],
        action=url_for("coordinator.record_leave", member_id=member.member_id),
        button=_("Record that this member has left"),
        back=url_for("coordinator.member", member_id=member.member_id),
        blocked=None if member.status not in ("left", "revoked")
        else _("This membership has already ended."))
    return render_template("confirm.html", page=page, form=form, problem=problem), status


@bp.get("/members/<member_id>/leave")
@allow(COORDINATOR)
def confirm_leave(member_id: str) -> tuple[str, int]:
    return _leave_page(_application_or_404(member_id), LeaveForm())


@bp.post("/members/<member_id>/leave")
@allow(COORDINATOR)
def record_leave(member_id: str) -> Response | tuple[str, int]:
    member = _application_or_404(member_id)
    form = LeaveForm()
    if not form.validate():
        return _leave_page(member, form, status=400)
    try:
        memberships.leave(get_db(), member_id, current_account().id, now(),
                          recorded_by_coordinator=True, reason=form.reason.data or "",
                          confirmed=bool(form.confirm.data))
    except (memberships.DecisionError, DecisionRefused) as error:
        return _leave_page(member, form, problem=error.message, status=409)
    flash(_("Recorded: the member has left, and their details are deleted."))
    return redirect(url_for("coordinator.member", member_id=member_id))


# Where a note's record is shown, so its page is one click back.
_RECORD_PAGES = {"reports": ("report_review.report", "report_id"),
                 "members": ("coordinator.member", "member_id"),
                 "alerts": ("alert_admin.history", "alert_id"),
                 "accounts": ("staff_admin.person", "account_id"),
                 "disclosure_requests": ("disclosures.show", "request_id")}


@bp.post("/notes/<note_id>")
@allow(COORDINATOR)
def read_note(note_id: str) -> str | tuple[str, int]:
    key = key_session.held_vetting_key()
    if key is None:
        return render_template("coordinator/locked.html"), 423
    note = decision_log.read_note(get_db(), key, current_account().id, note_id, now())
    if note is None:
        abort(404)
    kind, _slash, record_id = note.record.partition("/")
    page = _RECORD_PAGES.get(kind)
    values: dict[str, Any] = {} if page is None else {page[1]: record_id}
    back = None if page is None else url_for(page[0], **values)
    return render_template("coordinator/note.html", note=note, back=back)
