"""Small-cell suppression for published statistics: pure functions, no Flask, no database.

Every figure below scheme-wide level goes through :func:`publish_1d` (one breakdown) or
:func:`publish_2d` (two dimensions crossed, with row, column and grand totals). There is no
function for three or more dimensions, and ``publish_2d`` refuses deeper input: at most two
dimensions are ever crossed in one table. Scheme-wide single figures (total active
members, say) go through :func:`national`.

The rules
---------
1. **Primary suppression.** A count from 1 to 9 (a cell or a total) is published as
   "fewer than 10" (status ``SMALL``).
2. **Rounding.** Every other published number is the true count rounded to the nearest 5
   (there are no ties: counts are integers). A count of 10 or more rounds to 10 or more,
   so no published number is below 10 except 0.
3. **Zeros are shown as 0**, and a zero is never suppressed. A true zero says that nobody
   is in that cell, which is not a fact about any person; what must not be possible is to
   work out a hidden count 1 to 9 from the zeros, the other cells and the totals, and the
   check in rule 5 counts zeros as exactly known.
4. **Totals** are computed from the true counts, then published by the same rules (rounded,
   or "fewer than 10"), so a total need not equal the sum of the published cells.
5. **Secondary suppression.** Further counts of 10 or more are hidden (status ``HIDDEN``,
   "not shown") until both of these hold:

   a. no line (a row with its total, a column with its total, the row of column totals
      with the grand total, the column of row totals with the grand total) holds exactly
      one hidden entry while it still has a non-zero count to hide beside it (the rule in
      issue 6, repeated until stable); and
   b. no hidden count from 1 to 9 can be recovered exactly (see below).

   Each step hides the smallest remaining non-zero count: in the lonely line for (a); in
   the stuck entry's row or column for (b), else anywhere in the table. Cells go before
   row and column totals (two dimensions only).

   The grand total is never hidden for secondary reasons (it is the scheme-wide figure,
   published elsewhere too), and a 1-D table's total is its grand total. If the table
   cannot be protected with what is left, the whole table is **withheld** (``withheld``).

What "cannot be recovered" means (rule 5b)
-------------------------------------------
The reader is assumed to know more than is published: the **exact** true value of every
published entry (as if nothing were rounded), that a "fewer than 10" entry is 1 to 9, that
a "not shown" entry is 10 or more, and that every row and column adds up to its total. A
hidden count 1 to 9 is safe when at least two different values of it fit all of that.
Because the real reader sees rounded numbers, everything that fits the exact picture also
fits what is published, so the guarantee holds with room to spare.

The check is exact, not a rule of thumb. Write the table with its totals as an
(r+1) x (c+1) array whose totals are negated and whose grand total is positive: every row
and column of that array sums to zero. The difference between two tables that publish the
same is then a zero-sum array on the hidden entries, which splits into simple cycles that
alternate +1/-1 along a row, then a column, and so on, each staying within the bounds the
labels give. So a hidden entry can take another value exactly when such a cycle passes
through it: in the directed graph with an arc row -> column for each hidden entry that can
grow by 1 and column -> row for each that can shrink by 1, the arc for the entry lies on a
cycle. In one dimension every hidden entry sits on the single line, and it is enough to
find one other hidden entry that can move the opposite way.

The "smallest remaining" choice is simple rather than optimal; it errs towards hiding more.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

THRESHOLD = 10  # counts from 1 to THRESHOLD - 1 are "fewer than 10"
BASE = 5  # published numbers are multiples of this

SHOWN = "shown"
SMALL = "small"  # a true count 1..9: "fewer than 10"
HIDDEN = "hidden"  # a count of 10 or more hidden to protect a small one: "not shown"

_UNBOUNDED = None


@dataclass(frozen=True)
class Published:
    """One published number: ``value`` when shown, else None with the reason in ``status``."""

    status: str
    value: int | None = None

    @property
    def shown(self) -> bool:
        return self.status == SHOWN

    @property
    def small(self) -> bool:
        return self.status == SMALL

    @property
    def hidden(self) -> bool:
        return self.status == HIDDEN


@dataclass(frozen=True)
class Table1D:
    """One breakdown and its total. A withheld table publishes no number at all."""

    cells: tuple[Published, ...]
    total: Published
    withheld: bool = False


@dataclass(frozen=True)
class Table2D:
    """Two dimensions crossed: cells[row][column], with every margin and the grand total."""

    cells: tuple[tuple[Published, ...], ...]
    row_totals: tuple[Published, ...]
    column_totals: tuple[Published, ...]
    total: Published
    withheld: bool = False


def round_to_base(count: int) -> int:
    """The nearest multiple of 5 (counts are integers, so there is never a tie)."""
    _check_count(count)
    return (count + BASE // 2) // BASE * BASE


def national(count: int) -> int:
    """A scheme-wide single figure: rounded to the nearest 5 and not suppressed.

    A non-zero count is never published as 0 (1 and 2 become 5): "none" would be untrue.
    """
    _check_count(count)
    if count == 0:
        return 0
    return max(BASE, round_to_base(count))


def publish_1d(counts: Sequence[int]) -> Table1D:
    """Publish one breakdown (one dimension) with its total, under the rules above."""
    values = [_check_count(c) for c in _sequence(counts)]
    total = sum(values)
    entries = [*values, total]  # the total is the last entry
    lo_hi = _Bounds(entries, total_positions={len(values)})
    hidden = {i for i, v in enumerate(entries) if _is_small(v)}
    line = range(len(entries))
    while True:
        need = _count_in(hidden, line) == 1 or _first_recoverable_1d(entries, hidden, lo_hi)
        if not need:
            break
        candidates = [i for i in range(len(values)) if i not in hidden and values[i] > 0]
        if not candidates:
            return Table1D(cells=(), total=Published(HIDDEN), withheld=True)
        hidden.add(min(candidates, key=lambda i: (values[i], i)))
    published = [_publish(v, i in hidden) for i, v in enumerate(entries)]
    return Table1D(cells=tuple(published[:-1]), total=published[-1])


def publish_2d(counts: Sequence[Sequence[int]]) -> Table2D:
    """Publish two dimensions crossed (rows x columns) with all margins, under the rules.

    ``counts`` is a rectangular table of non-negative ints; a third dimension is refused.
    """
    rows = [[_check_count(c) for c in _sequence(row)] for row in _sequence(counts)]
    if not rows or not rows[0] or any(len(row) != len(rows[0]) for row in rows):
        raise ValueError("a two-dimensional table needs at least one row and one column, "
                         "all rows the same length")
    grid = _augmented(rows)
    height, width = len(grid), len(grid[0])
    grand = (height - 1, width - 1)
    hidden = {(i, j) for i in range(height) for j in range(width) if _is_small(grid[i][j])}

    def candidates(positions: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        return [p for p in positions
                if p != grand and p not in hidden and grid[p[0]][p[1]] > 0]

    def choose(found: list[tuple[int, int]]) -> tuple[int, int]:
        # Inner cells before margins, then the smallest count, then reading order.
        return min(found, key=lambda p: (p[0] == height - 1 or p[1] == width - 1,
                                         grid[p[0]][p[1]], p))

    while True:
        # A line with one hidden entry and something left to hide in it (a lone hidden
        # entry with nothing else to hide beside it is a count of 10 or more: rule 5b
        # below decides whether it matters).
        found = next((c for c in map(candidates, _lonely_lines(hidden, height, width)) if c),
                     [])
        if not found:
            stuck = _first_recoverable_2d(grid, hidden)
            if stuck is None:
                break
            i, j = stuck
            found = candidates([(i, k) for k in range(width)] + [(k, j) for k in range(height)])
            if not found:
                found = candidates((i, j) for i in range(height) for j in range(width))
        if not found:
            return _withheld_2d()
        hidden.add(choose(found))
    published = [[_publish(grid[i][j], (i, j) in hidden) for j in range(width)]
                 for i in range(height)]
    return Table2D(
        cells=tuple(tuple(row[:-1]) for row in published[:-1]),
        row_totals=tuple(row[-1] for row in published[:-1]),
        column_totals=tuple(published[-1][:-1]),
        total=published[-1][-1],
    )


# Internals -----------------------------------------------------------------------------


def _sequence(value: object) -> Sequence[object]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TypeError("expected a sequence of counts")
    return value


def _check_count(count: object) -> int:
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError("a count must be an int (a table has at most two dimensions)")
    if count < 0:
        raise ValueError("a count cannot be negative")
    return count


def _is_small(count: int) -> bool:
    return 1 <= count < THRESHOLD


def _publish(count: int, hidden: bool) -> Published:
    if not hidden:
        return Published(SHOWN, round_to_base(count))
    return Published(SMALL if _is_small(count) else HIDDEN)


def _count_in(hidden: set[int], line: Iterable[int]) -> int:
    return sum(1 for i in line if i in hidden)


def _label_bounds(count: int) -> tuple[int, int | None]:
    """What the labels tell a reader about a hidden count: 1..9, or 10 and more."""
    return (1, THRESHOLD - 1) if _is_small(count) else (THRESHOLD, _UNBOUNDED)


class _Bounds:
    """Signed view of one line: cells count +1, the total -1, so the line sums to zero."""

    def __init__(self, entries: list[int], total_positions: set[int]) -> None:
        self.sign = [-1 if i in total_positions else 1 for i in range(len(entries))]
        self.value = [s * v for s, v in zip(self.sign, entries, strict=True)]
        self.lo: list[int | None] = []
        self.hi: list[int | None] = []
        for s, v in zip(self.sign, entries, strict=True):
            low, high = _label_bounds(v)
            if s > 0:
                self.lo.append(low)
                self.hi.append(high)
            else:
                self.lo.append(None if high is None else -high)
                self.hi.append(-low)

    def can_grow(self, i: int) -> bool:
        high = self.hi[i]
        return high is None or self.value[i] < high

    def can_shrink(self, i: int) -> bool:
        low = self.lo[i]
        return low is None or self.value[i] > low


def _first_recoverable_1d(entries: list[int], hidden: set[int], bounds: _Bounds) -> bool:
    """True if some hidden count 1..9 has only one value that fits the exact picture."""
    for e in sorted(hidden):
        if not _is_small(entries[e]):
            continue
        others = [f for f in hidden if f != e]
        up = bounds.can_grow(e) and any(bounds.can_shrink(f) for f in others)
        down = bounds.can_shrink(e) and any(bounds.can_grow(f) for f in others)
        if not (up or down):
            return True
    return False


def _augmented(rows: list[list[int]]) -> list[list[int]]:
    """The table with row totals as a last column, column totals and grand total as a last row."""
    width = len(rows[0])
    out = [[*row, sum(row)] for row in rows]
    column_totals = [sum(row[j] for row in rows) for j in range(width)]
    out.append([*column_totals, sum(column_totals)])
    return out


def _lonely_lines(hidden: set[tuple[int, int]], height: int,
                  width: int) -> Iterable[list[tuple[int, int]]]:
    """Rows, then columns, of the augmented table that hold exactly one hidden entry."""
    lines = ([[(i, j) for j in range(width)] for i in range(height)]
             + [[(i, j) for i in range(height)] for j in range(width)])
    return (line for line in lines if sum(p in hidden for p in line) == 1)


def _signed_bounds(grid: list[list[int]], i: int, j: int) -> tuple[int, int | None, int | None]:
    """(signed value, lower, upper) of entry (i, j): margins negated, the grand total not."""
    height, width = len(grid), len(grid[0])
    margin = (i == height - 1) != (j == width - 1)
    count = grid[i][j]
    low, high = _label_bounds(count)
    if not margin:
        return count, low, high
    return -count, (None if high is None else -high), -low


def _first_recoverable_2d(grid: list[list[int]],
                          hidden: set[tuple[int, int]]) -> tuple[int, int] | None:
    """The first hidden count 1..9 that no cycle of hidden entries can move, if any."""
    grow: dict[tuple[int, int], bool] = {}
    shrink: dict[tuple[int, int], bool] = {}
    for (i, j) in hidden:
        value, low, high = _signed_bounds(grid, i, j)
        grow[(i, j)] = high is None or value < high
        shrink[(i, j)] = low is None or value > low
    for e in sorted(hidden):
        if not _is_small(grid[e[0]][e[1]]):
            continue
        i, j = e
        up = grow[e] and _reaches(("c", j), ("r", i), hidden - {e}, grow, shrink)
        down = shrink[e] and _reaches(("r", i), ("c", j), hidden - {e}, grow, shrink)
        if not (up or down):
            return e
    return None


def _reaches(start: tuple[str, int], goal: tuple[str, int], entries: set[tuple[int, int]],
             grow: dict[tuple[int, int], bool], shrink: dict[tuple[int, int], bool]) -> bool:
    """Breadth-first search: row -> column over entries that can grow, column -> row over
    entries that can shrink (so +1 and -1 alternate and every line keeps its sum)."""
    arcs: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for (i, j) in entries:
        if grow[(i, j)]:
            arcs.setdefault(("r", i), []).append(("c", j))
        if shrink[(i, j)]:
            arcs.setdefault(("c", j), []).append(("r", i))
    seen = {start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            return True
        for nxt in arcs.get(node, ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return False


def _withheld_2d() -> Table2D:
    return Table2D(cells=(), row_totals=(), column_totals=(), total=Published(HIDDEN),
                   withheld=True)
