"""Applying for membership (/apply): no account needed.

views.py parses forms and renders; service.py holds the logic (callable without a
request); validation.py checks single values; forms.py renders and collects fields.
"""

from flask import Blueprint

bp = Blueprint("membership", __name__)

from . import views  # noqa: E402,F401  (views register on bp)
