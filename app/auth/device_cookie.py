"""The device cookie itself: which device tokens this browser holds (app/auth/devices.py).

The cookie carries up to MAX_TOKENS tokens (a shared office browser may know a few
accounts), signed with the session key so a forged or damaged cookie is ignored before
any lookup. It names no account and no person. HttpOnly, SameSite=Strict and, outside
the plain-http demo, Secure under a __Host- name, like the session cookie.
"""

from __future__ import annotations

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response

from app.auth.devices import LIFETIME
from app.web.state import state

SECURE_NAME = "__Host-device"
PLAIN_NAME = "device"
MAX_TOKENS = 5
_SALT = "uglymugs device tokens"
# Five tokens, signed, fit well within this; anything longer is not ours.
_MAX_COOKIE_CHARS = 1024


def cookie_name() -> str:
    return SECURE_NAME if state().config.secure_cookies else PLAIN_NAME


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or b"", salt=_SALT)


def held_tokens() -> list[str]:
    """The tokens this request's browser holds; [] for a missing, forged or odd cookie."""
    raw = request.cookies.get(cookie_name(), "")
    if not raw or len(raw) > _MAX_COOKIE_CHARS:
        return []
    try:
        tokens = _serializer().loads(raw)
    except (BadSignature, UnicodeError, ValueError):
        return []
    if not isinstance(tokens, list):
        return []
    return [t for t in tokens if isinstance(t, str)][:MAX_TOKENS]


def remember(response: Response, new_token: str | None) -> Response:
    """Add a newly issued token to the browser's cookie (newest first, at most MAX_TOKENS)."""
    if new_token is None:
        return response
    tokens = [new_token, *[t for t in held_tokens() if t != new_token]][:MAX_TOKENS]
    response.set_cookie(cookie_name(), _serializer().dumps(tokens),
                        max_age=int(LIFETIME.total_seconds()), path="/",
                        secure=state().config.secure_cookies, httponly=True,
                        samesite="Strict")
    return response
