"""Logging that carries ids and outcomes, never personal data, IPs or user agents.

Werkzeug's development server writes one line per request that starts with the client
address; those lines are dropped and our own request line (endpoint, status, time) is
written instead.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import logging
import re
import threading
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


class BatchedHandler(logging.Handler):
    """Request threads append their record; one writer thread writes them out in batches.

    A queue.Queue (or logging's QueueHandler) wakes the writer for every line, and under
    load that wake-up and the GIL handoff it causes were a sixth of a page's cost. Here
    nothing is signalled: the writer wakes on its own every `interval` seconds and drains
    what has gathered, so a line reaches the stream at most that late. deque.append is
    atomic, so emit needs no lock either.
    """

    def __init__(self, target: logging.Handler, interval: float = 0.2) -> None:
        super().__init__()
        self.target = target
        self.interval = interval
        self.pending: collections.deque[logging.LogRecord] = collections.deque()
        # Taken by whoever drains (the writer, close, logging's shutdown), never by emit:
        # two drains at once would each pop a record and could write them out of order.
        self._draining = threading.Lock()
        self._stopped = threading.Event()
        self._writer = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._writer.start()

    def createLock(self) -> None:  # logging's own name
        self.lock = None  # Handler.acquire skips a None lock

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            # A traceback is written now, while the frames it names are as they were.
            self.target.handle(record)
            return
        self.pending.append(record)

    def flush(self) -> None:
        with self._draining:
            while self.pending:
                self.target.handle(self.pending.popleft())
            # The stream may be gone (closed at exit): logging never takes the process down.
            with contextlib.suppress(OSError, ValueError):
                self.target.flush()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            self.flush()

    def close(self) -> None:
        self._stopped.set()
        if self._writer is not threading.current_thread():
            self._writer.join(timeout=5)
        self.flush()
        super().close()


def install(app: Flask) -> None:
    silence_werkzeug_request_lines()
    # Flask's default handler would be fine, but logs must go to one stream we control.
    if not logging.getLogger("uglymugs").handlers and not app.testing:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        batched = BatchedHandler(stream)
        atexit.register(batched.close)  # writes out what is gathered at a clean exit
        logging.getLogger("uglymugs").addHandler(batched)
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
