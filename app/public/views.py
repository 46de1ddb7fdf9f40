from __future__ import annotations

from flask import Blueprint, render_template

from app.web.access import EVERYONE, allow

bp = Blueprint("public", __name__)


@bp.get("/")
@allow(*EVERYONE)
def index() -> str:
    return render_template("index.html")
