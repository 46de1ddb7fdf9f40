"""Ids for rows and digests of session tokens: random, derived from nothing a person typed."""

from __future__ import annotations

import hashlib
import secrets


def new_id() -> str:
    """A row id: 128 random bits, URL-safe. Sealed rows need it before they are written."""
    return secrets.token_urlsafe(16)


def token_hash(token: str) -> bytes:
    """What the server keeps of a session token (the cookie holds the token itself)."""
    return hashlib.blake2b(token.encode("ascii"), digest_size=32,
                           person=b"um-session").digest()
