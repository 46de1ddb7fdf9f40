"""Coordinators' disclosure pages (/coordinator/disclosures).

Coordinators only, for everything under /coordinator/disclosures; auditors see the
results in the disclosure log, never a sealed field. Reading a request's sealed details,
disclosing and a police export with sealed fields need the vetting key unlocked (423
otherwise) and each writes its disclosure-log entry before anything opens.
"""

from __future__ import annotations

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
from werkzeug.wrappers import Response

from app.audit.browse import staff_names
from app.auth.current import current_account
from app.common import choices
from app.common.clock import utc_day
from app.common.labels import STATUS_LABELS
from app.common.validation import DecisionRefused
from app.coordinator import decision_log
from app.coordinator.key_session import held_vetting_key, unlocked_until
from app.coordinator.reports import find as find_report
from app.disclosures import codes, contact, export, service
from app.disclosures.forms import (
    ContactForm,
    DecisionForm,
    DelayForm,
    DiscloseForm,
    ExportForm,
    RefuseForm,
    RequestForm,
)
from app.web.access import COORDINATOR, allow
from app.web.forms import ConfirmPage, show_problems
from app.web.state import get_db, load_keys, now

bp = Blueprint("disclosures", __name__, url_prefix="/coordinator/disclosures")



@bp.context_processor
def disclosure_globals() -> dict[str, object]:
    return {"unlocked_until": unlocked_until(), "status_labels": STATUS_LABELS,
            "area_labels": dict(choices.AREAS),
            "category_labels": dict(choices.REPORT_CATEGORIES), **codes.page_labels()}


def _request_or_404(request_id: str) -> service.DisclosureRequest:
    found = service.find(get_db(), request_id)
    if found is None:
        abort(404)
    return found


def _contact_or_404(contact_id: str) -> contact.ContactRequest:
    found = contact.find(get_db(), contact_id)
    if found is None:
        abort(404)
    return found


def _not_allowed(error: service.NotAllowed, request_id: str | None = None
                 ) -> tuple[str, int]:
    return render_template("disclosures/not_allowed.html", message=error.message,
                           request_id=request_id), error.status


def _locked(back: str) -> tuple[str, int]:
    return render_template("disclosures/locked.html", back=back), 423


@bp.get("/")
@allow(COORDINATOR)
def index() -> str:
    conn = get_db()
    return render_template("disclosures/index.html", requests=service.listing(conn),
                           contacts=contact.listing(conn), staff=staff_names(conn),
                           me=current_account().id)


def _request_form_page(form: RequestForm, problems: dict[str, object] | None = None,
                       status: int = 200) -> tuple[str, int]:
    show_problems(form, problems)
    return render_template("disclosures/new.html", form=form, problems=problems or {},
                           fields_by_table=codes.FIELDS), status


@bp.route("/new", methods=["GET", "POST"])
@allow(COORDINATOR)
def new() -> Response | tuple[str, int]:
    form = RequestForm()
    if not form.is_submitted():
        consent = request.args.get("consent", "")
        found = contact.find(get_db(), consent) if consent else None
        if found is not None:
            form.legal_basis.data = "consent"
            form.contact_request_id.data = found.id
            form.subject_table.data = "members"
            form.record_ids.data = found.member_id
            form.fields.data = found.field_codes
            form.authority.data = found.authority
        # Started from a member's or a report's page: that record, whole, already chosen.
        table, record_id = request.args.get("subject_table", ""), request.args.get("record", "")
        if found is None and service.record_exists(get_db(), table, record_id):
            form.subject_table.data = table
            form.record_ids.data = record_id
        return _request_form_page(form)
    if not form.validate():
        abort(400)
    submission = service.RequestSubmission(
        authority=form.authority.data or "", requester=form.requester.data or "",
        reference=form.reference.data or "", legal_basis=form.legal_basis.data or "",
        subject_table=form.subject_table.data or "", record_ids=form.record_ids.data or "",
        fields=list(form.fields.data or []), justification=form.justification.data or "",
        contact_request_id=form.contact_request_id.data or "", delay=bool(form.delay.data),
        delay_reason=form.delay_reason.data or "", review_on=form.review_on.data or "")
    try:
        request_id = service.record_request(get_db(), load_keys(current_app),
                                            current_account().id, submission, now())
    except service.RequestInvalid as invalid:
        return _request_form_page(form, invalid.problems, 400)
    flash(_("The request is recorded. A second, different coordinator must approve it "
            "before anything is disclosed."))
    return redirect(url_for("disclosures.show", request_id=request_id))


def _show(found: service.DisclosureRequest, details: service.RequestDetails | None = None,
          refuse_form: RefuseForm | None = None, delay_form: DelayForm | None = None,
          problems: dict[str, object] | None = None, status: int = 200) -> tuple[str, int]:
    conn = get_db()
    return render_template(
        "disclosures/request.html", req=found, details=details, staff=staff_names(conn),
        me=current_account().id, decision_form=DecisionForm(),
        refuse_form=refuse_form or RefuseForm(), delay_form=delay_form or DelayForm(),
        problems=problems or {}, members_concerned=_members_concerned(found),
        today=utc_day(now()),
        decisions=decision_log.on_record(conn, f"disclosure_requests/{found.id}")), status


def _members_concerned(found: service.DisclosureRequest) -> list[str]:
    from app.disclosures.notices import members_concerned

    return members_concerned(get_db(), found.subject_table, list(found.record_ids))


@bp.get("/<request_id>")
@allow(COORDINATOR)
def show(request_id: str) -> tuple[str, int]:
    return _show(_request_or_404(request_id))


@bp.post("/<request_id>/details")
@allow(COORDINATOR)
def details(request_id: str) -> tuple[str, int]:
    found = _request_or_404(request_id)
    key = held_vetting_key()
    if key is None:
        return _locked(url_for("disclosures.show", request_id=request_id))
    opened = service.read_details(get_db(), key, request_id, current_account().id, now())
    return _show(found, details=opened)


@bp.post("/<request_id>/approve")
@allow(COORDINATOR)
def approve(request_id: str) -> Response | tuple[str, int]:
    found = _request_or_404(request_id)
    form = DecisionForm()
    if not form.validate():
        abort(400)
    if found.requested_by == current_account().id:
        return _not_allowed(service.NotAllowed(
            _("You recorded this request, so you cannot approve it: a second, different "
              "coordinator must."), 403), request_id)
    if not form.read_it.data:
        flash(_("Confirm that you have read the request before approving it."))
        return redirect(url_for("disclosures.show", request_id=request_id))
    try:
        service.approve(get_db(), request_id, current_account().id, now())
    except service.NotAllowed as error:
        return _not_allowed(error, request_id)
    flash(_("Approved. The coordinator who recorded the request can now disclose it, once."))
    return redirect(url_for("disclosures.show", request_id=request_id))


@bp.post("/<request_id>/refuse")
@allow(COORDINATOR)
def refuse(request_id: str) -> Response | tuple[str, int]:
    found = _request_or_404(request_id)
    form = RefuseForm()
    if not form.validate():
        abort(400)
    try:
        service.refuse(get_db(), load_keys(current_app), request_id, current_account().id,
                       form.reason.data or "", form.note.data or "", now())
    except service.RequestInvalid as invalid:
        show_problems(form, invalid.problems)
        return _show(found, refuse_form=form, problems=invalid.problems, status=400)
    except service.NotAllowed as error:
        return _not_allowed(error, request_id)
    flash(_("Refused. Nothing was disclosed; the reason is recorded."))
    return redirect(url_for("disclosures.show", request_id=request_id))


def _disclose_page(found: service.DisclosureRequest, form: DiscloseForm, *,
                   problem: object = None, status: int = 200) -> tuple[str, int]:
    happens = [_("The details asked for are opened once, on a page you can print or save "
                 "as PDF for the requester. They cannot be shown again: print the page "
                 "before you leave it."),
               _("The disclosure log entry is written first, naming you, the approver, "
                 "your reason and any note."),
               _("The member's notice is held back until after %(date)s (UTC).",
                 date=found.notice_review_on) if found.delayed else
               _("The member is told at once: a message in their account, and a notice "
                 "through the channel they chose."),
               _("A disclosure cannot be undone.")]
    page = ConfirmPage(
        title=_("Disclose request %(id)s now", id=found.id[:8]),
        happens=happens,
        action=url_for("disclosures.disclose", request_id=found.id),
        button=_("Disclose now, once"),
        back=url_for("disclosures.show", request_id=found.id),
        blocked=None if found.status == "approved" and found.requested_by == current_account().id
        else _("Only an approved request can be disclosed, by the coordinator who "
               "recorded it."))
    return render_template("confirm.html", page=page, form=form, problem=problem), status


@bp.get("/<request_id>/disclose")
@allow(COORDINATOR)
def confirm_disclose(request_id: str) -> tuple[str, int]:
    return _disclose_page(_request_or_404(request_id), DiscloseForm())


@bp.post("/<request_id>/disclose")
@allow(COORDINATOR)
def disclose(request_id: str) -> tuple[str, int]:
    found = _request_or_404(request_id)
    form = DiscloseForm()
    if not form.validate():
        return _disclose_page(found, form, status=400)
    key = held_vetting_key()
    if key is None:
        return _locked(url_for("disclosures.show", request_id=request_id))
    try:
        done = service.disclose(get_db(), key, request_id, current_account().id, now(),
                                keys=load_keys(current_app), reason=form.reason.data or "",
                                note=form.note.data or "", confirmed=bool(form.confirm.data))
    except DecisionRefused as refused:
        return _disclose_page(found, form, problem=refused.message, status=400)
    except service.NotAllowed as error:
        return _not_allowed(error, request_id)
    except LookupError:
        return _not_allowed(service.NotAllowed(
            _("A record in this request no longer exists, so nothing was disclosed."), 409),
            request_id)
    return render_template("disclosures/disclosed.html", done=done, req=done.request,
                           sections=service.printable(done.request, done.opened),
                           staff=staff_names(get_db()), generated_at=now()), 200


@bp.post("/<request_id>/delay")
@allow(COORDINATOR)
def extend_delay(request_id: str) -> Response | tuple[str, int]:
    found = _request_or_404(request_id)
    form = DelayForm()
    if not form.validate():
        abort(400)
    try:
        service.extend_delay(get_db(), request_id, current_account().id,
                             form.delay_reason.data or "", form.review_on.data or "", now())
    except service.RequestInvalid as invalid:
        show_problems(form, invalid.problems)
        return _show(found, delay_form=form, problems=invalid.problems, status=400)
    except service.NotAllowed as error:
        return _not_allowed(error, request_id)
    flash(_("The member's notice stays held back until after the new review date."))
    return redirect(url_for("disclosures.show", request_id=request_id))


@bp.post("/<request_id>/notify")
@allow(COORDINATOR)
def notify_now(request_id: str) -> Response | tuple[str, int]:
    _request_or_404(request_id)
    if not DecisionForm().validate():
        abort(400)
    try:
        service.notify_now(get_db(), request_id, current_account().id, now())
    except service.NotAllowed as error:
        return _not_allowed(error, request_id)
    flash(_("The member is being told."))
    return redirect(url_for("disclosures.show", request_id=request_id))


# Acting as intermediary.

def _contact_form_page(form: ContactForm, problems: dict[str, object] | None = None,
                       status: int = 200) -> tuple[str, int]:
    show_problems(form, problems)
    return render_template("disclosures/contact_new.html", form=form,
                           problems=problems or {}), status


@bp.route("/contact/new", methods=["GET", "POST"])
@allow(COORDINATOR)
def contact_new() -> Response | tuple[str, int]:
    form = ContactForm()
    if not form.is_submitted():
        report_id = request.args.get("report_id", "")
        if report_id and find_report(get_db(), report_id) is not None:
            form.report_id.data = report_id
        return _contact_form_page(form)
    if not form.validate():
        abort(400)
    submission = contact.ContactSubmission(
        report_id=form.report_id.data or "", authority=form.authority.data or "",
        reason=form.reason.data or "", fields=list(form.fields.data or []),
        requester=form.requester.data or "", reference=form.reference.data or "",
        note=form.note.data or "")
    try:
        contact_id = contact.send_contact_request(get_db(), load_keys(current_app),
                                                  current_account().id, submission, now())
    except service.RequestInvalid as invalid:
        return _contact_form_page(form, invalid.problems, 400)
    flash(_("The member has a message in their account, and a notice if they chose a "
            "channel. Nothing about them goes to the requester unless they say yes."))
    return redirect(url_for("disclosures.contact_show", contact_id=contact_id))


@bp.get("/contact/<contact_id>")
@allow(COORDINATOR)
def contact_show(contact_id: str) -> str:
    return render_template("disclosures/contact.html", c=_contact_or_404(contact_id),
                           details=None, staff=staff_names(get_db()))


@bp.post("/contact/<contact_id>/details")
@allow(COORDINATOR)
def contact_details(contact_id: str) -> str | tuple[str, int]:
    found = _contact_or_404(contact_id)
    key = held_vetting_key()
    if key is None:
        return _locked(url_for("disclosures.contact_show", contact_id=contact_id))
    opened = contact.read_details(get_db(), key, contact_id, current_account().id, now())
    return render_template("disclosures/contact.html", c=found, details=opened,
                           staff=staff_names(get_db()))


# Consented sharing with police intelligence.

def _export_page(form: ExportForm, problems: dict[str, object] | None = None,
                 status: int = 200) -> tuple[str, int]:
    return render_template("disclosures/export.html", form=form,
                           reports=export.consented(get_db()),
                           problems=problems or {}), status


@bp.route("/export", methods=["GET", "POST"])
@allow(COORDINATOR)
def police_export() -> Response | tuple[str, int]:
    form = ExportForm()
    if not form.is_submitted():
        return _export_page(form)
    if not form.validate():
        abort(400)
    choice = export.ExportChoice(
        report_ids=list(form.report_ids.data or []), offender=bool(form.offender.data),
        narrative=bool(form.narrative.data),
        reporter_details=bool(form.reporter_details.data))
    try:
        body = export.build_export(get_db(), held_vetting_key(), current_account().id,
                                   choice, now())
    except service.RequestInvalid as invalid:
        return _export_page(form, invalid.problems, 400)
    except export.NeedsKey:
        return _locked(url_for("disclosures.police_export"))
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="police-intelligence-{now().date().isoformat()}.csv"')
    response.headers["Cache-Control"] = "no-store"
    return response
