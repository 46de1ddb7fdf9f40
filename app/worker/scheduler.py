"""The worker's jobs on APScheduler, with an in-memory job store.

The store holds only references to these functions and their non-secret arguments: no
contact, no key material is ever serialised (MemoryJobStore never writes anywhere), and a
restart rebuilds the schedule from code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nacl.signing
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.blocking import BlockingScheduler

from app.common.clock import UK
from app.disclosures.notices import release_due_notices
from app.vault import backup as backups
from app.vault.db import Connection, Rights, StartupError, connect
from app.worker import retention
from app.worker.delivery import Courier, deliver_all_due

log = logging.getLogger("uglymugs.worker")


@dataclass(frozen=True)
class BackupPlan:
    """Where the nightly backup goes, how many are kept, and the key they are sealed under."""

    directory: Path
    keep: int
    key: bytes = field(repr=False)


class Jobs:
    """Each job opens its own connection, does one thing, and closes it."""

    def __init__(self, database_path: Path, database_key: bytes, courier: Courier,
                 clock: Callable[[], datetime],
                 signing_key: nacl.signing.SigningKey | None,
                 backup_plan: BackupPlan | None = None) -> None:
        self._path = database_path
        self._key = database_key
        self._courier = courier
        self._clock = clock
        self._signing_key = signing_key
        self._backup_plan = backup_plan

    def __repr__(self) -> str:  # the scheduler may log jobs; keep secrets out of it
        return "Jobs()"

    def _connect(self) -> Connection:
        return connect(self._path, self._key, Rights.SERVICE)

    def deliver(self) -> None:
        conn = self._connect()
        try:
            release_due_notices(conn, self._clock())  # disclosure notices whose delay ended
            deliver_all_due(conn, self._courier, self._clock)
            retention.erase_reset_codes(conn, self._clock())
        finally:
            conn.close()

    def retain(self) -> None:
        conn = self._connect()
        try:
            done = retention.purge(conn, self._clock())
            log.info("retention: %d applications, %d alerts, %d notices, %d sessions, "
                     "%d reset codes, %d unused browser tokens removed", done.applications,
                     done.alerts, done.notices, done.sessions, done.resets, done.device_tokens)
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

    def backup(self) -> None:
        plan = self._backup_plan
        if plan is None:
            log.warning("no backup key: nightly backup skipped")
            return
        try:
            made = backups.create_backup(self._path, self._key, plan.key, plan.directory,
                                         self._clock())
            removed = backups.prune(plan.directory, plan.keep)
        except (StartupError, OSError) as error:
            # Named by type only: the doctor's "last backup age" check makes it visible.
            log.error("nightly backup failed: %s", type(error).__name__)
            return
        log.info("backup: %s (%d bytes); %d old files removed, keeping %d",
                 made.path.name, made.manifest.size, len(removed), plan.keep)

    def all_once(self) -> None:
        self.deliver()
        self.retain()
        self.checkpoint()
        self.backup()


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
    # After the checkpoint and retention, so the night's backup holds both.
    scheduler.add_job(jobs.backup, "cron", hour=3, minute=40, id="backup")
    return scheduler
