from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template

from app.web.access import EVERYONE, allow
from app.web.shared_pages import signed_out_page
from app.web.state import healthy

bp = Blueprint("public", __name__)


@bp.get("/")
@allow(*EVERYONE)
def index() -> str:
    return signed_out_page("public.index", lambda: render_template("index.html"))


@bp.get("/healthz")
@allow(*EVERYONE)
def healthz() -> Response:
    """200 "ok", or 503 with an empty body: `flask --app app doctor` says what is wrong."""
    if healthy(current_app):
        return Response("ok\n", status=200, mimetype="text/plain")
    return Response("", status=503, mimetype="text/plain")
