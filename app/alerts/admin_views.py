"""Coordinators composing, previewing, publishing, editing and withdrawing alerts."""

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
from flask_babel import ngettext
from werkzeug.wrappers import Response

from app.alerts import cards, service
from app.alerts.forms import (
    AlertForm,
    UndoWithdrawForm,
    WithdrawForm,
    draft_from,
    fill_form,
    identifier_problem,
    rows_with_choice,
)
from app.auth.current import current_account
from app.common import choices, identifiers
from app.common.clock import uk_today
from app.common.labels import ALERT_STATUS_LABELS, REPORT_STATUS_LABELS
from app.common.validation import DecisionRefused
from app.coordinator import reports as report_review
from app.coordinator.key_session import held_vetting_key
from app.reports.forms import IDENTIFIER_KINDS
from app.web.access import COORDINATOR, allow
from app.web.forms import ConfirmPage, show_problems
from app.web.state import get_db, load_keys, now
from crypto.blind_index import BlindIndexer

bp = Blueprint("alert_admin", __name__, url_prefix="/coordinator/alerts")
BLANK_ROWS = 3


@bp.context_processor
def labels() -> dict[str, object]:
    return {"category_labels": dict(choices.REPORT_CATEGORIES),
            "area_labels": dict(choices.AREAS), "identifier_labels": identifiers.KINDS,
            "report_status_labels": REPORT_STATUS_LABELS,
            "alert_status_labels": ALERT_STATUS_LABELS}


def _indexer() -> BlindIndexer:
    return BlindIndexer(load_keys(current_app).index_key)


def _alert_or_404(alert_id: str) -> service.Alert:
    alert = service.get(get_db(), alert_id)
    if alert is None:
        abort(404)
    return alert


def _page(alert: service.Alert, form: AlertForm, rows: list[tuple[str, str, bool]], *,
          problems: dict[str, object] | None = None, preview: service.AlertDraft | None = None,
          status: int = 200, incident_date: str | None = None) -> tuple[str, int]:
    show_problems(form, problems)
    shown = rows + [("phone", "", False)] * BLANK_ROWS
    date_value = request.form.get("incident_date", incident_date or alert.incident_date)
    return render_template("alerts/edit.html", alert=alert, form=form, rows=shown,
                           kinds=IDENTIFIER_KINDS, problems=problems or {}, preview=preview,
                           date_value=date_value), status


def _from_report_facts(form: AlertForm, alert: service.Alert) -> str | None:
    """A new alert from a report starts with the report's area, categories and date.

    Only the report's unsealed facts: nothing is opened, so nothing needs the key or a
    log entry. Returns the incident date to show, or None when there is nothing to carry.
    """
    if alert.version or alert.report_id is None:
        return None
    report = report_review.find(get_db(), alert.report_id)
    if report is None:
        return None
    if report.area in choices.values(choices.AREAS):
        form.areas.data = [report.area]
    form.categories.data = [c for c in report.categories
                            if c in choices.values(choices.REPORT_CATEGORIES)]
    return report.incident_date


@bp.get("/")
@allow(COORDINATOR)
def index() -> str:
    return render_template("alerts/admin_list.html", alerts=service.all_alerts(get_db()))


@bp.post("/new")
@allow(COORDINATOR)
def new() -> Response:
    alert_id = service.create(get_db(), current_account().id, now())
    return redirect(url_for("alert_admin.edit", alert_id=alert_id))


@bp.get("/<alert_id>")
@allow(COORDINATOR)
def edit(alert_id: str) -> tuple[str, int]:
    alert = _alert_or_404(alert_id)
    form = AlertForm()
    fill_form(form, alert)
    incident_date = _from_report_facts(form, alert)
    rows = [(i["kind"], i["value"], True) for i in alert.identifiers]
    return _page(alert, form, rows, incident_date=incident_date)


@bp.post("/<alert_id>")
@allow(COORDINATOR)
def change(alert_id: str) -> Response | tuple[str, int]:
    alert = _alert_or_404(alert_id)
    form = AlertForm()
    rows = [(kind, value, publish) for kind, value, publish in rows_with_choice(request.form)
            if value.strip()]
    problem = identifier_problem(request.form)
    if problem is not None:
        return _page(alert, form, rows, problems={"identifiers": problem}, status=400)
    action = request.form.get("action", "preview")
    if action == "from_report":
        return _from_report(alert, form, rows)
    draft = draft_from(form, rows, request.form.get("incident_date", ""))
    try:
        checked = service.check_draft(draft, uk_today(now()))
        if action == "preview":
            return _page(alert, form, rows, preview=checked)
        notify_again = request.form.get("notify_again", "")
        if alert.status == service.AlertStatus.PUBLISHED and notify_again not in ("yes", "no"):
            return _page(alert, form, rows, status=400, problems={"notify_again": _(
                "Say whether members should be notified again: the alert is published.")})
        version = service.save(get_db(), _indexer(), alert_id, draft, current_account().id,
                               now(), notify_again=notify_again == "yes")
        if alert.status == service.AlertStatus.PUBLISHED:
            flash(_("Saved as version %(n)d. Members in its areas will be notified again.",
                    n=version) if notify_again == "yes" else
                  _("Saved as version %(n)d. Members were not notified again; the alert "
                    "shows that it was updated.", n=version))
        elif action == "publish" and alert.status == service.AlertStatus.DRAFT:
            queued = service.publish(get_db(), _indexer(), alert_id, current_account().id,
                                     now())
            flash(ngettext("Published. %(num)d notice is queued for members in its areas.",
                           "Published. %(num)d notices are queued for members in its areas.",
                           queued))
        else:
            flash(_("Saved as a new version."))
    except service.AlertInvalid as invalid:
        return _page(alert, form, rows, problems=invalid.problems, status=400)
    return redirect(url_for("alert_admin.edit", alert_id=alert_id))


def _from_report(alert: service.Alert, form: AlertForm,
                 rows: list[tuple[str, str, bool]]) -> tuple[str, int]:
    """Bring the report's identifiers in, each unticked: publishing is chosen one by one."""
    if alert.report_id is None:
        abort(400)
    key = held_vetting_key()
    if key is None:
        return render_template("coordinator/locked.html", application=None), 423
    opened = report_review.open_report(get_db(), key, current_account().id, alert.report_id,
                                       now())
    known = {(kind, value) for kind, value, _chosen in rows}
    rows = rows + [(i["kind"], i["value"], False) for i in opened.identifiers
                   if (i["kind"], i["value"]) not in known]
    return _page(alert, form, rows)


def _withdraw_page(alert: service.Alert, form: WithdrawForm, *, problem: object = None,
                   status: int = 200) -> tuple[str, int]:
    page = ConfirmPage(
        title=_("Withdraw alert %(id)s", id=alert.id[:8]),
        happens=[_("Members no longer see the alert, and the number checker no longer "
                   "finds its identifiers."),
                 _("Notices about it that have not been sent yet are cancelled."),
                 _("The withdrawal, its reason and who did it go into the disclosure log."),
                 _("It can be published again from the alert's page if it was a mistake, "
                   "until the alert is deleted with other withdrawn alerts.")],
        action=url_for("alert_admin.withdraw", alert_id=alert.id),
        button=_("Withdraw this alert"),
        back=url_for("alert_admin.edit", alert_id=alert.id),
        blocked=None if alert.status == service.AlertStatus.PUBLISHED
        else _("Only a published alert can be withdrawn."))
    return render_template("confirm.html", page=page, form=form, problem=problem), status


@bp.get("/<alert_id>/withdraw")
@allow(COORDINATOR)
def confirm_withdraw(alert_id: str) -> tuple[str, int]:
    return _withdraw_page(_alert_or_404(alert_id), WithdrawForm())


@bp.post("/<alert_id>/withdraw")
@allow(COORDINATOR)
def withdraw(alert_id: str) -> Response | tuple[str, int]:
    alert = _alert_or_404(alert_id)
    form = WithdrawForm()
    if not form.validate():
        return _withdraw_page(alert, form, status=400)
    try:
        service.withdraw(get_db(), alert_id, current_account().id, now(),
                         keys=load_keys(current_app), reason=form.reason.data or "",
                         note=form.note.data or "", confirmed=bool(form.confirm.data))
    except DecisionRefused as refused:
        return _withdraw_page(alert, form, problem=refused.message, status=400)
    except service.AlertInvalid as invalid:
        return _withdraw_page(alert, form, problem=invalid.problems["title"], status=409)
    cards.forget(alert_id)
    flash(_("Withdrawn. Members no longer see it and the number checker no longer finds it."))
    return redirect(url_for("alert_admin.edit", alert_id=alert_id))


def _undo_page(alert: service.Alert, form: UndoWithdrawForm, *, problem: object = None,
               status: int = 200) -> tuple[str, int]:
    page = ConfirmPage(
        title=_("Publish alert %(id)s again", id=alert.id[:8]),
        happens=[_("The alert is published again as it was when it was withdrawn: members "
                   "see it and the number checker finds its identifiers."),
                 _("Members are not sent a notice again."),
                 _("The undo, its reason and who did it go into the disclosure log and the "
                   "alert's version history.")],
        action=url_for("alert_admin.undo_withdraw", alert_id=alert.id),
        button=_("Publish it again"),
        back=url_for("alert_admin.edit", alert_id=alert.id),
        blocked=None if alert.status == service.AlertStatus.WITHDRAWN
        else _("Only a withdrawn alert can be published again."))
    return render_template("confirm.html", page=page, form=form, problem=problem), status


@bp.get("/<alert_id>/withdraw/undo")
@allow(COORDINATOR)
def confirm_undo_withdraw(alert_id: str) -> tuple[str, int]:
    return _undo_page(_alert_or_404(alert_id), UndoWithdrawForm())


@bp.post("/<alert_id>/withdraw/undo")
@allow(COORDINATOR)
def undo_withdraw(alert_id: str) -> Response | tuple[str, int]:
    alert = _alert_or_404(alert_id)
    form = UndoWithdrawForm()
    if not form.validate():
        return _undo_page(alert, form, status=400)
    try:
        service.undo_withdrawal(get_db(), load_keys(current_app), _indexer(), alert_id,
                                current_account().id, now(), reason=form.reason.data or "",
                                note=form.note.data or "", confirmed=bool(form.confirm.data))
    except DecisionRefused as refused:
        return _undo_page(alert, form, problem=refused.message, status=400)
    except service.AlertInvalid as invalid:
        return _undo_page(alert, form, problem=invalid.problems["title"], status=409)
    flash(_("Published again. Members see it and the number checker finds it."))
    return redirect(url_for("alert_admin.edit", alert_id=alert_id))


@bp.get("/<alert_id>/versions")
@allow(COORDINATOR)
def history(alert_id: str) -> str:
    return render_template("alerts/versions.html", alert=_alert_or_404(alert_id),
                           versions=service.versions(get_db(), alert_id),
                           changes=service.status_changes(get_db(), alert_id),
                           reason_labels=dict(choices.ALERT_WITHDRAW_REASONS
                                              + choices.ALERT_UNDO_REASONS))
