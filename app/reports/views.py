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

from app.auth.current import current_account
from app.common.clock import uk_today
from app.common.labels import REPORT_STATUS_LABELS
from app.reports import service
from app.reports.forms import (
    IDENTIFIER_KINDS,
    AdditionForm,
    ReportForm,
    WithdrawForm,
    read_identifier_rows,
    rows_to_show,
    submission,
)
from app.web.access import MEMBERS, allow
from app.web.forms import show_problems
from app.web.state import get_db, load_keys, now, state

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.context_processor
def report_labels() -> dict[str, object]:
    return {"report_status_labels": REPORT_STATUS_LABELS}


def _form_page(form: ReportForm, rows: list[tuple[str, str]],
               problems: dict[str, object] | None = None, status: int = 200) -> tuple[str, int]:
    show_problems(form, problems)
    return render_template("reports/new.html", form=form, rows=rows, kinds=IDENTIFIER_KINDS,
                           problems=problems or {},
                           max_date=uk_today(now()).isoformat()), status


@bp.get("")
@allow(*MEMBERS)
def mine() -> str:
    reports = service.own_reports(get_db(), current_account().id)
    # Landing here from sending a report: its thank-you and reference come from the
    # record (an id that is not one of the account's own reports shows nothing).
    sent = request.args.get("sent")
    just_sent = next((report for report in reports if report.id == sent), None)
    return render_template("reports/mine.html", reports=reports, just_sent=just_sent)


@bp.route("/new", methods=["GET", "POST"])
@allow(*MEMBERS)
def new() -> Response | tuple[str, int]:
    if request.method != "POST":
        return _form_page(ReportForm(), rows_to_show([], add=False))
    # ReportForm is built only to send the form back; a report that is sent needs none.
    parsed = read_identifier_rows(request.form)
    rows = [(kind, value) for kind, value in parsed.values("kind", "value")]
    if parsed.problem is not None:
        return _form_page(ReportForm(), rows_to_show(rows, add=False),
                          {"identifiers": parsed.problem}, 400)
    if "add_identifier" in request.form:
        return _form_page(ReportForm(), rows_to_show(rows, add=True))
    account = current_account()
    # Counted when a report is sent, not when a row is added to the form.
    if not state().report_limiter.allow(account.id):
        return render_template("reports/too_many.html"), 429
    try:
        sent = service.submit_report(
            get_db(), load_keys(current_app), account_id=account.id,
            member_id=account.member_id,
            submission=submission(request.form, request.form.getlist("categories"), rows),
            now=now())
    except service.ReportInvalid as invalid:
        return _form_page(ReportForm(), rows_to_show(rows, add=False), invalid.problems, 400)
    # The page it lands on reads the reference from the record, not from a flash: a
    # flash rewrote the session cookie here and again on the next page, and that, with
    # the message's translation, was about a seventh of what a sent report cost.
    return redirect(url_for("reports.mine", sent=sent.id))


def _own_or_404(report_id: str) -> service.OwnReport:
    report = service.own_report(get_db(), current_account().id, report_id)
    if report is None:
        abort(404)
    return report


@bp.route("/<report_id>/add", methods=["GET", "POST"])
@allow(*MEMBERS)
def add(report_id: str) -> Response | tuple[str, int]:
    report = _own_or_404(report_id)
    form = AdditionForm()
    if not form.is_submitted():
        return render_template("reports/add.html", form=form, report=report), 200
    try:
        service.add_information(get_db(), load_keys(current_app),
                                account_id=current_account().id, report_id=report_id,
                                text=form.text.data or "", now=now())
    except service.ReportInvalid as invalid:
        show_problems(form, invalid.problems)
        return render_template("reports/add.html", form=form, report=report), 400
    flash(_("Thank you. What you added to report %(reference)s is locked like the report, "
            "and a coordinator will read it.", reference=report.reference))
    return redirect(url_for("reports.mine"))


@bp.route("/<report_id>/withdraw", methods=["GET", "POST"])
@allow(*MEMBERS)
def withdraw(report_id: str) -> Response | tuple[str, int]:
    report = _own_or_404(report_id)
    form = WithdrawForm()
    if not form.is_submitted():
        return render_template("reports/withdraw.html", form=form, report=report), 200
    try:
        service.withdraw(get_db(), account_id=current_account().id, report_id=report_id,
                         now=now())
    except service.ReportInvalid as invalid:
        return render_template("reports/withdraw.html", form=form, report=report,
                               problem=invalid.problems["withdraw"]), 409
    flash(_("Report %(reference)s is withdrawn. Coordinators keep it, marked as withdrawn, "
            "and no alert will be made from it.", reference=report.reference))
    return redirect(url_for("reports.mine"))
