"""The languages the service speaks: codes, the name each calls itself, and its writing direction.

Plain data, no request, so the web layer (choosing a page's language) and the worker
(writing a notice in the member's language) read the same list. A language is listed here
only when translations/CODE/LC_MESSAGES/messages.po is complete (tests/test_languages.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from babel import Locale

SOURCE = "en"


@dataclass(frozen=True)
class Language:
    code: str  # the catalogue's folder name, as Babel spells the locale
    name: str  # in the language itself: a reader who cannot read the page can still find it

    @property
    def tag(self) -> str:
        """The BCP 47 tag for HTML's lang attribute (pt-BR, zh-Hans)."""
        return self.code.replace("_", "-")

    @property
    def direction(self) -> str:
        """"ltr" or "rtl", from CLDR, so a right-to-left catalogue needs no code change."""
        return _direction(self.code)


@cache
def _direction(code: str) -> str:
    # Every page asks; parsing the locale each time was a measurable part of a page.
    return str(Locale.parse(code).text_direction)


LANGUAGES: tuple[Language, ...] = (
    Language("en", "English"),
    Language("bg", "Български"),
    Language("es", "Español"),
    Language("hu", "Magyar"),
    Language("pl", "Polski"),
    Language("pt_BR", "Português (Brasil)"),
    Language("ro", "Română"),
    Language("th", "ไทย"),
    Language("zh_Hans", "简体中文"),
)
CODES: tuple[str, ...] = tuple(language.code for language in LANGUAGES)
_BY_CODE = {language.code: language for language in LANGUAGES}


def language(code: str | None) -> Language:
    """The language for `code`, or the source language for anything unknown."""
    return _BY_CODE.get(code or "", _BY_CODE[SOURCE])


def supported(code: object) -> bool:
    return isinstance(code, str) and code in _BY_CODE
