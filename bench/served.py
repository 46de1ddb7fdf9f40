"""The service as app.wsgi builds it, with the per-account checker and report limits lifted.

Plus one bench-only page, /bench/floor (below).

The limits (30 checks an hour, 20 reports a day) would turn a load test of /check or of
sending reports into a test of the 429 page; everything else is app.wsgi's app unchanged.
"""

from __future__ import annotations

from app.auth.current import current_account
from app.web.access import MEMBERS, allow
from app.web.limits import CheckLimiter
from app.web.state import state
from app.wsgi import app

state(app).check_limiter = CheckLimiter("100000000 per hour")
state(app).report_limiter = CheckLimiter("100000000 per hour")


@app.get("/bench/floor")
@allow(*MEMBERS)
def floor() -> str:
    """The least a signed-in page costs: the session, the account and every hook, no page.

    Only in the bench's app: measured beside GET /alerts, it says how much of a page's
    ratio is the page and how much is being signed in at all.
    """
    current_account()
    return "ok"

__all__ = ["app"]
