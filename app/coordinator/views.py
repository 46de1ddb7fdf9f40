from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.auth.current import current_account
from app.coordinator import key_session, vetting
from app.coordinator import reports as report_review
from app.coordinator.forms import FindMemberForm, InfoForm, RejectForm, RevokeForm, UnlockForm
from app.coordinator.pages import coordinator_context
from app.membership import decisions as memberships
from app.web.access import COORDINATOR, allow
from app.web.state import get_db, now
from crypto.errors import DamagedKeyFile, KeyFileError, KeyMismatch, WrongPassphrase

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")
bp.context_processor(coordinator_context)


@bp.app_template_filter("business_age")
def business_age(hours: float) -> str:
    days, rest = divmod(round(hours * 2) / 2, 8)
    # Formatted first: pybabel skips a gettext call whose arguments hold an f-string.
    left = f"{rest:g}"
    if days == 0:
        return _("%(hours)s business hours", hours=left)
    return _("%(days)d business days and %(hours)s hours", days=int(days), hours=left)


def _application_or_404(member_id: str) -> vetting.Application:
    application = vetting.find(get_db(), member_id, now())
    if application is None:
        abort(404)
    return application


@bp.get("/")
@allow(COORDINATOR)
def queue() -> str:
    return render_template("coordinator/queue.html",
                           applications=vetting.queue(get_db(), now()))


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
        return redirect(url_for("coordinator.queue"))
    return render_template("coordinator/unlock.html", form=form, problem=problem), 400


@bp.post("/lock")
@allow(COORDINATOR)
def lock() -> Response:
    key_session.lock()
    flash(_("The vetting key is locked."))
    return redirect(url_for("coordinator.queue"))


@bp.get("/applications/<member_id>")
@allow(COORDINATOR)
def application(member_id: str) -> str:
    return render_template("coordinator/application.html",
                           application=_application_or_404(member_id),
                           reject_form=RejectForm(), info_form=InfoForm())


@bp.post("/applications/<member_id>/unseal")
@allow(COORDINATOR)
def unseal(member_id: str) -> str | tuple[str, int]:
    application = _application_or_404(member_id)
    key = key_session.held_vetting_key()
    if key is None:
        return render_template("coordinator/locked.html", application=application), 423
    opened = vetting.open_for_vetting(get_db(), key, current_account().id, member_id, now())
    return render_template("coordinator/unsealed.html", opened=opened,
                           reject_form=RejectForm(), info_form=InfoForm())


def _decided(action: str, member_id: str, reason: str | None = None) -> Response:
    actor = current_account().id
    try:
        if action == "approve":
            memberships.approve(get_db(), member_id, actor, now())
            flash(_("Approved. The applicant can now sign in."))
        elif action == "reject":
            memberships.reject(get_db(), member_id, reason or "", actor, now())
            flash(_("Rejected."))
        else:
            memberships.request_info(get_db(), member_id, reason or "", actor, now())
            flash(_("Marked as waiting for more information."))
    except memberships.DecisionError as error:
        flash(str(error.message))
        return redirect(url_for("coordinator.application", member_id=member_id))
    return redirect(url_for("coordinator.queue"))


@bp.post("/applications/<member_id>/approve")
@allow(COORDINATOR)
def approve(member_id: str) -> Response:
    _application_or_404(member_id)
    return _decided("approve", member_id)


def _decided_with_reason(action: str, member_id: str, form: RejectForm | InfoForm) -> Response:
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
def request_info(member_id: str) -> Response:
    return _decided_with_reason("request_info", member_id, InfoForm())


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


@bp.get("/members/<member_id>")
@allow(COORDINATOR)
def member(member_id: str) -> str:
    return render_template("coordinator/member.html",
                           member=_application_or_404(member_id), revoke_form=RevokeForm(),
                           malicious_reports=report_review.malicious_count(get_db(), member_id))


@bp.post("/members/<member_id>/revoke")
@allow(COORDINATOR)
def revoke(member_id: str) -> Response:
    _application_or_404(member_id)
    form = RevokeForm()
    if not form.validate():
        abort(400)
    try:
        memberships.revoke(get_db(), member_id, form.reason.data, current_account().id, now())
        flash(_("The membership is revoked and its logins are closed."))
    except memberships.DecisionError as error:
        flash(str(error.message))
    return redirect(url_for("coordinator.member", member_id=member_id))


@bp.post("/members/<member_id>/leave")
@allow(COORDINATOR)
def record_leave(member_id: str) -> Response:
    _application_or_404(member_id)
    try:
        memberships.leave(get_db(), member_id, current_account().id, now(),
                          recorded_by_coordinator=True)
        flash(_("Recorded: the member has left, and their details are deleted."))
    except memberships.DecisionError as error:
        flash(str(error.message))
    return redirect(url_for("coordinator.member", member_id=member_id))

