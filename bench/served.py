"""The service as app.wsgi builds it, with the per-account checker and report limits lifted.

The limits (30 checks an hour, 20 reports a day) would turn a load test of /check or of
sending reports into a test of the 429 page; everything else is app.wsgi's app unchanged.
"""

from __future__ import annotations

from app.web.limits import CheckLimiter
from app.web.state import state
from app.wsgi import app

state(app).check_limiter = CheckLimiter("100000000 per hour")
state(app).report_limiter = CheckLimiter("100000000 per hour")

__all__ = ["app"]
