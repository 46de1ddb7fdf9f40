"""Answers waiting to be counted, held in memory with nothing that says whose or when.

Monitoring answers are counted apart from the application that gave them: a counter that
changed in the same transaction as a new member row would tie the two together in any
two snapshots of the database (the WAL, or two backups). The web process keeps each
application's answers here and adds them to the counters later, in a batch, in random
order (app/membership/monitoring.py). A restart loses what is still waiting: a handful of
anonymous counts, which is the price of never writing them next to a member.
"""

from __future__ import annotations

import threading
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
