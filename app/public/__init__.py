"""Pages anyone may read: what the scheme is, who can join, what data is held and why."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from . import views  # noqa: E402,F401  (views register on bp)
