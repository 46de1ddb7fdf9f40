"""`flask --app app worker`: the only process that loads the delivery private key."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import click
from flask import Flask

from app.cli.output import fail
from app.delivery import DeliverySettings, channels, send_rates
from app.vault import backup, db
from app.web.state import load_keys, state, verify_ready
from app.worker.delivery import Courier, NoticeLanguages
from app.worker.scheduler import BackupPlan, Jobs, build_scheduler
from crypto import keystore
from crypto.errors import KeyFileError, MissingKeyFile, WrongPassphrase


def delivery_passphrase(environ: dict[str, str]) -> str:
    """From UGLYMUGS_DELIVERY_PASSPHRASE, or the file UGLYMUGS_DELIVERY_PASSPHRASE_FILE names."""
    if environ.get("UGLYMUGS_DELIVERY_PASSPHRASE"):
        return environ["UGLYMUGS_DELIVERY_PASSPHRASE"]
    path = environ.get("UGLYMUGS_DELIVERY_PASSPHRASE_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError:
            fail(f"Not starting: cannot read the delivery passphrase file {path}.")
    fail("Not starting: set UGLYMUGS_DELIVERY_PASSPHRASE or UGLYMUGS_DELIVERY_PASSPHRASE_FILE "
          "to the delivery key's passphrase.")


def register(app: Flask) -> None:
    @app.cli.command("worker")
    @click.option("--once", is_flag=True,
                  help="Deliver everything due, run retention and a checkpoint, then exit.")
    @click.option("--every", type=int, default=10, show_default=True,
                  help="Seconds between delivery runs.")
    def worker(once: bool, every: int) -> None:
        """Deliver notices, purge what is no longer needed, sign audit checkpoints."""
        st = state(app)
        try:
            verify_ready(app)
            settings = DeliverySettings.from_env(os.environ)
        except (db.StartupError, ValueError) as error:
            fail(f"Not starting: {error}")
        passphrase = delivery_passphrase(dict(os.environ))
        try:
            key = keystore.load_delivery_private_key(st.config.keys_dir, passphrase)
        except WrongPassphrase:
            fail("Not starting: that passphrase does not open the delivery key "
                  f"({st.config.keys_dir / 'delivery.key'}).")
        except KeyFileError as error:
            fail(f"Not starting: {error}")
        try:
            signing_key = keystore.load_audit_signing_key(st.config.keys_dir)
        except MissingKeyFile:
            signing_key = None
        courier = Courier(key=key, channels=channels(settings), rates=send_rates(settings),
                          settings=settings,
                          languages=NoticeLanguages(st.config.translations_path))
        try:
            backup_key, created = backup.ensure_backup_key(st.config.keys_dir)
        except KeyFileError as error:
            fail(f"Not starting: {error}")
        if created:
            click.echo(f"Created the backup key {st.config.keys_dir / backup.BACKUP_KEY}: "
                       "keep a copy offline with database.key.")
        plan = BackupPlan(st.config.backups_path, st.config.backup_keep, backup_key)
        jobs = Jobs(st.config.database_path, load_keys(app).database_key, courier,
                    lambda: st.clock(), signing_key, plan)
        if once:
            jobs.all_once()
            click.echo("Worker ran once: delivery, retention, checkpoint and backup done.")
            return
        click.echo(f"Worker started (delivery key {key.fingerprint}); Ctrl+C to stop.")
        scheduler = build_scheduler(jobs, delivery_seconds=every)
        signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
        scheduler.start()
