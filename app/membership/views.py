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
from app.common.languages import SOURCE
from app.membership import service
from app.membership.forms import IndividualForm, OrganisationForm
from app.web.access import EVERYONE, allow
from app.web.language import current_code
from app.web.state import get_db, load_keys, now, state

bp = Blueprint("membership", __name__)

Page = str | tuple[str, int]


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
    if form.is_submitted() and _already_sent(form):
        return render_template("apply/already_sent.html")
    if form.is_submitted():
        try:
            applied = service.apply_individual(get_db(), load_keys(current_app),
                                               state().passwords, now(), form.application())
        except service.ApplicationInvalid as invalid:
            form.show_problems(invalid.problems)
            return render_template("apply/individual.html", form=form), 400
        return _confirmation(service.INDIVIDUAL, applied, form)
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
                                                 form.application(kind))
        except service.ApplicationInvalid as invalid:
            form.show_problems(invalid.problems)
            return render_template("apply/organisation.html", form=form, kind=kind), 400
        return _confirmation(kind, applied, form)
    _fresh_submission(form)
    return render_template("apply/organisation.html", form=form, kind=kind)
