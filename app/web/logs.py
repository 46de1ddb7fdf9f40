"""Logging that carries ids and outcomes, never personal data, IPs or user agents.

Werkzeug's development server writes one line per request that starts with the client
address; those lines are dropped and our own request line (endpoint, status, time) is
written instead.
"""

from __future__ import annotations

import atexit
import logging
import queue
import re
import time
from logging.handlers import QueueHandler, QueueListener

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


class _UnlockedQueueHandler(QueueHandler):
    """A QueueHandler without the handler lock: the queue is thread-safe on its own.

    Request threads only format the line and put it on a queue; one listener thread
    writes to the stream, so no request waits for another's write.
    """

    def createLock(self) -> None:  # logging's own name
        self.lock = None  # Handler.acquire skips a None lock


def install(app: Flask) -> None:
    silence_werkzeug_request_lines()
    # Flask's default handler would be fine, but logs must go to one stream we control.
    if not logging.getLogger("uglymugs").handlers and not app.testing:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        listener = QueueListener(lines, stream)
        listener.start()
        atexit.register(listener.stop)  # writes out what is queued at a clean exit
        logging.getLogger("uglymugs").addHandler(_UnlockedQueueHandler(lines))
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
