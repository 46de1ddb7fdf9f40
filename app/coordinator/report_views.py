"""Coordinators reviewing reports: the queue, one report, unsealing it, outcomes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.auth.current import current_account
from app.coordinator import reports
from app.coordinator.key_session import held_vetting_key
from app.coordinator.pages import coordinator_context
from app.web.access import COORDINATOR, allow
from app.web.state import get_db, now

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
                           linked=reports.linked(get_db(), report_id))


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


@bp.post("/<report_id>/malicious")
@allow(COORDINATOR)
def malicious(report_id: str) -> Response:
    _report_or_404(report_id)
    reports.mark_malicious(get_db(), report_id, current_account().id, now())
    flash(_("Marked as malicious or false, and closed. Consider revoking the membership."))
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
