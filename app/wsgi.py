"""Entry point for gunicorn: `gunicorn app.wsgi:app`. Refuses to start when not ready."""

import atexit
import sys

from app import create_app
from app.vault.db import StartupError
from app.web.state import state, verify_ready

app = create_app()
# gunicorn's worker exits through sys.exit on SIGTERM or SIGINT: counts still in memory
# are written and connections closed then.
atexit.register(state(app).shutdown)
try:
    verify_ready(app)
except StartupError as error:
    print(f"Not starting: {error}", file=sys.stderr)
    raise SystemExit(1) from None
