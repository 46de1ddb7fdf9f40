"""The service as app.wsgi builds it, with the per-account checker limit lifted.

The limit (30 checks an hour) would turn a load test of /check into a test of the 429
page; everything else is app.wsgi's app unchanged.
"""

from __future__ import annotations

from app.web.limits import CheckLimiter
from app.web.state import state
from app.wsgi import app

state(app).check_limiter = CheckLimiter("100000000 per hour")

__all__ = ["app"]
