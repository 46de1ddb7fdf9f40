"""Numbered form rows (`identifiers-3-kind`, `identifiers-3-value`), read without ever raising.

A form that lets someone add rows posts each field as PREFIX-N-FIELD. Every field of a row
is matched to the others by its number N, never by its position among the posted keys:
a browser may leave out an unticked box, and a hand-made post may leave gaps, so
position would attach a "publish" tick to the wrong identifier.

Only ASCII decimal numbers from 0 to MAX_ROW_NUMBER, written without leading zeros, name
a row. `str.isdigit()` is no guide: it is true for "²" and "٣", which `int()` refuses or
reads as another number. A key under the prefix that is not a well-formed row key makes
the whole set unreadable (the caller answers 400 with `problem`), so a mistyped row is
never dropped silently; keys outside the prefix are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

MAX_ROW_NUMBER = 999
# [0-9] in a str pattern matches the ten ASCII digits only (no re.ASCII needed for a class).
_NUMBER = re.compile(r"0|[1-9][0-9]{0,2}")


@dataclass(frozen=True)
class IndexedRows:
    """The rows found, by number; `unreadable` counts keys that looked like rows but were not."""

    rows: tuple[tuple[int, Mapping[str, str]], ...]
    unreadable: int = 0

    @property
    def problem(self) -> object | None:
        if not self.unreadable:
            return None
        return _l("Some rows of this form could not be read, so nothing was saved. "
                  "Please fill them in again and send the form.")

    def values(self, *fields: str) -> list[tuple[str, ...]]:
        """Each row's values for `fields`, in row-number order ("" for a field not sent)."""
        return [tuple(row.get(name, "") for name in fields) for _number, row in self.rows]


def indexed_rows(form: Mapping[str, object], prefix: str, fields: Collection[str],
                 max_row: int = MAX_ROW_NUMBER) -> IndexedRows:
    """The PREFIX-N-FIELD rows of a posted form (a MultiDict gives the first of repeated keys)."""
    found: dict[int, dict[str, str]] = {}
    unreadable = 0
    start = f"{prefix}-"
    for key in form:
        if not isinstance(key, str) or not key.startswith(start):
            continue
        number_text, dash, field = key[len(start):].partition("-")
        if (not dash or field not in fields or _NUMBER.fullmatch(number_text) is None
                or int(number_text) > max_row):
            unreadable += 1
            continue
        value = form.get(key)
        found.setdefault(int(number_text), {})[field] = value if isinstance(value, str) else ""
    return IndexedRows(rows=tuple(sorted(found.items())), unreadable=unreadable)
