"""Error pages that show no internals, and a failure description that carries no data."""

from __future__ import annotations

import traceback

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.common.passwords import HashingBusy

MESSAGES = {
    400: (_l("Something in that request was not right"),
          _l("Please go back, check the form and try again.")),
    403: (_l("Not available to you"),
          _l("You do not have access to this page.")),
    404: (_l("Page not found"),
          _l("There is no page at this address.")),
    405: (_l("Not allowed"),
          _l("This page cannot be used that way.")),
    413: (_l("Too much was sent"),
          _l("What you sent is larger than this service accepts. Please shorten it.")),
    429: (_l("Too many attempts"),
          _l("Please wait a few minutes before trying again.")),
    500: (_l("Something went wrong on our side"),
          _l("Nothing you typed has been kept in our logs. Please try again later.")),
    503: (_l("Not available right now"),
          _l("The service is not ready. Please try again later.")),
}
CSRF_MESSAGE = _l(
    "The form had expired or was sent from another site. Please go back, reload the "
    "page and send it again."
)


def _render(code: int, detail: str | None = None) -> tuple[str, int]:
    title, message = MESSAGES.get(code, MESSAGES[500])
    return render_template("error.html", code=code, title=title,
                           message=detail or message), code


def frames_only(error: BaseException) -> str:
    """The stack without the exception's message, which may quote user input."""
    frames = traceback.extract_tb(error.__traceback__)
    where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames))
    return f"{type(error).__name__} at {where}"


def install(app: Flask) -> None:
    @app.errorhandler(HashingBusy)
    def hashing_busy(_error: HashingBusy) -> tuple[str, int]:
        return _render(429)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return _render(400, str(CSRF_MESSAGE))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        if code == 503:
            return _render(503)
        return _render(code if code in MESSAGES else 500)

    @app.errorhandler(InternalServerError)
    def internal_error(error: HTTPException) -> tuple[str, int]:
        # The failure itself was logged by App.log_exception, without its message.
        return _render(500)
