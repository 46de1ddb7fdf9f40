"""Entry point for gunicorn: `gunicorn app.wsgi:app`. Refuses to start when not ready."""

import sys

from app import create_app
from app.vault.db import StartupError
from app.web.state import verify_ready

app = create_app()
try:
    verify_ready(app)
except StartupError as error:
    print(f"Not starting: {error}", file=sys.stderr)
    raise SystemExit(1) from None
