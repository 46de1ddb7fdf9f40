"""`flask --app app worker`: the only process that loads the delivery private key."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
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

CREDENTIAL_NAME = "delivery-passphrase"
DIRECT_VARIABLE = "UGLYMUGS_DELIVERY_PASSPHRASE"
FILE_VARIABLE = "UGLYMUGS_DELIVERY_PASSPHRASE_FILE"


def _read_passphrase_file(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        fail(f"Not starting: cannot read {what} {path}.")
    if not text:
        fail(f"Not starting: {what} {path} is empty.")
    return text


def delivery_passphrase(environ: dict[str, str], *, stdin_is_tty: bool = False,
                        prompt: Callable[[], str] | None = None) -> str:
    """The delivery key's passphrase, from the first of these that is given:

    1. systemd's credential `delivery-passphrase` ($CREDENTIALS_DIRECTORY, as
       `LoadCredentialEncrypted=` provides it: decrypted only for this service's run);
    2. the file UGLYMUGS_DELIVERY_PASSPHRASE_FILE names;
    3. UGLYMUGS_DELIVERY_PASSPHRASE itself;
    4. a prompt, when standard input is a terminal and none of the above is set.

    The most protected source wins, so a leftover variable cannot override the unit's
    credential. Never a command-line option: arguments are readable in every process list.
    """
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    if credentials and (Path(credentials) / CREDENTIAL_NAME).exists():
        return _read_passphrase_file(Path(credentials) / CREDENTIAL_NAME,
                                     "the systemd credential")
    path = environ.get(FILE_VARIABLE)
    if path:
        return _read_passphrase_file(Path(path), "the delivery passphrase file")
    if environ.get(DIRECT_VARIABLE):
        return environ[DIRECT_VARIABLE]
    if stdin_is_tty and prompt is not None:
        typed = prompt().strip()
        if typed:
            return typed
        fail("Not starting: no delivery passphrase was typed.")
    fail(f"Not starting: no delivery passphrase. Give it as the systemd credential "
         f"{CREDENTIAL_NAME} (LoadCredentialEncrypted=), in the file "
         f"{FILE_VARIABLE} names, in {DIRECT_VARIABLE}, or run the worker "
         "in a terminal to be asked for it.")


def _ask() -> str:
    return str(click.prompt("Delivery key passphrase", hide_input=True, err=True))


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
        passphrase = delivery_passphrase(dict(os.environ), stdin_is_tty=sys.stdin.isatty(),
                                         prompt=_ask)
        # Nothing this process starts inherits it.
        os.environ.pop(DIRECT_VARIABLE, None)
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
