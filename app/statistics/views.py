"""The statistics page: every figure suppressed and rounded before it reaches a template."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.statistics import figures
from app.web.access import AUDITOR, COORDINATOR, allow
from app.web.state import get_db, now

bp = Blueprint("statistics", __name__, url_prefix="/statistics")


@bp.get("/")
@allow(COORDINATOR, AUDITOR)
def index() -> str:
    return render_template("statistics/index.html", stats=figures.build(get_db(), now()))
