"""Requests held in memory and handed over in batches, so a request's cost tells nothing.

A password reset asked for by username used to look the account up, and for a member who
could receive a code, write the code and a notice, all before answering: a stranger timing
/reset learned who is a member. Now the request only adds the typed username here, the same
work for every name; a background job takes the batch and does the lookups and writes
(app/auth/reset.py). The same for failed code tries: counted here first, written later, so
a wrong code costs no write whether or not a code was pending. A restart loses what is
still waiting; the person asks again.
"""

from __future__ import annotations

import threading
from collections import Counter, deque

# Far above what the reset limits let through between two batches (app/web/limits.py);
# past it, the oldest go first, whoever they were for.
MAX_WAITING = 10_000


class Waiting:
    def __init__(self, max_items: int = MAX_WAITING) -> None:
        self._items: deque[str] = deque(maxlen=max_items)
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, item: str) -> None:
        with self._lock:
            if len(self._items) == self._items.maxlen:
                dropped = self._items[0]
                self._counts[dropped] -= 1
                if self._counts[dropped] <= 0:
                    del self._counts[dropped]
            self._items.append(item)
            self._counts[item] += 1

    def count(self, item: str) -> int:
        """How many times `item` is waiting (a dictionary look-up: the same for every item)."""
        with self._lock:
            return self._counts.get(item, 0)

    def take(self) -> list[str]:
        """Everything waiting, oldest first; the queue is empty after."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            self._counts.clear()
        return items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
