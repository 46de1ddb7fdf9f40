"""Ids for rows and digests of session tokens: random, derived from nothing a person typed."""

from __future__ import annotations

import hashlib
import secrets


def new_id() -> str:
    """A row id: 128 random bits, URL-safe. Sealed rows need it before they are written.

    Never starting with "-": such an id reads as an option on a command line and as a
    formula in a spreadsheet cell, where an export would have to alter it.
    """
    while True:
        candidate = secrets.token_urlsafe(16)
        if not candidate.startswith("-"):
            return candidate


def token_hash(token: str) -> bytes:
    """What the server keeps of a session token (the cookie holds the token itself)."""
    return hashlib.blake2b(token.encode("ascii"), digest_size=32,
                           person=b"um-session").digest()
