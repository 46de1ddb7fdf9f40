"""Where to send someone back to: only a path on this site, never another site."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request

MAX_NEXT = 2000


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None.

    A `next` value comes from the request, so anyone can craft one: "//evil.example" and
    "/\\evil.example" are read by browsers as another host, and control characters are
    dropped by browsers before they read it, so all of those are refused here.
    """
    if not target or len(target) > MAX_NEXT:
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def return_to() -> str | None:
    """This page, to come back to after a form elsewhere (a template global); None for a
    page shown by a POST (going back to it would be a GET it does not answer)."""
    if request.method != "GET":
        return None
    return local_path(request.full_path.removesuffix("?"))
