"""/apply pages: thin views over app/membership/service.py.

The confirmation is rendered in the POST response itself (never a redirect), so the
generated username exists only in that one response. Each form carries a one-time
submission id; sending the same form again (a refresh) shows "already sent" instead of
creating a second application. It is the same page, apart from the
username, whether or not the application looks like a duplicate: no membership oracle.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, current_app, render_template, session

from app.auth import accounts
from app.common.clock import UK
from app.common.languages import SOURCE
from app.membership import service
from app.membership.forms import IndividualForm, OrganisationForm, offer_channels
from app.web.access import EVERYONE, allow
from app.web.language import current_code
from app.web.state import get_db, load_keys, now, state

bp = Blueprint("membership", __name__)

Page = str | tuple[str, int] | tuple[str, int, dict[str, str]]


@bp.get("/apply")
@allow(*EVERYONE)
def choose() -> str:
    return render_template("apply/choose.html")


_SENT = "sent_applications"
_REMEMBER_SENT = 5


def _fresh_submission(form: IndividualForm | OrganisationForm) -> None:
    form.submission.data = secrets.token_urlsafe(16)


def _already_sent(form: IndividualForm | OrganisationForm) -> bool:
    return bool(form.submission.data) and form.submission.data in session.get(_SENT, [])


def _per_hour() -> int:
    return state().config.applications_per_hour


def _full(error: service.ApplicationsFull) -> tuple[str, int, dict[str, str]]:
    """The polite 429: when to come back, in UK time; nothing about who asked is kept."""
    wait = max(60, int((error.retry_at - now()).total_seconds()))
    return (render_template("apply/too_many.html",
                            retry_at=error.retry_at.astimezone(UK).strftime("%H:%M")),
            429, {"Retry-After": str(wait)})


def _room_for_one() -> service.ApplicationsFull | None:
    try:
        service.check_room(get_db(), now(), _per_hour())
    except service.ApplicationsFull as full:
        return full
    return None


def _confirmation(kind: str, applied: service.Applied,
                  form: IndividualForm | OrganisationForm) -> str:
    session[_SENT] = [*session.get(_SENT, [])[-(_REMEMBER_SENT - 1):], form.submission.data]
    # The approval notice goes out before they ever sign in: in the language they applied in.
    if current_code() != SOURCE:
        accounts.set_locale(get_db(), applied.account_id, current_code())
    return render_template("apply/done.html", kind=kind, username=applied.username)


@bp.route("/apply/individual", methods=["GET", "POST"])
@allow(*EVERYONE)
def individual() -> Page:
    form = IndividualForm()
    text_alerts = state().config.text_alerts
    offer_channels(form.alert_channel, text_alerts)
    if form.is_submitted() and _already_sent(form):
        return render_template("apply/already_sent.html")
    if form.is_submitted():
        try:
            applied = service.apply_individual(get_db(), load_keys(current_app),
                                               state().passwords, now(), form.application(),
                                               tally=state().tally,
                                               text_alerts=text_alerts,
                                               per_hour=_per_hour())
        except service.ApplicationInvalid as invalid:
            form.show_problems(invalid.problems)
            return render_template("apply/individual.html", form=form), 400
        except service.ApplicationsFull as full:
            return _full(full)
        return _confirmation(service.INDIVIDUAL, applied, form)
    refused = _room_for_one()
    if refused is not None:
        return _full(refused)  # before anyone spends time filling the form in
    _fresh_submission(form)
    return render_template("apply/individual.html", form=form)


@bp.route("/apply/<any(project, site):kind>", methods=["GET", "POST"])
@allow(*EVERYONE)
def organisation(kind: str) -> Page:
    form = OrganisationForm()
    if form.is_submitted() and _already_sent(form):
        return render_template("apply/already_sent.html")
    if form.is_submitted():
        try:
            applied = service.apply_organisation(get_db(), load_keys(current_app),
                                                 state().passwords, now(),
                                                 form.application(kind), per_hour=_per_hour())
        except service.ApplicationInvalid as invalid:
            form.show_problems(invalid.problems)
            return render_template("apply/organisation.html", form=form, kind=kind), 400
        except service.ApplicationsFull as full:
            return _full(full)
        return _confirmation(kind, applied, form)
    refused = _room_for_one()
    if refused is not None:
        return _full(refused)
    _fresh_submission(form)
    return render_template("apply/organisation.html", form=form, kind=kind)
