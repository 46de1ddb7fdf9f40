from __future__ import annotations

from flask import render_template

from ..access import EVERYONE, allow
from . import bp


@bp.get("/")
@allow(*EVERYONE)
def index() -> str:
    return render_template("index.html")
