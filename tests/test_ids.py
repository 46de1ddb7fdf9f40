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


def test_report_references_use_every_letter_in_every_place_and_only_those() -> None:
    import re
    from collections import Counter

    from app.common.ids import REFERENCE_ALPHABET, new_reference

    drawn = [new_reference() for _ in range(4000)]
    shape = re.compile(rf"[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}")
    assert all(shape.fullmatch(r) for r in drawn)
    for place in (0, 1, 2, 3, 5, 6, 7, 8):
        counts = Counter(r[place] for r in drawn)
        assert set(counts) == set(REFERENCE_ALPHABET)
        # 125 expected per letter; a bias of one bit would halve or double some.
        assert min(counts.values()) > 60 and max(counts.values()) < 200
    assert len(set(drawn)) > 3990
