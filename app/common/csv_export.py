"""CSV that a spreadsheet opens as data, never as formulas: the one writer every export uses.

One rule, after OWASP's CSV injection list: a text cell whose first character, once any
leading spaces are skipped (some spreadsheets skip them too), is = + - @ | %, a tab, a
carriage return or a line feed gets a leading apostrophe, so the spreadsheet shows it as
text. Only that first character matters ("members/=x" is left alone), and numbers stay
numbers. The apostrophe is kept when the file is read as plain text: the value is still
all there, after it.

The defusedcsv library was considered and does not fit: it leaves a leading tab, line
break or space-then-formula alone, leaves text such as "-2" unmarked, and rewrites "|" as
"\\|" inside the value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "|", "%", "\t", "\r", "\n")


def safe_cell(value: object) -> object:
    """The value, with a leading apostrophe if it is text a spreadsheet would run."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """The header and rows as CSV text (CRLF line ends), every cell through safe_cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(value) for value in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return out.getvalue()
