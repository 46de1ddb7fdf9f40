"""Every request runs in a turn (app/common/turns.py): one request thread runs Python at
a time, and the others wait for their turn asleep rather than queue on the GIL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask

from app.common.turns import Turns

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class InTurn:
    """The WSGI app `inner`, run in a turn. A streamed body (a static file) is sent after
    the turn ends: sending is a wait."""

    def __init__(self, inner: WSGIApplication, turns: Turns) -> None:
        self.inner = inner
        self.turns = turns

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        with self.turns.turn():
            return self.inner(environ, start_response)


def install(app: Flask, turns: Turns) -> None:
    """Around Flask: every request Flask answers runs in a turn."""
    app.wsgi_app = InTurn(app.wsgi_app, turns)  # type: ignore[method-assign]
