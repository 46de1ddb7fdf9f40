"""Template translations found once per request rather than once per string.

Flask-Babel's template callables look up the app, the request's context, the locale and
its string form (which Babel rebuilds each time) for every `_()` a page renders: 12% of
a page's time. The translations object a request uses never changes within it, so it is
fetched once, kept on `g`, and every string in that request's templates reads from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app, g
from flask_babel import get_locale, get_translations
from jinja2.nodes import EvalContext
from jinja2.utils import pass_eval_context
from markupsafe import Markup, escape


def _translations() -> Any:
    found = g.get("_template_translations")
    if found is None:
        found = g._template_translations = get_translations()
    return found


def labels_per_language(name: str,
                        build: Callable[[], Mapping[str, object]]) -> Mapping[str, Markup]:
    """Lazy labels (`_l`) resolved once per language per process, for a page's templates.

    A feed page rendered each alert's area and category labels through their lazy strings,
    each a full Flask-Babel lookup (12% of GET /alerts). The labels are the same for every
    reader of a language; each is escaped once here exactly as the template would have.
    Kept on the app (its translations folder decides the text), never per person.
    """
    cache: dict[tuple[str, str], Mapping[str, Markup]] = current_app.extensions.setdefault(
        "uglymugs.labels_per_language", {})
    key = (name, str(get_locale()))
    found = cache.get(key)
    if found is None:
        found = cache[key] = {code: escape(label) for code, label in build().items()}
    return found


def install(app: Flask) -> None:
    """Replace Flask-Babel's template callables (installed by Babel(app)) with these."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # i18n extension
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    # Jinja's newstyle wrappers reach the translation through three context calls (`_`
    # resolves `gettext`, which calls the function above): 41 strings made that a fifth of
    # the first page. These do in one call what those do: translate, mark safe when the
    # template autoescapes, and always %-format, so the output is the same.
    app.jinja_env.globals.update(gettext=_gettext, _=_gettext, ngettext=_ngettext)


@pass_eval_context
def _gettext(eval_ctx: EvalContext, string: str, /, **variables: Any) -> str:
    found = _translations().ugettext(string)
    return (Markup(found) if eval_ctx.autoescape else found) % variables  # noqa: S704


@pass_eval_context
def _ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, /,
              **variables: Any) -> str:
    variables.setdefault("num", num)
    found = _translations().ungettext(singular, plural, num)
    return (Markup(found) if eval_ctx.autoescape else found) % variables  # noqa: S704
