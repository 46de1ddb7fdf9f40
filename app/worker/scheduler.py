"""The worker's jobs on APScheduler, with an in-memory job store.

The store holds only references to these functions and their non-secret arguments: no
contact, no key material is ever serialised (MemoryJobStore never writes anywhere), and a
restart rebuilds the schedule from code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import nacl.signing
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.blocking import BlockingScheduler

from app.common.clock import UK
from app.disclosures.notices import release_due_notices
from app.vault.db import Connection, Rights, connect
from app.worker import retention
from app.worker.delivery import Courier, deliver_all_due

log = logging.getLogger("uglymugs.worker")


class Jobs:
    """Each job opens its own connection, does one thing, and closes it."""

    def __init__(self, database_path: Path, database_key: bytes, courier: Courier,
                 clock: Callable[[], datetime],
                 signing_key: nacl.signing.SigningKey | None) -> None:
        self._path = database_path
        self._key = database_key
        self._courier = courier
        self._clock = clock
        self._signing_key = signing_key

    def __repr__(self) -> str:  # the scheduler may log jobs; keep secrets out of it
        return "Jobs()"

    def _connect(self) -> Connection:
        return connect(self._path, self._key, Rights.SERVICE)

    def deliver(self) -> None:
        conn = self._connect()
        try:
            release_due_notices(conn, self._clock())  # disclosure notices whose delay ended
            deliver_all_due(conn, self._courier, self._clock)
        finally:
            conn.close()

    def retain(self) -> None:
        conn = self._connect()
        try:
            done = retention.purge(conn, self._clock())
            log.info("retention: %d applications, %d alerts, %d notices, %d sessions, "
                     "%d reset codes removed", done.applications, done.alerts, done.notices,
                     done.sessions, done.resets)
        finally:
            conn.close()

    def checkpoint(self) -> None:
        if self._signing_key is None:
            log.warning("no audit signing key: daily checkpoint skipped")
            return
        from app.audit.checkpoints import LogNotVerified, make_checkpoint

        conn = self._connect()
        try:
            made = make_checkpoint(conn, self._signing_key, self._clock())
            log.info("audit checkpoint: %s", f"seq {made.seq}" if made else "nothing new")
        except LogNotVerified as error:
            log.error("audit checkpoint refused: the log does not verify (%s)", error)
        finally:
            conn.close()

    def all_once(self) -> None:
        self.deliver()
        self.retain()
        self.checkpoint()


def build_scheduler(jobs: Jobs, *, delivery_seconds: int = 10) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone=UK,
    )
    scheduler.add_job(jobs.deliver, "interval", seconds=delivery_seconds, id="deliver",
                      next_run_time=datetime.now(UK))
    scheduler.add_job(jobs.retain, "cron", hour=3, minute=15, id="retention")
    scheduler.add_job(jobs.checkpoint, "cron", hour=2, minute=45, id="checkpoint")
    return scheduler
