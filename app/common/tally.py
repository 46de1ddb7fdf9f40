"""Counts held in memory and handed over in batches (the checker's daily counts).

A durable write per check made every check wait for an fsync on one hot row, and let
anyone who can watch the database file see when each check happened. Counts are added
here instead and written every few minutes, so the stored figure moves in steps that
cannot be matched to any one check.
"""

from __future__ import annotations

import threading
from collections import Counter


class DailyTally:
    """Counts by key (a UK day), thread-safe. Nothing here touches a database."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def take(self) -> dict[str, int]:
        """Everything counted so far, removed from the tally (the caller writes it)."""
        with self._lock:
            taken, self._counts = dict(self._counts), Counter()
        return taken

    def give_back(self, counts: dict[str, int]) -> None:
        """Return what `take` gave when writing it failed, so no count is lost."""
        with self._lock:
            self._counts.update(counts)

    def pending(self, key: str) -> int:
        with self._lock:
            return self._counts[key]
