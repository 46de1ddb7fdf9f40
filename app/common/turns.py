"""Request threads take turns at running Python; whoever waits steps aside.

gunicorn runs the app on 8 threads in one process. Every call into SQLite lets go of the
GIL (sqlcipher3 lets go of it for each column of each row it reads), and with 8 threads
wanting it, each let-go became a handover between threads: 100 to 200 per page, each a
futex call and a context switch. Under load half the process's CPU was the kernel moving
the GIL around, not the app.

So a request holds a turn while it runs, and the other request threads wait for the turn
(asleep on one lock) instead of queueing on the GIL: the GIL's let-goes then find nobody
waiting and cost nothing. A request that is about to wait (for the write lock, a group
commit, a password hash, a key file's Argon2id) steps aside first, so the others run
meanwhile, and takes a turn again after.

Turns are for speed, never for correctness: nothing may rely on holding one. A thread
that cannot get a turn within `patience` seconds (someone blocked somewhere that does not
step aside) runs without one, exactly as it would have without turns: a missed
step-aside costs throughput, never a deadlock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

# Far longer than a request's own CPU time, far shorter than anyone notices.
PATIENCE_SECONDS = 0.1


class Turns:
    def __init__(self, patience: float = PATIENCE_SECONDS) -> None:
        self._lock = threading.Lock()
        self._holding = threading.local()
        self._patience = patience

    def holding(self) -> bool:
        """True while this thread has the turn."""
        return bool(getattr(self._holding, "turn", False))

    def _take(self) -> None:
        self._holding.turn = self._lock.acquire(timeout=self._patience)

    def _give_back(self) -> None:
        if self.holding():
            self._holding.turn = False
            self._lock.release()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Around a request: run it as the one request thread running Python now.

        Taken once per thread: a nested turn (a request inside a request, as tests do) is
        part of the outer one.
        """
        if self.holding():
            yield
            return
        self._take()
        try:
            yield
        finally:
            self._give_back()

    @contextmanager
    def aside(self) -> Iterator[None]:
        """Around a wait: let another request run meanwhile, then take a turn again."""
        if not self.holding():
            yield
            return
        self._give_back()
        try:
            yield
        finally:
            self._take()
