"""`serve`: the development server, without a line per request that names the client."""

from __future__ import annotations

import os
import signal
import sys

import click
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, run_simple

from app.cli.output import fail
from app.vault import db
from app.web.state import state, verify_ready


class AddresslessRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the per-request line that starts with the client IP."""

    def address_string(self) -> str:
        return "-"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return  # the app writes its own request line without address or user agent


def register(app: Flask) -> None:
    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")),
                  show_default="$PORT or 5000")
    def serve(host: str, port: int) -> None:
        """Check keys and database, then serve with the development server."""
        try:
            verify_ready(app)
        except db.StartupError as error:
            fail(f"Not starting: {error}")
        click.echo(f"Serving uglymugs on http://{host}:{port}/ (Ctrl+C to stop)")
        sys.stdout.flush()
        # SIGTERM (a service manager's stop) exits as Ctrl+C does, through the finally
        # below and atexit: the counts and the log lines still held in memory are written.
        signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
        try:
            run_simple(host, port, app, threaded=True,
                       request_handler=AddresslessRequestHandler)
        finally:
            state(app).shutdown()  # writes the checker's counts still held in memory
