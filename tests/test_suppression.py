"""Small-cell suppression (app/statistics/suppression.py): properties over random tables.

The reader these tests play is stronger than a real one: they know the *exact* true value
of every published entry (as if nothing were rounded), that "fewer than 10" means 1 to 9,
that "not shown" means 10 or more, and that rows and columns add up to their totals. For
every count 1 to 9 that a table hides, the test builds a second table that fits all of that
and differs in that count, then checks the second table from first principles (its own
sums, each label's range). So no published table lets a small count be recovered.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.statistics.suppression import (
    HIDDEN,
    SHOWN,
    SMALL,
    Published,
    Table1D,
    Table2D,
    national,
    publish_1d,
    publish_2d,
    round_to_base,
)

# Mostly small counts, with the edges that corner a naive rule (1s, 9s, 10s) common.
COUNT = st.one_of(st.sampled_from([0, 1, 2, 8, 9, 10, 11, 12, 13]), st.integers(0, 15),
                  st.integers(0, 80))
ONE_D = st.lists(COUNT, min_size=0, max_size=10)
TWO_D = st.integers(1, 4).flatmap(
    lambda width: st.lists(st.lists(COUNT, min_size=width, max_size=width),
                           min_size=1, max_size=4))


def _in_label_range(entry: Published, value: int) -> bool:
    if entry.status == SMALL:
        return 1 <= value <= 9
    if entry.status == HIDDEN:
        return value >= 10
    raise AssertionError("only hidden entries have a range")


def _check_published_number(entry: Published, truth: int) -> None:
    """A shown number is the true count rounded to the nearest 5, and never 1 to 9."""
    if entry.status == SHOWN:
        assert entry.value is not None
        assert entry.value == 0 or entry.value >= 10
        assert entry.value % 5 == 0 and abs(entry.value - truth) <= 2
        assert entry.value == round_to_base(truth)
        assert (entry.value == 0) == (truth == 0), "only a true zero is shown as 0"
    else:
        assert entry.value is None
        assert entry.status == (SMALL if 1 <= truth <= 9 else HIDDEN)
    if 1 <= truth <= 9:
        assert entry.status == SMALL, "every count 1 to 9 is 'fewer than 10'"
    if truth == 0:
        assert entry.status == SHOWN, "a zero is shown as 0"


# One dimension ------------------------------------------------------------------------


def _witness_1d(table: Table1D, truth: list[int], e: int) -> list[int] | None:
    """Another table (cells + total) that publishes the same, differing at entry e."""
    entries = [*table.cells, table.total]
    full = [*truth, sum(truth)]
    last = len(full) - 1
    hidden = [i for i, p in enumerate(entries) if p.status != SHOWN]
    for delta in (1, -1):
        for f in hidden:
            if f == e:
                continue
            candidate = list(full)
            candidate[e] += delta
            # Keep the line adding up: a cell moves against a cell, with the total.
            candidate[f] += delta if last in (e, f) else -delta
            if all(_in_label_range(entries[i], candidate[i]) for i in hidden):
                return candidate
    return None


def _check_witness_1d(table: Table1D, truth: list[int], witness: list[int], e: int) -> None:
    entries = [*table.cells, table.total]
    full = [*truth, sum(truth)]
    assert sum(witness[:-1]) == witness[-1], "the other table adds up"
    for i, entry in enumerate(entries):
        if entry.status == SHOWN:
            assert witness[i] == full[i], "and agrees with every published number exactly"
        else:
            assert _in_label_range(entry, witness[i]), "and with every label"
    assert witness[e] != full[e]


@settings(max_examples=300, deadline=None)
@given(ONE_D)
@example([1] * 10)
@example([1, 1, 30])
@example([9, 9, 20])
@example([3, 0, 0])
@example([])
def test_one_dimension_hides_every_small_count_beyond_recovery(counts: list[int]) -> None:
    table = publish_1d(counts)
    if table.withheld:
        assert table.cells == () and table.total.value is None, "a withheld table shows nothing"
        return
    assert len(table.cells) == len(counts)
    for entry, truth in zip(table.cells, counts, strict=True):
        _check_published_number(entry, truth)
    _check_published_number(table.total, sum(counts))
    assert table.total.status != HIDDEN, "the total is hidden only when it is 1 to 9"
    entries = [*table.cells, table.total]
    hidden = [i for i, p in enumerate(entries) if p.status != SHOWN]
    assert len(hidden) != 1, "never exactly one hidden entry in the line"
    for e, entry in enumerate(entries):
        if entry.status == SMALL:
            witness = _witness_1d(table, counts, e)
            assert witness is not None, f"entry {e} of {counts} can be worked out"
            _check_witness_1d(table, counts, witness, e)


# Two dimensions -----------------------------------------------------------------------


def _augment(rows: list[list[int]]) -> list[list[int]]:
    out = [[*row, sum(row)] for row in rows]
    columns = [sum(row[j] for row in rows) for j in range(len(rows[0]))]
    return [*out, [*columns, sum(columns)]]


def _published_grid(table: Table2D) -> list[list[Published]]:
    rows = [[*cells, total] for cells, total in zip(table.cells, table.row_totals, strict=True)]
    return [*rows, [*table.column_totals, table.total]]


def _witness_2d(grid: list[list[Published]], full: list[list[int]],
                e: tuple[int, int]) -> list[list[int]] | None:
    """Search alternating +1/-1 paths through hidden entries (cells and margins alike).

    Margins are treated as a cell of the augmented table that enters its row and column
    with a minus sign (a row total grows when its cells grow), so a change of d to a cell
    is balanced in its column by a change of -d to another cell, or of +d to the column
    total, and so on, back to e's row.
    """
    height, width = len(full), len(full[0])
    hidden = {(i, j) for i in range(height) for j in range(width)
              if grid[i][j].status != SHOWN}

    def sign(i: int, j: int) -> int:
        return -1 if (i == height - 1) != (j == width - 1) else 1

    def fits(changes: dict[tuple[int, int], int]) -> bool:
        return all(_in_label_range(grid[i][j], full[i][j] + change)
                   for (i, j), change in changes.items())

    def walk(changes: dict[tuple[int, int], int], at: tuple[int, int], step: int,
             along_column: bool, rows_used: set[int], cols_used: set[int]):
        """`step` is the signed change just made at `at`; balance it along a line."""
        i, j = at
        for k in range(height if along_column else width):
            nxt = (k, j) if along_column else (i, k)
            if nxt == at or nxt not in hidden or nxt in changes:
                continue
            signed = -step  # the signed change that keeps this line at zero
            moved = {**changes, nxt: signed * sign(*nxt)}
            if not fits({nxt: moved[nxt]}):
                continue
            if along_column and nxt[0] == e[0]:
                return moved  # back in e's row: the row is balanced too
            if along_column:
                if nxt[0] in rows_used:
                    continue
                found = walk(moved, nxt, signed, False, rows_used | {nxt[0]}, cols_used)
            else:
                if nxt[1] in cols_used:
                    continue
                found = walk(moved, nxt, signed, True, rows_used, cols_used | {nxt[1]})
            if found is not None:
                return found
        return None

    for delta in (1, -1):
        start = {e: delta}
        if not fits(start):
            continue
        found = walk(start, e, delta * sign(*e), True, {e[0]}, {e[1]})
        if found is not None:
            witness = [list(row) for row in full]
            for (i, j), change in found.items():
                witness[i][j] += change
            return witness
    return None


def _check_witness_2d(grid: list[list[Published]], full: list[list[int]],
                      witness: list[list[int]], e: tuple[int, int]) -> None:
    height, width = len(full), len(full[0])
    for i in range(height):
        assert sum(witness[i][:-1]) == witness[i][-1], "every row adds up to its total"
    for j in range(width):
        assert sum(witness[i][j] for i in range(height - 1)) == witness[-1][j], \
            "every column adds up to its total"
    for i in range(height):
        for j in range(width):
            if grid[i][j].status == SHOWN:
                assert witness[i][j] == full[i][j]
            else:
                assert _in_label_range(grid[i][j], witness[i][j])
    assert witness[e[0]][e[1]] != full[e[0]][e[1]]


def _lines(height: int, width: int) -> list[list[tuple[int, int]]]:
    return ([[(i, j) for j in range(width)] for i in range(height)]
            + [[(i, j) for i in range(height)] for j in range(width)])


@settings(max_examples=300, deadline=None)
@given(TWO_D)
@example([[3, 20], [2, 30]])
@example([[1, 1], [1, 1]])
@example([[9, 1]])
@example([[1, 0], [0, 12]])
@example([[12, 3, 0], [40, 0, 7], [0, 0, 0]])
def test_two_dimensions_hide_every_small_count_beyond_recovery(rows: list[list[int]]) -> None:
    table = publish_2d(rows)
    if table.withheld:
        assert table.cells == () and table.total.value is None, "a withheld table shows nothing"
        return
    full = _augment(rows)
    grid = _published_grid(table)
    height, width = len(full), len(full[0])
    for i in range(height):
        for j in range(width):
            _check_published_number(grid[i][j], full[i][j])
    assert table.total.status != HIDDEN, "the grand total is hidden only when it is 1 to 9"
    for line in _lines(height, width):
        statuses = [grid[i][j].status for i, j in line]
        if SMALL in statuses:
            assert statuses.count(SHOWN) <= len(statuses) - 2, \
                "a line with a small count hides at least one more entry"
    for i in range(height):
        for j in range(width):
            if grid[i][j].status == SMALL:
                witness = _witness_2d(grid, full, (i, j))
                assert witness is not None, f"entry {(i, j)} of {rows} can be worked out"
                _check_witness_2d(grid, full, witness, (i, j))


# The rules, by example ----------------------------------------------------------------


def _text(entry: Published) -> str | int:
    return entry.value if entry.shown else ("<10" if entry.small else "hidden")


def test_a_lone_small_count_takes_the_next_smallest_with_it() -> None:
    table = publish_1d([3, 12, 20])
    assert [_text(c) for c in table.cells] == ["<10", "hidden", 20]
    assert _text(table.total) == 35, "the total is the true 35 rounded, not 20 + a guess"


def test_zeros_are_shown_and_a_small_total_is_hidden_with_its_only_cell() -> None:
    table = publish_1d([0, 0, 4])
    assert [_text(c) for c in table.cells] == [0, 0, "<10"]
    assert _text(table.total) == "<10"


def test_two_ones_that_add_up_to_what_is_left_take_a_third_cell() -> None:
    # 1 + 1 = 32 - 30 would give both away: the 30 is hidden too.
    table = publish_1d([1, 1, 30])
    assert [_text(c) for c in table.cells] == ["<10", "<10", "hidden"]


def test_a_table_that_cannot_be_protected_is_withheld() -> None:
    assert publish_1d([1] * 10).withheld  # ten ones, total 10: each must be 1


def test_a_small_column_total_is_protected_by_another_column() -> None:
    table = publish_2d([[3, 20], [2, 30]])
    assert table.column_totals[0].small
    assert table.column_totals[1].hidden, "otherwise 55 - 50 gives the small total away"


def test_national_figures_are_rounded_not_suppressed() -> None:
    assert [national(n) for n in (0, 1, 2, 3, 7, 8, 12, 13, 1234)] == \
        [0, 5, 5, 5, 5, 10, 10, 15, 1235]


def test_rounding_is_to_the_nearest_five() -> None:
    assert [round_to_base(n) for n in (10, 11, 12, 13, 14, 15, 17, 18)] == \
        [10, 10, 10, 15, 15, 15, 15, 20]


def test_at_most_two_dimensions() -> None:
    with pytest.raises(TypeError):
        publish_2d([[[1, 2]], [[3, 4]]])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        publish_1d([[1, 2]])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        publish_2d([[1, 2], [3]])
    with pytest.raises(ValueError):
        publish_1d([-1])
