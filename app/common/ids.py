"""Ids for rows and digests of session tokens: random, derived from nothing a person typed."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext

from app.common.validation import Invalid


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

    Short enough to quote on the phone; its uniqueness is the database's to enforce. The
    alphabet has 32 letters, 5 bits each, so one draw of 40 bits gives all eight without
    bias (secrets.choice drew from the system once or twice per letter).
    """
    bits = secrets.randbits(40)
    chars = "".join(REFERENCE_ALPHABET[(bits >> shift) & 31] for shift in range(0, 40, 5))
    return f"{chars[:4]}-{chars[4:]}"


def token_hash(token: str) -> bytes:
    """What the server keeps of a session token (the cookie holds the token itself)."""
    return hashlib.blake2b(token.encode("ascii"), digest_size=32,
                           person=b"um-session").digest()


# What tables show of an id (templates cut ids to this many characters), and the least a
# person must type: six characters of a random id leave 64**6 (about 7e10) choices, so a
# prefix that short still names one record, and a clash is reported rather than guessed.
SHORT_ID_CHARS = 8
MIN_PREFIX_CHARS = 6
FULL_ID_CHARS = 22
_ID_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def looks_like_id(typed: str) -> bool:
    """Whether `typed` could be an id or the start of one (a row id's own alphabet)."""
    return 0 < len(typed) <= 64 and set(typed) <= _ID_ALPHABET


class UnknownId(Invalid):
    """No record has the id typed, or the typed text starts no id of the right kind."""

    summary = "unknown id"


class AmbiguousId(Invalid):
    """A short id that starts more than one record's id: the person must type more."""

    summary = "ambiguous id"


def resolve_id(typed: str, starting_with: Callable[[str, int], Sequence[str]]) -> str:
    """The one full id that `typed` (a full id or the short id a table shows) names.

    `starting_with(prefix, limit)` gives at most `limit` ids of the right table that start
    with `prefix`. Raises UnknownId or AmbiguousId with words for the page; the words quote
    the typed id only when it is made of id characters (an id is no personal data, but
    whatever else was typed may be), and never name the records a short id matches.
    """
    typed = typed.strip()
    if not looks_like_id(typed):
        raise UnknownId(_l("That is not a record id: copy the id shown on the record's "
                           "page."))
    if len(typed) < MIN_PREFIX_CHARS:
        raise UnknownId(_l("Type at least %(num)d characters of the id %(id)s.",
                           num=MIN_PREFIX_CHARS, id=typed))
    found = list(starting_with(typed, 2))
    if typed in found:
        return typed
    if not found:
        raise UnknownId(_l("No record with id %(id)s.", id=typed))
    if len(found) > 1:
        count = len(list(starting_with(typed, 100)))
        raise AmbiguousId(lazy_ngettext("%(id)s matches %(num)d record: type more of the id.",
                                        "%(id)s matches %(num)d records: type more of the id.",
                                        count, id=typed))
    return found[0]
