"""Pages that are the same for every signed-out visitor in a language, rendered once.

The first page is what a stranger loads, and rendering it was most of its cost. Signed
out, with no message waiting and no query string, it depends only on the language and
the app's configuration, plus the visitor's own CSRF token in the language chooser. So
it is rendered once per language per process with that token cut out, and each visitor
gets the same HTML with their token put back. Nothing personal is kept: the token is
removed before anything is stored, and a page for a signed-in person is never shared.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, request, session
from flask_wtf.csrf import generate_csrf
from markupsafe import escape

from app.web import access
from app.web.front_door import SHARED_ENDPOINT, SHARED_PIECES
from app.web.language import current_code


def shareable() -> bool:
    """True when this request's page would be the same for any signed-out visitor."""
    return (access.current_role() == access.ANONYMOUS and not request.query_string
            and "_flashes" not in session)


def signed_out_page(name: str, render: Callable[[], str]) -> str:
    """`render()`'s page for this visitor, rendered once per language when shareable."""
    if not shareable():
        return render()
    cache: dict[tuple[str, str, str], list[str]] = current_app.extensions.setdefault(
        "uglymugs.shared_pages", {})
    key = (name, current_code(), request.script_root)
    # The token as the template writes it (escaped), and the one every render includes.
    token = str(escape(generate_csrf()))
    pieces = cache.get(key)
    # Told to the front door (app/web/front_door.py), which answers the next stranger.
    request.environ[SHARED_ENDPOINT] = request.endpoint
    if pieces is None:
        page = render()
        cache[key] = pieces = page.split(token)
        request.environ[SHARED_PIECES] = pieces
        return page
    request.environ[SHARED_PIECES] = pieces
    return token.join(pieces)
