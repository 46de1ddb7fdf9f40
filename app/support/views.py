"""Coordinators following up the support reporters asked for: the queue and one request."""

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
from app.common import validation
from app.common.labels import SUPPORT_STATUS_LABELS
from app.coordinator.key_session import held_vetting_key
from app.coordinator.pages import coordinator_context
from app.support import service
from app.support.forms import ActionForm, NoteForm, StatusForm
from app.support.records import SupportStatus
from app.web.access import COORDINATOR, allow
from app.web.state import get_db, load_keys, now
from crypto.keys import BoxPrivateKey

bp = Blueprint("support", __name__, url_prefix="/coordinator/support")
bp.context_processor(coordinator_context)


@bp.context_processor
def support_labels() -> dict[str, object]:
    return {"support_status_labels": SUPPORT_STATUS_LABELS}


def _request_or_404(request_id: str) -> service.SupportRequest:
    found = service.find(get_db(), request_id, now())
    if found is None:
        abort(404)
    return found


@bp.get("/")
@allow(COORDINATOR)
def queue() -> tuple[str, int]:
    wanted = request.args.get("status") or None
    if wanted is not None and wanted not in SupportStatus.__members__.values():
        # A filter not offered: say so on the page rather than guess.
        return render_template("support/queue.html", requests=[], status=None,
                               bad_filter=True), 400
    return render_template("support/queue.html", status=wanted, bad_filter=False,
                           requests=service.queue(get_db(), now(), wanted)), 200


def _page(found: service.SupportRequest, *, note: str | None = None,
          status_form: StatusForm | None = None, note_form: NoteForm | None = None,
          code: int = 200, answer: str | None = None) -> tuple[str, int]:
    return render_template(
        "support/request.html", req=found, note=note, answer=answer, action_form=ActionForm(),
        status_form=status_form or StatusForm(status=found.status),
        note_form=note_form or NoteForm()), code


@bp.get("/<request_id>")
@allow(COORDINATOR)
def show(request_id: str) -> tuple[str, int]:
    return _page(_request_or_404(request_id))


@bp.post("/<request_id>/status")
@allow(COORDINATOR)
def status(request_id: str) -> Response | tuple[str, int]:
    found = _request_or_404(request_id)
    form = StatusForm()
    if not form.validate():
        abort(400)
    try:
        service.change_status(get_db(), current_account().id, request_id,
                              form.status.data or "", now())
    except validation.Invalid as invalid:
        form.status.errors = [str(invalid.message)]
        return _page(found, status_form=form, code=400)
    except service.SupportRefused as refused:
        flash(str(refused.message))
        return redirect(url_for("support.show", request_id=request_id))
    flash(_("Status changed."))
    return redirect(url_for("support.show", request_id=request_id))


@bp.post("/<request_id>/note")
@allow(COORDINATOR)
def note(request_id: str) -> Response | tuple[str, int]:
    found = _request_or_404(request_id)
    form = NoteForm()
    if not form.validate():
        abort(400)
    try:
        service.save_note(get_db(), load_keys(current_app), current_account().id, request_id,
                          form.note.data or "", now())
    except validation.Invalid as invalid:
        form.note.errors = [str(invalid.message)]
        return _page(found, note_form=form, code=400)
    flash(_("Note saved, sealed to the vetting key."))
    return redirect(url_for("support.show", request_id=request_id))


def _key_or_locked(request_id: str) -> BoxPrivateKey | tuple[str, int]:
    """The unlocked vetting key (once the form's CSRF is good), or the page saying to unlock."""
    if not ActionForm().validate():
        abort(400)
    key = held_vetting_key()
    if key is None:
        return render_template("disclosures/locked.html",
                               back=url_for("support.show", request_id=request_id)), 423
    return key


@bp.post("/<request_id>/unseal")
@allow(COORDINATOR)
def unseal(request_id: str) -> tuple[str, int]:
    found = _request_or_404(request_id)
    key = _key_or_locked(request_id)
    if isinstance(key, tuple):
        return key
    text = service.read_note(get_db(), key, current_account().id, request_id, now())
    return _page(found, note=text, note_form=NoteForm(note=text))


@bp.post("/<request_id>/answer")
@allow(COORDINATOR)
def read_answer(request_id: str) -> tuple[str, int]:
    found = _request_or_404(request_id)
    key = _key_or_locked(request_id)
    if isinstance(key, tuple):
        return key
    text = service.read_answer(get_db(), key, current_account().id, request_id, now())
    return _page(found, answer=text)


@bp.post("/<request_id>/message")
@allow(COORDINATOR)
def message(request_id: str) -> Response:
    _request_or_404(request_id)
    if not ActionForm().validate():
        abort(400)
    try:
        service.message_member(get_db(), current_account().id, request_id, now())
    except service.SupportRefused as refused:
        flash(str(refused.message))
        return redirect(url_for("support.show", request_id=request_id))
    flash(_("A message is in the reporter's account, and they have been told one is waiting."))
    return redirect(url_for("support.show", request_id=request_id))
