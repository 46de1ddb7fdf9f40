"""Counts held in memory and handed over in batches, so no stored count can be timed.

Two kinds live here, neither touching a database:

* `Tally`: monitoring answers waiting to be counted, with nothing that says whose or when.
  A counter that changed in the same transaction as a new member row would tie the two
  together in any two snapshots of the database (the WAL, or two backups). The web
  process keeps each application's answers here and adds them to the counters later, in
  a batch, in random order (app/membership/monitoring.py). A restart loses what is still
  waiting: a handful of anonymous counts, the price of never writing them next to a member.
* `DailyTally`: the checker's daily counts. A durable write per check made every check
  wait for an fsync on one hot row, and let anyone who can watch the database file see
  when each check happened. Counts are added here instead and written every few minutes
  (app/checker/service.flush_counts), so the stored figure moves in steps that cannot be
  matched to any one check.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime


class Tally:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sets: list[tuple[tuple[str, str], ...]] = []
        self._since: datetime | None = None

    def add(self, answers: Mapping[str, str], now: datetime) -> None:
        pairs = tuple(sorted(answers.items()))
        if not pairs:
            return
        with self._lock:
            self._sets.append(pairs)
            if self._since is None:
                self._since = now

    def waiting(self) -> int:
        """How many applications' answers are waiting (not how many answers)."""
        with self._lock:
            return len(self._sets)

    def oldest(self) -> datetime | None:
        with self._lock:
            return self._since

    def take(self) -> list[tuple[str, str]]:
        """Every waiting answer, removed from the tally (the caller counts them)."""
        with self._lock:
            taken, self._sets, self._since = self._sets, [], None
        return [pair for answers in taken for pair in answers]

    def put_back(self, pairs: Iterable[tuple[str, str]], now: datetime) -> None:
        """Return answers a failed flush could not count, so none is lost."""
        back = tuple(pairs)
        if back:
            with self._lock:
                self._sets.append(back)
                self._since = self._since or now


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
