"""Work the web process does on a timer, off every request, and once more at shutdown.

Each job runs on its own daemon thread every `seconds`, and `stop()` runs it a last time,
so what it keeps in memory (the checker's counts) is not lost on a clean shutdown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("uglymugs.background")


class Periodic:
    def __init__(self, name: str, seconds: float, job: Callable[[], object]) -> None:
        if seconds <= 0:
            raise ValueError("a periodic job needs a positive interval")
        self.name = name
        self._seconds = seconds
        self._job = job
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"uglymugs-{name}",
                                        daemon=True)
        self._run_lock = threading.Lock()

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def run_once(self) -> None:
        with self._run_lock:
            try:
                self._job()
            except Exception as error:  # logged by type; tried again later
                log.error("%s failed: %s", self.name, type(error).__name__)

    def _loop(self) -> None:
        while not self._stop.wait(self._seconds):
            self.run_once()

    def stop(self) -> None:
        """Stop the timer and run the job one last time."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.run_once()
