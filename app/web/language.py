"""Which language a page is in, and what every page needs to offer the choice.

The order: the signed-in account's choice, then the device's cookie (set by the chooser
before sign-in), then the browser's Accept-Language on a first visit, then English. The
chooser itself (app/language/views.py) writes the cookie and the account; this module
only reads, so it needs no feature package.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel, get_locale
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.datastructures import LanguageAccept
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.http import parse_accept_header
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Response

from app.common.languages import CODES, LANGUAGES, SOURCE, language, supported
from app.web.config import Config

# A year: the choice is about the person holding the device, not a visit.
COOKIE_MAX_AGE = 365 * 24 * 3600


def cookie_name(secure: bool) -> str:
    # __Host- pins the cookie to this host over HTTPS, as the session cookie is pinned.
    return "__Host-lang" if secure else "lang"


def _from_accept_language() -> str | None:
    for value, _quality in request.accept_languages:
        found = match_tag(value)
        if found is not None:
            return found
    return None


def for_first_visit(accept_language: str | None) -> str:
    """The language a visitor with no cookie and no account gets, from the raw header.

    The same answer select_locale gives such a visitor, for code that runs before Flask
    has a request (app/web/front_door.py).
    """
    for value, _quality in parse_accept_header(accept_language, LanguageAccept):
        found = match_tag(value)
        if found is not None:
            return found
    return SOURCE


def match_tag(tag: str) -> str | None:
    """Our code for a browser's language tag, or None when we do not speak it.

    pt (any region) reads Brazilian Portuguese; Chinese is offered only in Simplified
    script, so zh-TW, zh-HK and zh-Hant are not matched to it.
    """
    parts = tag.replace("_", "-").lower().split("-")
    for code in CODES:
        if code.replace("_", "-").lower() == "-".join(parts):
            return code
    primary, rest = parts[0], set(parts[1:])
    if primary == "zh":
        return None if rest & {"hant", "tw", "hk", "mo"} else "zh_Hans"
    return next((code for code in CODES if code.split("_")[0] == primary), None)


def select_locale() -> str:
    if not has_request_context():
        return SOURCE  # a command or the worker: no browser to ask (notices use their own)
    account = g.get("account")
    chosen = getattr(account, "locale", None)
    if supported(chosen):
        return str(chosen)
    secure = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    from_cookie = request.cookies.get(cookie_name(secure))
    if supported(from_cookie):
        return str(from_cookie)
    return _from_accept_language() or SOURCE


def request_token() -> str:
    """The request's CSRF token: Flask-WTF's, which it keeps on g once made."""
    token = g.get("csrf_token")  # where generate_csrf keeps it (WTF_CSRF_FIELD_NAME)
    return str(token) if token is not None else str(generate_csrf())


def current_code() -> str:
    # Asked for by every cached piece of a page: Babel's own lookup is not free, and a
    # request's language does not change once chosen (nothing here calls refresh()).
    code: str | None = g.get("_language_code") if has_request_context() else None
    if code is None:
        locale = get_locale()
        code = str(locale) if locale is not None and supported(str(locale)) else SOURCE
        if has_request_context():
            g._language_code = code
    return code


def remember(response: Response, code: str) -> None:
    """Keep the choice on this device (HttpOnly: no script needs it)."""
    secure = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    response.set_cookie(cookie_name(secure), code, max_age=COOKIE_MAX_AGE, path="/",
                        secure=secure, httponly=True, samesite="Lax")


def safe_return_path(target: str | None) -> str:
    """A same-site path a GET can show, else the first page: never another site.

    The chooser sends the page it sits on; a page that only answers POST (a checker
    answer, say) is not repeated, the visitor lands on the first page instead.
    """
    if not target:
        return "/"
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//")
            or "\\" in target):
        return "/"
    try:
        current_app.url_map.bind("localhost").match(parts.path, method="GET")
    except (NotFound, MethodNotAllowed, RequestRedirect):
        return "/"
    return target


def _page_globals() -> dict[str, object]:
    # Asked for by the context processor and again by the chooser: worked out once.
    found: dict[str, object] | None = g.get("_page_globals")
    if found is None:
        code = current_code()
        here = language(code)
        return_path = request.full_path if request.method == "GET" else request.path
        found = g._page_globals = {
            "html_lang": here.tag, "html_dir": here.direction, "languages": LANGUAGES,
            "current_language": code, "language_return": return_path.rstrip("?")}
    return found


# Stand-ins rendered into the cached chooser where the request's own values go. Plain
# letters, so escaping leaves them as they are and a page cannot contain them by accident.
_CSRF_SLOT = "LanguageChooserTokenSlot9c41"
_RETURN_SLOT = "LanguageChooserReturnSlot9c41"


def _chooser_renderer(app: Flask) -> Callable[[], Markup]:
    """The footer's language chooser, rendered once per language per process.

    It is the same for every visitor in a language except its CSRF token and the page it
    returns to, and rendering it was 11% of the first page's time. Those two are filled in
    per request, escaped exactly as the template escapes them; nothing personal is kept.
    """
    rendered: dict[tuple[str, str], tuple[Markup, Markup, Markup]] = {}

    def language_chooser() -> Markup:
        context = _page_globals()
        key = (str(context["current_language"]), request.script_root)
        pieces = rendered.get(key)
        if pieces is None:
            html = app.jinja_env.get_template("_language.html").render(
                context, language_return=_RETURN_SLOT,
                csrf_token=lambda: _CSRF_SLOT)
            before, found_token, rest = html.partition(_CSRF_SLOT)
            middle, found_return, after = rest.partition(_RETURN_SLOT)
            assert found_token and found_return, "_language.html lost its token or return"
            # The template's own output, already escaped by its autoescape.
            pieces = rendered[key] = (Markup(before), Markup(middle),  # noqa: S704
                                      Markup(after))  # noqa: S704
        before, middle, after = pieces
        # Markup + str escapes the str: the token and path are escaped as the template would.
        return (before + request_token() + middle + str(context["language_return"])
                + after)

    return language_chooser


def install(app: Flask, config: Config) -> None:
    app.config.update(BABEL_DEFAULT_LOCALE=SOURCE,
                      BABEL_TRANSLATION_DIRECTORIES=str(config.translations_path))
    Babel(app, locale_selector=select_locale)
    app.context_processor(_page_globals)
    app.add_template_global(_chooser_renderer(app), "language_chooser")
