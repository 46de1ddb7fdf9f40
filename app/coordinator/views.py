from __future__ import annotations

from flask import Blueprint, render_template

from ..access import COORDINATOR, allow

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")


@bp.get("/")
@allow(COORDINATOR)
def queue() -> str:
    return render_template("coordinator/queue.html", applications=[])
