"""A local SMTP server that delivers nowhere: the demo's "mail box", and tests' recorder.

`run_sink()` prints each notice it receives, so a new user running the demo sees a notice
arrive; `RecordingSink` keeps the messages for a test to inspect. Both listen on loopback
by default. aiosmtpd logs every SMTP line (addresses included) at INFO on the "mail.log"
logger; unless someone chose a level for it, the sink sets that logger to WARNING.
"""

from __future__ import annotations

import email
import logging
import sys
import threading
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from types import TracebackType
from typing import Any, TextIO

from aiosmtpd.controller import Controller

OnMessage = Callable[[list[str], EmailMessage], None]


def quiet_aiosmtpd_logging() -> None:
    logger = logging.getLogger("mail.log")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


class LoopbackController(Controller):
    """aiosmtpd's threaded Controller that may listen on port 0 and then knows its port."""

    def _create_server(self) -> Any:
        return self._bind()

    async def _bind(self) -> Any:
        server = await self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port, ssl=self.ssl_context)
        self.port = server.sockets[0].getsockname()[1]
        return server


class _Handler:
    def __init__(self, on_message: OnMessage) -> None:
        self._on_message = on_message

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self._on_message(list(envelope.rcpt_tos), message)
        return "250 2.0.0 Message accepted"


def body_text(message: EmailMessage) -> str:
    """The plain-text body of a received message ("" if it has none)."""
    part = message.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    content = part.get_content()
    if not isinstance(content, str):
        return ""
    return content.replace("\r\n", "\n")  # as sent, not as carried on the wire


class RecordingSink:
    """An SMTP server on `host:port` (port 0: a free one, see `.port` after `start()`)
    that accepts every message. It records them in `.messages` when `keep` is true and
    calls `on_message(recipients, message)` for each. Thread-safe."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 on_message: OnMessage | None = None, keep: bool = True) -> None:
        self.host = host
        self.port = port
        self._on_message = on_message
        self._keep = keep
        self._condition = threading.Condition()
        self._messages: list[EmailMessage] = []
        self._recipients: list[list[str]] = []
        self._controller: LoopbackController | None = None

    def _received(self, recipients: list[str], message: EmailMessage) -> None:
        if self._on_message is not None:
            self._on_message(recipients, message)
        with self._condition:
            if self._keep:
                self._messages.append(message)
                self._recipients.append(recipients)
            self._condition.notify_all()

    @property
    def messages(self) -> list[EmailMessage]:
        with self._condition:
            return list(self._messages)

    @property
    def recipients(self) -> list[list[str]]:
        """The envelope recipients of each recorded message, in the same order."""
        with self._condition:
            return [list(r) for r in self._recipients]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[EmailMessage]:
        """Block until at least `count` messages are recorded; TimeoutError otherwise."""
        with self._condition:
            if not self._condition.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(f"the sink received {len(self._messages)} of {count}")
            return list(self._messages)

    def start(self) -> RecordingSink:
        if self._controller is not None:
            raise RuntimeError("the sink is already running")
        quiet_aiosmtpd_logging()
        controller = LoopbackController(_Handler(self._received), hostname=self.host,
                                        port=self.port)
        controller.start()
        self._controller = controller
        self.port = controller.port
        return self

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> RecordingSink:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def format_notice(recipients: list[str], message: EmailMessage) -> str:
    lines = [f"--- notice to {', '.join(recipients)} ---",
             f"Subject: {message.get('Subject', '')}",
             f"Message-ID: {message.get('Message-ID', '')}",
             "",
             body_text(message).rstrip("\n"),
             ""]
    return "\n".join(lines) + "\n"


def run_sink(host: str = "127.0.0.1", port: int = 8025, out: TextIO = sys.stdout, *,
             stop: threading.Event | None = None,
             ready: Callable[[int], None] | None = None) -> None:
    """Print every message received on `host:port` to `out` until interrupted (Ctrl-C)
    or until `stop` is set. `ready(port)` is called once the server listens. Nothing is
    kept and nothing is sent on."""
    lock = threading.Lock()

    def show(recipients: list[str], message: EmailMessage) -> None:
        with lock:
            out.write(format_notice(recipients, message))
            out.flush()

    sink = RecordingSink(host, port, on_message=show, keep=False)
    sink.start()
    try:
        out.write(f"SMTP sink on {host}:{sink.port}: prints each notice, delivers nothing\n")
        out.flush()
        if ready is not None:
            ready(sink.port)
        waiter = stop if stop is not None else threading.Event()
        while not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m app.delivery.sink [--host 127.0.0.1] [--port 8025]`: the demo's sink."""
    import argparse

    parser = argparse.ArgumentParser(description="Print the notices sent to this "
                                     "SMTP server instead of delivering them (demo only).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args(argv)
    run_sink(args.host, args.port)


if __name__ == "__main__":
    main()
