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

from flask import Flask, current_app, render_template, request, session
from markupsafe import Markup, escape

from app.web import access
from app.web.front_door import SHARED_ENDPOINT, SHARED_PIECES
from app.web.language import current_code, request_token


def shareable() -> bool:
    """True when this request's page would be the same for any signed-out visitor."""
    return (access.current_role() == access.ANONYMOUS and not request.query_string
            and "_flashes" not in session)


def _with_token(cache_name: str, key: tuple[str, ...], render: Callable[[], str],
                keep: Callable[[], bool] = lambda: True) -> tuple[str, list[str]]:
    """`render()`'s HTML with this request's token, and the pieces it is kept as.

    Rendered once per key: the page is kept cut at the token (escaped as the template
    writes it), and each request gets the pieces joined with its own; unless `keep()`,
    asked after rendering, says this rendering must not stand for the next one.
    """
    cache: dict[tuple[str, ...], list[str]] = current_app.extensions.setdefault(
        cache_name, {})
    token = str(escape(request_token()))
    pieces = cache.get(key)
    if pieces is None:
        html = render()
        pieces = html.split(token)
        if keep():
            cache[key] = pieces
        return html, pieces
    return token.join(pieces), pieces


def signed_out_page(name: str, render: Callable[[], str]) -> str:
    """`render()`'s page for this visitor, rendered once per language when shareable."""
    if not shareable():
        return render()
    page, pieces = _with_token("uglymugs.shared_pages",
                               (name, current_code(), request.script_root), render)
    # Told to the front door (app/web/front_door.py), which answers the next stranger.
    request.environ[SHARED_ENDPOINT] = request.endpoint
    request.environ[SHARED_PIECES] = pieces
    return page


def shared_fragment(name: str, variant: tuple[str, ...], render: Callable[[], str]) -> Markup:
    """`render()`'s HTML, rendered once per language and variant, with this visitor's token.

    For a piece of a page that is the same for everyone who sees it (an empty form, say)
    but for the CSRF token. `variant` must come from a short fixed list (a validated
    choice), never from what someone typed: it is part of a key kept for the process.
    """
    html, _pieces = _with_token("uglymugs.shared_fragments",
                                (name, current_code(), request.script_root, *variant), render)
    # render() is an autoescaped template's output, and the token is escaped.
    return Markup(html)  # noqa: S704


# Enough for every published alert in every language at a scheme's size; past it the
# cache starts again (a full clear is simpler than LRU bookkeeping across threads).
FRAGMENT_LIMIT = 20_000


_SAME_FOR_EVERYONE = "uglymugs.same_for_everyone"


def same_for_everyone(name: str,
                      pieces: list[tuple[tuple[str, ...], Callable[[], str | None]]],
                      ) -> list[Markup]:
    """Each (variant, render) piece's HTML, rendered once per language and variant.

    For pieces with no form in them that every reader of a language sees alike (the
    cards of a page of published alerts, say). A variant must name the exact content (an
    alert's id and version), so a change is a new entry, never a stale one; its first
    element is what forget_same_for_everyone drops by. A render that returns None (the
    thing is gone) shows nothing and is not kept, so it is asked again next time. Many
    pieces are asked for at once because a page has many, and the language and the cache
    are looked up once for all of them. Process memory only: nothing is written anywhere.
    """
    cache: dict[tuple[str, ...], Markup] = current_app.extensions.setdefault(
        _SAME_FOR_EVERYONE, {})
    here = (name, current_code(), request.script_root)
    shown = []
    for variant, render in pieces:
        key = (*here, *variant)
        html = cache.get(key)
        if html is None:
            rendered = render()
            if rendered is None:
                shown.append(Markup(""))
                continue
            if len(cache) >= FRAGMENT_LIMIT:
                cache.clear()
            # render() is an autoescaped template's output.
            html = cache[key] = Markup(rendered)  # noqa: S704
        shown.append(html)
    return shown


def forget_same_for_everyone(name: str, first: str) -> None:
    """Drop every kept piece of `name` whose variant starts with `first`, in each language.

    A withdrawn alert's card would never be shown again (a new version or publication
    is a new key), but it need not stay in memory either.
    """
    cache: dict[tuple[str, ...], Markup] = current_app.extensions.get(_SAME_FOR_EVERYONE, {})
    for key in [k for k in list(cache) if k[0] == name and len(k) > 3 and k[3] == first]:
        cache.pop(key, None)


# Whole signed-in pages kept at once: each is a page of HTML, so far fewer than the
# fragments, and still more than a feed's real pages in every language.
PAGE_LIMIT = 500

_SAME_PAGES = "uglymugs.same_pages"


def same_page(name: str, variant: tuple[str, ...], render: Callable[[], str], *,
              query: str = "", keep: Callable[[], bool] = lambda: True) -> str:
    """`render()`'s whole page for a signed-in reader, rendered once per role, language
    and variant, with each reader's own token put back.

    For a page whose every word, once the role and language are known, comes from
    `variant` (which published alerts it shows, say) and nothing about the reader. The
    page's own links come back in it (the language chooser returns to this path and
    query), so it is shared only when the request's query string is exactly `query`, the
    one the variant stands for: anything else a reader typed into the URL is rendered for
    them alone, and never kept. So is a page with a message waiting for its reader (a
    flash), and one that `keep()` says came out incomplete. Process memory only; past
    PAGE_LIMIT the kept pages start again.
    """
    if "_flashes" in session or request.query_string.decode("latin-1") != query:
        return render()
    cache: dict[tuple[str, ...], list[str]] = current_app.extensions.setdefault(
        _SAME_PAGES, {})
    if len(cache) >= PAGE_LIMIT:
        cache.clear()
    html, _pieces = _with_token(_SAME_PAGES, (name, current_code(), request.script_root,
                                              access.current_role(), *variant),
                                render, keep)
    return html


def forget_same_pages() -> None:
    """Drop every kept page: an alert was withdrawn, and any of them may show it.

    A page that shows it would not be shown again (its variant names the alerts it
    shows), but its text need not stay in memory either; withdrawals are rare.
    """
    current_app.extensions.get(_SAME_PAGES, {}).clear()


# The parts of every page that depend only on the language and the role: base.html's links
# in <head>, and the header and menu (whose Sign out form carries the token).
CHROME = ("_head_links.html", "_page_bar.html")


def shared_chrome(template: str) -> Markup:
    if template not in CHROME:
        raise ValueError(f"{template} is not a shared part of the page")
    return shared_fragment(template, (access.current_role(),),
                           lambda: render_template(template))


def install(app: Flask) -> None:
    app.add_template_global(shared_chrome, "shared_chrome")
