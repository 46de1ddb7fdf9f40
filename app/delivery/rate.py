"""Send-rate spacing per channel: a relay or gateway that is sent too much too fast
starts refusing (or flags the scheme as a spammer), so sends are spaced evenly."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class SendRate:
    """At most `per_second` sends a second, evenly spaced (no bursts).

    `wait()` blocks until the next send is allowed and claims that slot. Thread-safe:
    concurrent callers queue up one interval apart. `clock` and `sleep` are injectable
    for tests (a monotonic clock in seconds, and a sleep that advances it).
    """

    def __init__(self, per_second: float, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if (isinstance(per_second, bool) or not isinstance(per_second, int | float)
                or not math.isfinite(per_second) or per_second <= 0):
            raise ValueError("a send rate must be a positive number of sends per second")
        self.per_second = float(per_second)
        self.interval = 1.0 / self.per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: float | None = None

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            slot = now if self._next is None or now >= self._next else self._next
            if slot > now:
                self._sleep(slot - now)
            # The next slot is one interval after this slot, not after the sleep ended: a
            # sleep overruns (by a tenth of a millisecond or more on a busy machine), and
            # counting from its end pushed every later send back by each overrun, so
            # 1,000 a second sent about 885. A send that is late (the caller was busy)
            # takes its slot when it comes: nothing is saved up for a burst.
            self._next = slot + self.interval
