"""Driving forms the way a browser does: fetch the page, keep its hidden fields, post."""

from __future__ import annotations

import re
from collections.abc import Mapping
from html.parser import HTMLParser


class _HiddenInputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "input" and attributes.get("type") == "hidden" and attributes.get("name"):
            self.values.setdefault(attributes["name"] or "", attributes.get("value") or "")


def hidden_fields(client, url: str) -> dict[str, str]:
    """The hidden inputs (CSRF token, one-time ids) of the page at `url`."""
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    parser = _HiddenInputs()
    parser.feed(page.get_data(as_text=True))
    assert "csrf_token" in parser.values, f"no csrf_token field on {url}"
    return parser.values


def csrf_token(client, url: str) -> str:
    return hidden_fields(client, url)["csrf_token"]


def post_form(client, url: str, data: Mapping[str, object], *, form_url: str | None = None,
              **kwargs: object):
    """POST `data` with the hidden fields of the page at `form_url` (default: url)."""
    return client.post(url, data={**hidden_fields(client, form_url or url), **data}, **kwargs)


# Every page carries at least the language chooser's form, whose token is this session's
# and is signed with the second it was made: pages compared for an oracle leave it out.
_CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*"')


def without_csrf_tokens(page: str) -> str:
    """The page with each CSRF token's value blanked (the field itself stays)."""
    return _CSRF_VALUE.sub(r'\1"', page)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def plain(response) -> str:
    """The page's text as a reader sees it: tags removed, white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
