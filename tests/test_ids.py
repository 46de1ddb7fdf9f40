"""Row ids: random, and shown as they are wherever they are exported."""

from __future__ import annotations

from app.common.csv_export import safe_cell
from app.common.ids import new_id


def test_new_ids_never_start_with_a_character_the_csv_exports_would_mark() -> None:
    # A report id once started with "-" one time in 64, came out of the police export as
    # "'-5IG...", and matched no record.
    ids = [new_id() for _ in range(5_000)]
    assert all(safe_cell(i) == i for i in ids)
    assert len(set(ids)) == len(ids)
