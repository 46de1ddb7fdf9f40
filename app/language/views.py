"""POST /language: the chooser in every page's footer (a select and a button, no script).

The choice is kept in a cookie on this device and, for someone signed in, on their
account, so notices and their other devices follow it. Then back to the page they were on.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, request
from werkzeug.wrappers import Response

from app.auth import accounts
from app.common.languages import supported
from app.web.access import EVERYONE, allow
from app.web.language import remember, safe_return_path
from app.web.state import get_db

bp = Blueprint("language", __name__)


@bp.post("/language")
@allow(*EVERYONE)
def choose() -> Response:
    code = request.form.get("locale", "")
    if not supported(code):
        abort(400)  # only a hand-made request sends a language the chooser does not list
    account = g.get("account")
    if account is not None:
        accounts.set_locale(get_db(), account.id, code)
    response = redirect(safe_return_path(request.form.get("next")), code=303)
    remember(response, code)
    return response
