from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.auth.current import current_account
from app.organisation import service
from app.web.access import ORG_CONTACT, allow
from app.web.state import get_db, now, state

bp = Blueprint("organisation", __name__, url_prefix="/organisation")


def _member_id() -> str:
    member_id = current_account().member_id
    assert member_id is not None
    return member_id


@bp.get("/staff")
@allow(ORG_CONTACT)
def staff() -> str:
    return render_template("organisation/staff.html",
                           staff=service.list_staff(get_db(), _member_id()))


@bp.post("/staff/add")
@allow(ORG_CONTACT)
def add_staff() -> str:
    account, password = service.add_staff(get_db(), state().passwords, _member_id(), now())
    return render_template("organisation/staff_added.html", username=account.username,
                           password=password)


@bp.post("/staff/<account_id>/remove")
@allow(ORG_CONTACT)
def remove_staff(account_id: str) -> Response:
    if not service.remove_staff(get_db(), _member_id(), account_id):
        abort(404)
    flash(_("That staff login is closed."))
    return redirect(url_for("organisation.staff"))
