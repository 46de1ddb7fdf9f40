"""Logging that carries ids and outcomes, never personal data, IPs or user agents.

Werkzeug's development server writes one line per request that starts with the client
address; those lines are dropped and our own request line (endpoint, status, time) is
written instead.
"""

from __future__ import annotations

import logging
import re
import time

from flask import Flask, Response, g, request

from app.web.access import HEALTH_ENDPOINT

# "127.0.0.1 - - [21/Nov/2026 ...] "GET / HTTP/1.1" 200 -" and its IPv6 form.
_WERKZEUG_REQUEST_LINE = re.compile(r'^\S+ - - \[[^\]]*\] "')

request_log = logging.getLogger("uglymugs.request")


class DropAddressedRequestLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return False
        return not _WERKZEUG_REQUEST_LINE.match(message)


def silence_werkzeug_request_lines() -> None:
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, DropAddressedRequestLines) for f in logger.filters):
        logger.addFilter(DropAddressedRequestLines())


def install(app: Flask) -> None:
    silence_werkzeug_request_lines()
    # Flask's default handler would be fine, but logs must go to one stream we control.
    if not logging.getLogger("uglymugs").handlers and not app.testing:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logging.getLogger("uglymugs").addHandler(handler)
        logging.getLogger("uglymugs").setLevel(logging.INFO)

    @app.before_request
    def start_timer() -> None:
        g.request_started = time.monotonic()

    @app.after_request
    def log_request(response: Response) -> Response:
        if request.endpoint == HEALTH_ENDPOINT:
            return response
        started = g.get("request_started")
        elapsed_ms = int((time.monotonic() - started) * 1000) if started else -1
        # The endpoint name, never the path or query: those can carry what a user typed.
        request_log.info(
            "%s %s %s %dms",
            request.method, request.endpoint or "-", response.status_code, elapsed_ms,
        )
        return response
