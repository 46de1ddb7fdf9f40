"""Coordinators reviewing reports: the queue, one report, unsealing it, outcomes."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.auth.current import current_account
from app.common.validation import DecisionRefused
from app.coordinator import decision_log, reports
from app.coordinator.forms import MaliciousForm, UndoMaliciousForm
from app.coordinator.key_session import held_vetting_key
from app.coordinator.pages import coordinator_context
from app.support import service as support
from app.web.access import COORDINATOR, allow
from app.web.forms import ConfirmPage
from app.web.state import get_db, load_keys, now

bp = Blueprint("report_review", __name__, url_prefix="/coordinator/reports")
bp.context_processor(coordinator_context)


def _report_or_404(report_id: str) -> reports.ReportSummary:
    report = reports.find(get_db(), report_id)
    if report is None:
        abort(404)
    return report


@bp.get("")
@allow(COORDINATOR)
def queue() -> str:
    return render_template("coordinator/reports.html", reports=reports.queue(get_db()))


@bp.get("/<report_id>")
@allow(COORDINATOR)
def report(report_id: str) -> str:
    return render_template("coordinator/report.html", report=_report_or_404(report_id),
                           linked=reports.linked(get_db(), report_id),
                           decisions=decision_log.on_record(get_db(), f"reports/{report_id}"),
                           support_id=support.for_report(get_db(), report_id))


@bp.post("/<report_id>/unseal")
@allow(COORDINATOR)
def unseal(report_id: str) -> str | tuple[str, int]:
    report = _report_or_404(report_id)
    key = held_vetting_key()
    if key is None:
        return render_template("coordinator/locked.html", report=report), 423
    opened = reports.open_report(get_db(), key, current_account().id, report_id, now())
    return render_template("coordinator/report_unsealed.html", opened=opened,
                           linked=reports.linked(get_db(), report_id))


def _malicious_page(report: reports.ReportSummary, form: MaliciousForm, *,
                    problem: object = None, status: int = 200) -> tuple[str, int]:
    read = reports.has_read(get_db(), current_account().id, report.id)
    page = ConfirmPage(
        title=_("Mark report %(id)s as malicious or false", id=report.id[:8]),
        happens=[_("The report is closed and flagged as malicious or false."),
                 _("The reporter's membership shows the flag, so a coordinator can decide "
                   "whether to revoke it. Nothing is sent to the reporter."),
                 _("The decision, its reason and who took it go into the disclosure log."),
                 _("It can be undone from the report's page if it was a mistake.")],
        action=url_for("report_review.malicious", report_id=report.id),
        button=_("Mark as malicious or false"),
        back=url_for("report_review.report", report_id=report.id),
        blocked=None if read else _("Read the report first"),
        blocked_detail=None if read else _(
            "A report can only be marked as malicious by a coordinator who has read it "
            "since unlocking the vetting key. Reading it writes an entry in the disclosure "
            "log."),
        fix_action=None if read else url_for("report_review.unseal", report_id=report.id),
        fix_button=_("Read the report"))
    return render_template("confirm.html", page=page, form=form, problem=problem), status


@bp.get("/<report_id>/malicious")
@allow(COORDINATOR)
def confirm_malicious(report_id: str) -> tuple[str, int]:
    return _malicious_page(_report_or_404(report_id), MaliciousForm())


@bp.post("/<report_id>/malicious")
@allow(COORDINATOR)
def malicious(report_id: str) -> Response | tuple[str, int]:
    report = _report_or_404(report_id)
    form = MaliciousForm()
    if not form.validate():
        return _malicious_page(report, form, status=400)
    try:
        reports.mark_malicious(get_db(), load_keys(current_app), report_id,
                               current_account().id, now(), reason=form.reason.data or "",
                               note=form.note.data or "", confirmed=bool(form.confirm.data))
    except (reports.OutcomeRefused, DecisionRefused) as refused:
        return _malicious_page(report, form, problem=refused.message, status=409)
    flash(_("Marked as malicious or false, and closed. Consider revoking the membership."))
    return redirect(url_for("report_review.report", report_id=report_id))


def _undo_page(report: reports.ReportSummary, form: UndoMaliciousForm, *,
               problem: object = None, status: int = 200) -> tuple[str, int]:
    page = ConfirmPage(
        title=_("Undo the malicious mark on report %(id)s", id=report.id[:8]),
        happens=[_("The malicious or false flag is taken off the report."),
                 _("The report goes back to the status it had before it was marked."),
                 _("The undo, its reason and who did it go into the disclosure log; the "
                   "original mark stays in the log too.")],
        action=url_for("report_review.undo_malicious", report_id=report.id),
        button=_("Undo the mark"),
        back=url_for("report_review.report", report_id=report.id),
        blocked=None if report.malicious else _("This report is not marked as malicious "
                                                "or false."))
    return render_template("confirm.html", page=page, form=form, problem=problem), status


@bp.get("/<report_id>/malicious/undo")
@allow(COORDINATOR)
def confirm_undo_malicious(report_id: str) -> tuple[str, int]:
    return _undo_page(_report_or_404(report_id), UndoMaliciousForm())


@bp.post("/<report_id>/malicious/undo")
@allow(COORDINATOR)
def undo_malicious(report_id: str) -> Response | tuple[str, int]:
    report = _report_or_404(report_id)
    form = UndoMaliciousForm()
    if not form.validate():
        return _undo_page(report, form, status=400)
    try:
        reports.undo_malicious(get_db(), load_keys(current_app), report_id,
                               current_account().id, now(), reason=form.reason.data or "",
                               note=form.note.data or "", confirmed=bool(form.confirm.data))
    except (reports.OutcomeRefused, DecisionRefused) as refused:
        return _undo_page(report, form, problem=refused.message, status=409)
    flash(_("The malicious mark is taken off, and the report has its earlier status again."))
    return redirect(url_for("report_review.report", report_id=report_id))


@bp.post("/<report_id>/close")
@allow(COORDINATOR)
def close(report_id: str) -> Response:
    _report_or_404(report_id)
    reports.close(get_db(), report_id, current_account().id, now())
    flash(_("Report closed."))
    return redirect(url_for("report_review.report", report_id=report_id))


@bp.post("/<report_id>/alert")
@allow(COORDINATOR)
def alert(report_id: str) -> Response:
    _report_or_404(report_id)
    try:
        alert_id = reports.start_alert_draft(get_db(), report_id, current_account().id, now())
    except reports.ReportWithdrawn:
        flash(_("The reporter withdrew this report: no alert can be made from it."))
        return redirect(url_for("report_review.report", report_id=report_id))
    flash(_("An alert draft has been started from this report."))
    return redirect(url_for("alert_admin.edit", alert_id=alert_id))
