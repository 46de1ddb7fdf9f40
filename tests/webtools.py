"""Driving forms the way a browser does: fetch the page, take its CSRF token, post."""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, f"no csrf_token field on {url}"
    return match.group(1) or match.group(2)


def post_form(client, url: str, data: Mapping[str, object], *, form_url: str | None = None,
              **kwargs: object):
    """POST `data` to `url` with the CSRF token from the page at `form_url` (default: url)."""
    token = csrf_token(client, form_url or url)
    return client.post(url, data={**data, "csrf_token": token}, **kwargs)


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))
