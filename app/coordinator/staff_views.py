"""The coordinators' staff page: who is who, display names, disabling and enabling logins.

Coordinators manage coordinators here. Auditors are listed but changed only by an operator
(`flask --app app staff ...`): an auditor watches coordinators, so a coordinator cannot
switch one off. Disabling and enabling take a confirmation and a reason (a code, logged).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.auth import staff as staff_logins
from app.auth.current import current_account
from app.common.validation import Invalid
from app.coordinator import decision_log
from app.coordinator.forms import DisableStaffForm, EnableStaffForm, StaffLabelForm
from app.coordinator.pages import coordinator_context
from app.web.access import COORDINATOR, allow
from app.web.state import get_db, load_keys, now, state

bp = Blueprint("staff_admin", __name__, url_prefix="/coordinator/staff")
bp.context_processor(coordinator_context)


@bp.get("/")
@allow(COORDINATOR)
def index() -> str:
    return render_template("coordinator/staff.html",
                           staff=staff_logins.list_staff(get_db()), me=current_account().id)


def _coordinator_or_404(account_id: str) -> staff_logins.StaffMember:
    found = staff_logins.by_account_id(get_db(), account_id)
    if found is None or found.role != "coordinator":
        abort(404)
    return found


def _page(member: staff_logins.StaffMember, *, label_form: StaffLabelForm | None = None,
          status_form: DisableStaffForm | EnableStaffForm | None = None,
          problem: str | None = None, status: int = 200) -> tuple[str, int]:
    if status_form is None:
        status_form = DisableStaffForm() if member.status == "active" else EnableStaffForm()
    return render_template("coordinator/staff_member.html", person=member,
                           me=current_account().id,
                           label_form=label_form or StaffLabelForm(label=member.label or ""),
                           status_form=status_form, problem=problem,
                           decisions=decision_log.on_record(get_db(),
                                                            f"accounts/{member.account_id}")
                           ), status


@bp.get("/<account_id>")
@allow(COORDINATOR)
def person(account_id: str) -> tuple[str, int]:
    return _page(_coordinator_or_404(account_id))


@bp.post("/<account_id>/label")
@allow(COORDINATOR)
def label(account_id: str) -> Response | tuple[str, int]:
    member = _coordinator_or_404(account_id)
    form = StaffLabelForm()
    if not form.validate():
        return _page(member, label_form=form, status=400)
    try:
        staff_logins.set_label(get_db(), account_id, form.label.data,
                               actor=current_account().id, now=now())
    except Invalid as invalid:
        form.label.errors = [str(invalid.message)]
        return _page(member, label_form=form, status=400)
    flash(_("The display name is saved."))
    return redirect(url_for("staff_admin.person", account_id=account_id))


@bp.post("/<account_id>/disable")
@allow(COORDINATOR)
def disable(account_id: str) -> Response | tuple[str, int]:
    member = _coordinator_or_404(account_id)
    form = DisableStaffForm()
    if not form.validate():
        return _page(member, status_form=form, status=400)
    try:
        staff_logins.disable(get_db(), account_id, reason=form.reason.data or "",
                             actor=current_account().id, now=now(), unlocks=state().unlocks,
                             note=form.note.data or "", keys=load_keys(current_app))
    except staff_logins.StaffError as error:
        return _page(member, status_form=form, problem=str(error.message), status=409)
    flash(_("The login is disabled: its sessions have ended and any key it unlocked is locked."))
    return redirect(url_for("staff_admin.index"))


@bp.post("/<account_id>/enable")
@allow(COORDINATOR)
def enable(account_id: str) -> Response | tuple[str, int]:
    member = _coordinator_or_404(account_id)
    form = EnableStaffForm()
    if not form.validate():
        return _page(member, status_form=form, status=400)
    try:
        staff_logins.enable(get_db(), account_id, reason=form.reason.data or "",
                            actor=current_account().id, now=now(),
                            note=form.note.data or "", keys=load_keys(current_app))
    except staff_logins.StaffError as error:
        return _page(member, status_form=form, problem=str(error.message), status=409)
    flash(_("The login can sign in again."))
    return redirect(url_for("staff_admin.index"))
