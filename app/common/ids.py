"""Ids for rows and digests of session tokens: random, derived from nothing a person typed."""

from __future__ import annotations

import hashlib
import secrets


def new_id() -> str:
    """A row id: 128 random bits, URL-safe. Sealed rows need it before they are written.

    Never starting with "-": such an id reads as an option on a command line, and the CSV
    exports mark a cell that starts so as a possible formula (app/common/csv_export.py),
    where an exported id must still match its record.
    """
    while True:
        candidate = secrets.token_urlsafe(16)
        if not candidate.startswith("-"):
            return candidate


# Crockford's base 32 without I, L, O and U: read aloud or copied by hand without mix-ups.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_reference() -> str:
    """A report's short reference, like "7KQ2-M9XD": 40 random bits, derived from nothing.

    Short enough to quote on the phone; its uniqueness is the database's to enforce.
    """
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def token_hash(token: str) -> bytes:
    """What the server keeps of a session token (the cookie holds the token itself)."""
    return hashlib.blake2b(token.encode("ascii"), digest_size=32,
                           person=b"um-session").digest()
