"""Monitoring counters: the one writer of `monitoring_counts`, fed in batches.

Answers wait in the web process's Tally (app/common/tally.py) and are counted here, at a
scheduled flush, in random order and in a transaction of their own, never the one that
creates the member. A flush waits until at least MIN_BATCH applications' answers are
waiting, unless the oldest has waited MAX_WAIT, so in a quiet week one applicant's answers
are still counted, just not at a moment that points to them.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from app.common import choices
from app.common.tally import Tally
from app.vault import db
from app.vault.db import Connection, transaction

log = logging.getLogger("uglymugs.monitoring")

MIN_BATCH = 3
MAX_WAIT = timedelta(hours=24)


def monitoring_pairs() -> list[tuple[str, str]]:
    return [(question, value) for question, options in choices.MONITORING_QUESTIONS.items()
            for value in choices.values(options)]


def check_answers(answers: dict[str, str]) -> None:
    valid = set(monitoring_pairs())
    if any(pair not in valid for pair in answers.items()):
        raise ValueError("unknown monitoring answer")


def count(conn: Connection, pairs: list[tuple[str, str]]) -> None:
    """+1 for each (question, answer), in random order, in one transaction.

    Every counter row is created (at zero, in a fixed order) before any is incremented,
    so neither which rows exist nor the order they were made in says what anyone
    answered. Only the counts change.
    """
    valid = set(monitoring_pairs())
    if any(pair not in valid for pair in pairs):
        raise ValueError("unknown monitoring answer")
    shuffled = list(pairs)
    secrets.SystemRandom().shuffle(shuffled)
    with transaction(conn):
        conn.executemany(
            "INSERT OR IGNORE INTO monitoring_counts (question, answer, count) "
            "VALUES (?, ?, 0)", sorted(monitoring_pairs()))
        conn.executemany(
            "UPDATE monitoring_counts SET count = count + 1 WHERE question = ? AND answer = ?",
            shuffled)


def flush(conn: Connection, tally: Tally, now: datetime, *, force: bool = False) -> int:
    """Count what is waiting if a batch is due (or `force`); returns answers counted."""
    oldest = tally.oldest()
    if oldest is None:
        return 0
    if not force and tally.waiting() < MIN_BATCH and now - oldest < MAX_WAIT:
        return 0
    pairs = tally.take()
    try:
        count(conn, pairs)
    except Exception:
        tally.put_back(pairs, now)
        raise
    return len(pairs)


class Flusher:
    """A daemon thread that flushes the tally every `every` seconds, and once at exit."""

    def __init__(self, tally: Tally, connect: Callable[[], Connection],
                 clock: Callable[[], datetime], every: float) -> None:
        self._tally, self._connect, self._clock, self._every = tally, connect, clock, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="monitoring-flush",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _once(self, *, force: bool) -> None:
        conn = self._connect()
        try:
            counted = flush(conn, self._tally, self._clock(), force=force)
            if counted:
                log.info("monitoring: %d answers counted", counted)
        finally:
            conn.close()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._once(force=False)
            except Exception as error:
                log.error("monitoring flush failed: %s", type(error).__name__)

    def stop(self) -> None:
        """Flush whatever waits (a clean shutdown loses nothing), then end the thread."""
        self._stop.set()
        try:
            self._once(force=True)
        except Exception as error:
            log.error("monitoring flush at exit failed: %s", type(error).__name__)


def connector(path: Path, key: bytes) -> Callable[[], Connection]:
    return lambda: db.connect(path, key)
