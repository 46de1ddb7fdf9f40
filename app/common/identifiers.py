"""Offender identifiers: the kinds, their normalisers, and their full-length blind indexes.

Reports and published alerts index identifiers with the same subkeys, so the number
checker can match a member's query against alerts, and coordinators can link reports
that share an identifier, without anyone unsealing anything. The indexes are full length
(DESIGN.md): exact matching is the point, and what they reveal is that two reports or an
alert and a query name the same offender identifier, never who reported it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from crypto import normalise
from crypto.blind_index import BlindIndexer
from crypto.errors import NormalisationError

KINDS: dict[str, object] = {
    "phone": _l("Phone number"),
    "email": _l("Email address"),
    "plate": _l("Vehicle registration"),
    "handle": _l("Online username or handle"),
    "link": _l("Advert or profile link"),
}
# The checker answers for these; links are matched between reports only.
CHECKABLE = ("phone", "email", "plate", "handle")
_TABLE = "offender_identifier"


@dataclass(frozen=True)
class Identifier:
    kind: str
    value: str  # as typed (trimmed): what the coordinator will read once unsealed


# kind -> (index name, field, index) and the normaliser that feeds it
_INDEXES: dict[str, list[tuple[str, str, str, Callable[[str], str]]]] = {
    "phone": [("phone", "phone", "e164", normalise.normalise_phone)],
    "email": [("email_exact", "email", "exact", normalise.normalise_email),
              ("email_canonical", "email", "canonical", normalise.canonical_email)],
    "plate": [("plate", "plate", "exact", normalise.normalise_plate)],
    "handle": [("handle", "handle", "exact", normalise.normalise_handle)],
    "link": [("link", "link", "exact", normalise.normalise_link)],
}


def index_values(indexer: BlindIndexer, kind: str, raw: str) -> list[tuple[str, bytes]]:
    """(index name, full-length index) pairs for one identifier.

    Raises NormalisationError (with a message for the person who typed it) or ValueError
    for an unknown kind.
    """
    if kind not in _INDEXES:
        raise ValueError(f"unknown identifier kind {kind!r}")
    return [(name, indexer.compute(_TABLE, field, index, normaliser(raw)))
            for name, field, index, normaliser in _INDEXES[kind]]


def check(kind: str, raw: str) -> str | None:
    """A message saying what is wrong with one identifier, or None."""
    if kind not in _INDEXES:
        return str(_l("Choose what kind of identifier this is."))
    # Some normalisers skip control characters (a pasted "\x07" before a number); they
    # are never part of a real identifier, so refuse them here for every caller.
    if any(unicodedata.category(ch) == "Cc" for ch in raw):
        return str(_l("Remove the control characters from this identifier."))
    try:
        for _name, _field, _index, normaliser in _INDEXES[kind]:
            normaliser(raw)
    except NormalisationError as error:
        return str(error)
    return None


def normal_form(kind: str, raw: str) -> str:
    """How an identifier is published and shown: the form its first index is made from
    (E.164 phones, upper-case plates without spaces, folded emails and handles).

    One spelling for everyone: a member comparing a number with what they were given reads
    the same digits the checker matches. Raises NormalisationError or ValueError as
    `index_values` does.
    """
    if kind not in _INDEXES:
        raise ValueError(f"unknown identifier kind {kind!r}")
    return _INDEXES[kind][0][3](raw)


def matching_clause(pairs: list[tuple[str, bytes]], alias: str) -> tuple[str, list[object]]:
    """SQL (alias.index_name = ? AND alias.value = ?) OR ... and its parameters."""
    clause = " OR ".join(f"({alias}.index_name = ? AND {alias}.value = ?)" for _ in pairs)
    return f"({clause})", [part for pair in pairs for part in pair]
