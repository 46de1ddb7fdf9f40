"""The first page for a stranger, answered in front of Flask once Flask has rendered it.

A visitor who sends no cookie at all and asks, with no query string, for a page Flask
marked shareable (app/web/shared_pages.py) gets what every such visitor in their language
gets: the same status, headers and HTML, plus their own CSRF token and the session cookie
that holds it. For that page the Flask request itself (context, hooks, routing, session
and CSRF machinery) was most of the cost, so after Flask has answered it once for a
language, this WSGI layer answers the next such visitor itself. The token is made the way
Flask-WTF makes and checks it (a random value in the session, signed with the session key
under Flask-WTF's salt) and the cookie with the app's own session serializer, so the form
posts exactly as one Flask rendered: tests/test_page_fragments.py posts the chooser with it.

Anything else (a cookie of any kind, a query string, a method but GET, a path not yet
rendered, an unready service) goes to Flask unchanged. Nothing personal is kept: the cached
page has the token cut out, and a page answered to a signed-in person is never cached.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask
from itsdangerous import URLSafeTimedSerializer
from werkzeug.http import dump_cookie

from app.web.language import for_first_visit

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# What a view puts in the WSGI environ when its page is shareable: the page's HTML split
# at the token, and the endpoint for the log line.
SHARED_PIECES = "uglymugs.shared_pieces"
SHARED_ENDPOINT = "uglymugs.shared_endpoint"

request_log = logging.getLogger("uglymugs.request")


@dataclass(frozen=True)
class _Answer:
    status: str
    headers: list[tuple[str, str]]  # without Set-Cookie and Content-Length
    pieces: list[str]
    endpoint: str


class FrontDoor:
    def __init__(self, app: Flask, inner: WSGIApplication) -> None:
        self.app = app
        self.inner = inner
        self.answers: dict[tuple[str, str, str], _Answer] = {}
        self._signers: tuple[URLSafeTimedSerializer, URLSafeTimedSerializer] | None = None

    def __call__(self, environ: WSGIEnvironment,
                 start_response: StartResponse) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_COOKIE")
                or environ.get("QUERY_STRING")):
            return self.inner(environ, start_response)
        key = (environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
               for_first_visit(environ.get("HTTP_ACCEPT_LANGUAGE")))
        answer = self.answers.get(key)
        if answer is None:
            return self._through_flask(key, environ, start_response)
        started = time.monotonic()
        token, cookie = self._new_visitor()
        body = token.join(answer.pieces).encode()
        start_response(answer.status, [*answer.headers, ("Content-Length", str(len(body))),
                                       ("Set-Cookie", cookie)])
        request_log.info("GET %s 200 %dms", answer.endpoint,
                         int((time.monotonic() - started) * 1000))
        return [body]

    def _through_flask(self, key: tuple[str, str, str], environ: WSGIEnvironment,
                       start_response: StartResponse) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]],
                    exc_info: Any = None) -> Callable[[bytes], object]:
            seen.update(status=status, headers=headers)
            return start_response(status, headers, exc_info)

        body = self.inner(environ, capture)
        pieces = environ.get(SHARED_PIECES)
        if pieces is not None and seen.get("status", "").startswith("200 "):
            cookies = [v for k, v in seen["headers"] if k.lower() == "set-cookie"]
            session_cookie = self.app.config["SESSION_COOKIE_NAME"] + "="
            # Only a page whose one cookie is the new session is the same for the next
            # stranger; anything else set here (a language, say) is this visitor's.
            if len(cookies) == 1 and cookies[0].startswith(session_cookie):
                headers = [(k, v) for k, v in seen["headers"]
                           if k.lower() not in ("set-cookie", "content-length")]
                self.answers[key] = _Answer(seen["status"], headers, list(pieces),
                                            str(environ.get(SHARED_ENDPOINT, "-")))
        return body

    def _new_visitor(self) -> tuple[str, str]:
        """A signed CSRF token for the page, and the session cookie holding its value."""
        if self._signers is None:
            # Read here, not in __init__: the session key is loaded on the first request.
            config = self.app.config
            secret = config.get("WTF_CSRF_SECRET_KEY") or self.app.secret_key
            assert secret is not None, "Flask answered a page, so the session key is loaded"
            self._signers = (
                URLSafeTimedSerializer(secret, salt="wtf-csrf-token"),
                self.app.session_interface.get_signing_serializer(self.app),  # type: ignore[attr-defined]
            )
        tokens, sessions = self._signers
        field = self.app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        raw = secrets.token_hex(20)
        interface: Any = self.app.session_interface
        cookie = dump_cookie(
            interface.get_cookie_name(self.app), sessions.dumps({field: raw}),
            httponly=interface.get_cookie_httponly(self.app),
            domain=interface.get_cookie_domain(self.app),
            path=interface.get_cookie_path(self.app),
            secure=interface.get_cookie_secure(self.app),
            partitioned=interface.get_cookie_partitioned(self.app),
            samesite=interface.get_cookie_samesite(self.app))
        return str(tokens.dumps(raw)), cookie


def install(app: Flask) -> None:
    app.wsgi_app = FrontDoor(app, app.wsgi_app)  # type: ignore[method-assign]
