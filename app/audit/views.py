"""The auditor's area: browse, filter, verify and export the disclosure log.

Auditors only. Nothing here opens an envelope or reads a sealed column: the log names
records by id and fields by name, and these pages show only the log, the checkpoints and
staff usernames (never a member's).
"""

from __future__ import annotations

from datetime import date

import nacl.signing
from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _

from app.audit import browse
from app.audit.forms import KeptCheckpointForm, LogFilterForm
from app.audit.labels import EVENT_LABELS, LEGAL_BASIS_LABELS, PURPOSE_LABELS
from app.audit.verification import (
    export_all,
    parse_kept,
    stored_checkpoint,
    stored_checkpoints,
    verify_log,
)
from app.common.choices import options
from app.common.validation import Invalid
from app.web.access import AUDITOR, allow
from app.web.forms import show_problems
from app.web.state import get_db, load_keys, now
from crypto.errors import MalformedCheckpoint

bp = Blueprint("audit", __name__, url_prefix="/audit")

MAX_KEPT_FILE_BYTES = 128 * 1024


@bp.context_processor
def audit_globals() -> dict[str, object]:
    return {"purpose_labels": PURPOSE_LABELS, "legal_basis_labels": LEGAL_BASIS_LABELS,
            "event_labels": EVENT_LABELS}


def _verify_key() -> nacl.signing.VerifyKey:
    return load_keys(current_app).audit_verify_key


def _download(body: str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _filter_form(all_rows: list[browse.LogRow]) -> LogFilterForm:
    form = LogFilterForm(formdata=request.args)
    form.event.choices = options([("", _("Any"))] + [
        (event, EVENT_LABELS.get(event, event))
        for event in browse.events_in(all_rows, set(EVENT_LABELS) - {browse.UNREADABLE_EVENT})])
    return form


def _wanted(form: LogFilterForm, all_rows: list[browse.LogRow]) -> browse.LogFilter | None:
    """The filter the form asks for, or None (with the form's errors set) when it is bad."""
    if not form.validate():
        return None
    record = (form.record.data or "").strip()
    if record:
        try:
            record = browse.resolve_record(all_rows, record)
        except Invalid as invalid:
            show_problems(form, {"record": invalid.message})
            return None
    return browse.LogFilter(
        date_from=form.date_from.data, date_to=form.date_to.data,
        who=browse.staff_ids_for(get_db(), form.who.data or ""),
        purpose=form.purpose.data or "", legal_basis=form.legal_basis.data or "",
        event=form.event.data or "", record=record)


def _filter_args() -> dict[str, str]:
    """The filters in force, to carry into page links and the export link."""
    return {name: request.args[name] for name in LogFilterForm.FILTER_FIELDS
            if request.args.get(name)}


def _url(endpoint: str, **args: object) -> str:
    # Flask's stub types url_for's keywords as its own flags only; filters are plain text.
    return url_for(endpoint, **args)  # type: ignore[arg-type]


def _log_url(**args: object) -> str:
    return _url("audit.log", **args)


@bp.get("/")
@allow(AUDITOR)
def log() -> str | tuple[str, int]:
    conn = get_db()
    all_rows = browse.rows(conn)
    form = _filter_form(all_rows)
    verdict = verify_log(conn, _verify_key())
    wanted = _wanted(form, all_rows)
    valid = wanted is not None
    selected = browse.select(all_rows, wanted) if wanted is not None else []
    page = browse.newest_first_page(selected, request.args.get("page", 1, type=int))
    args = _filter_args()
    page_links = {
        "previous": _log_url(page=page.number - 1, **args) if page.number > 1 else None,
        "next": _log_url(page=page.number + 1, **args) if page.number < page.pages else None,
    }
    html = render_template(
        "audit/log.html", form=form, verdict=verdict, page=page, page_links=page_links,
        total=len(all_rows), filtered=bool(args), staff=browse.staff_names(conn),
        export_url=_url("audit.export_csv", **args))
    return html if valid else (html, 400)


@bp.get("/log.csv")
@allow(AUDITOR)
def export_csv() -> Response:
    all_rows = browse.rows(get_db())
    form = _filter_form(all_rows)
    wanted = _wanted(form, all_rows)
    if wanted is None:
        abort(400)
    body = browse.to_csv(browse.select(all_rows, wanted),
                         browse.staff_names(get_db()))
    return _download(body, "text/csv", f"disclosure-log-{now().date().isoformat()}.csv")


def _checkpoints_page(kept_form: KeptCheckpointForm, kept_verdict: object = None,
                      kept_problem: str | None = None, status: int = 200) -> tuple[str, int]:
    conn = get_db()
    verdict = verify_log(conn, _verify_key())
    return render_template("audit/checkpoints.html", verdict=verdict, kept_form=kept_form,
                           kept_verdict=kept_verdict, kept_problem=kept_problem), status


@bp.get("/checkpoints")
@allow(AUDITOR)
def checkpoints() -> tuple[str, int]:
    return _checkpoints_page(KeptCheckpointForm())


@bp.post("/checkpoints/check")
@allow(AUDITOR)
def check_kept() -> tuple[str, int]:
    form = KeptCheckpointForm()
    if not form.validate():
        return _checkpoints_page(form, status=400)
    data = form.kept.data.read(MAX_KEPT_FILE_BYTES + 1)
    try:
        if len(data) > MAX_KEPT_FILE_BYTES:
            raise MalformedCheckpoint("too large to be a checkpoint file")
        kept = parse_kept(data.decode("utf-8"))
    except (MalformedCheckpoint, UnicodeDecodeError):
        problem = _("That file is not an exported checkpoint, or it is damaged.")
        return _checkpoints_page(form, kept_problem=problem, status=400)
    verdict = verify_log(get_db(), _verify_key(), kept=kept)
    return _checkpoints_page(KeptCheckpointForm(), kept_verdict=verdict)


@bp.get("/checkpoints.json")
@allow(AUDITOR)
def export_checkpoints() -> Response:
    body = export_all(stored_checkpoints(get_db()))
    return _download(body, "application/json",
                     f"audit-checkpoints-{date.isoformat(now().date())}.json")


@bp.get("/checkpoints/<int:seq>.json")
@allow(AUDITOR)
def export_checkpoint(seq: int) -> Response:
    found = stored_checkpoint(get_db(), seq)
    if found is None:
        abort(404)
    return _download(found.to_json() + "\n", "application/json",
                     f"audit-checkpoint-{seq}.json")
