"""`backup create`, `backup verify` and `backup restore` (app/vault/backup.py does the work).

create copies the running database (the service keeps serving) into the backup folder,
sealed under keys/backup.key, with a manifest beside it. verify decrypts a backup into a
temporary SQLCipher file beside the database, checks its integrity, its disclosure log
(chain and signed checkpoints) and its manifest, and removes the copy. restore puts a
backup's database in place and upgrades it to this code's schema.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from app.audit.verification import verify_log
from app.cli.output import fail
from app.vault import backup, db, migrations
from app.web.state import load_keys, state
from crypto.errors import KeyFileError

# Progress is printed for databases at least this big; small ones finish at once.
_PROGRESS_FROM_BYTES = 8 * 1024 * 1024


class ProgressPrinter:
    """Prints '<phase>: N%' at each tenth, on stderr, when the work is large."""

    def __init__(self, large: bool) -> None:
        self.large = large
        self.shown: dict[str, int] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if not self.large or total <= 0:
            return
        tenth = min(10, done * 10 // total)
        if tenth > self.shown.get(phase, -1):
            self.shown[phase] = tenth
            click.echo(f"  {phase}: {tenth * 10}%", err=True)


def backup_key(app: Flask, *, create: bool) -> bytes:
    """keys/backup.key; when `create`, made (and said so) if this deployment has none."""
    keys_dir = state(app).config.keys_dir
    try:
        if not create:
            return backup.load_backup_key(keys_dir)
        key, created = backup.ensure_backup_key(keys_dir)
    except KeyFileError as error:
        fail(f"{error}. Backups need keys/backup.key: restore it from where you keep key "
             "copies (a backup without its key cannot be opened).")
    if created:
        click.echo(f"Created the backup key {keys_dir / backup.BACKUP_KEY} (this deployment "
                   "had none). Copy it, with database.key, to where you keep key copies "
                   "offline: without both, no backup can be opened.")
    return key


def take_backup(app: Flask, directory: Path | None = None) -> backup.Created:
    """A backup of the configured database, with progress; exits 1 with the reason."""
    config = state(app).config
    key = backup_key(app, create=True)
    large = (config.database_path.exists()
             and config.database_path.stat().st_size >= _PROGRESS_FROM_BYTES)
    try:
        return backup.create_backup(
            config.database_path, load_keys(app).database_key, key,
            directory or config.backups_path, state(app).clock(),
            progress=ProgressPrinter(large))
    except db.StartupError as error:
        fail(str(error))
    except OSError as error:
        fail(f"Could not write the backup: {error.strerror or error}. Nothing was left "
             "under a backup's name.")


def verify_backup(app: Flask, path: Path, work_dir: Path | None = None) -> list[str]:
    """Every problem found with the backup at `path` (empty: it verifies)."""
    config = state(app).config
    keys = load_keys(app)
    try:
        manifest = backup.read_manifest(path)
    except backup.BackupError as error:
        return [str(error)]
    problems = backup.check_against_manifest(path, manifest)
    if problems:
        return problems
    key = backup_key(app, create=False)
    large = path.stat().st_size >= _PROGRESS_FROM_BYTES
    try:
        with backup.opened(path, key, keys.database_key,
                           work_dir or config.database_path.parent,
                           progress=ProgressPrinter(large)) as conn:
            problems += [f"integrity: {p}" for p in backup.integrity_problems(conn)]
            held = backup.snapshot(conn)
            if held.schema_version != manifest.schema_version:
                problems.append(f"schema version {held.schema_version}, the manifest says "
                                f"{manifest.schema_version}")
            if (held.log_entries, held.log_head_seq, held.log_head_hash) != (
                    manifest.log_entries, manifest.log_head_seq, manifest.log_head_hash):
                problems.append("the disclosure log's head differs from the manifest's")
            if held.checkpoint_seq != manifest.checkpoint_seq:
                problems.append("the last checkpoint differs from the manifest's")
            verdict = verify_log(conn, keys.audit_verify_key)
            if not verdict.ok:
                problems.append(f"disclosure log: {verdict.summary()}")
    except backup.BackupError as error:
        problems.append(str(error))
    return problems


def register(app: Flask) -> None:
    backup_cli = AppGroup("backup", help="Encrypted backups: create, verify, restore.")

    @backup_cli.command("create")
    @click.option("--to", "directory", type=click.Path(file_okay=False, path_type=Path),
                  help="The folder to write to (default: $UGLYMUGS_BACKUP_DIR, or "
                       "backups/ beside the database).")
    def backup_create(directory: Path | None) -> None:
        """Copy the running database, sealed under keys/backup.key, with a manifest."""
        made = take_backup(app, directory)
        click.echo(f"Backup written: {made.path} ({made.manifest.size} bytes, schema "
                   f"version {made.manifest.schema_version}, "
                   f"{made.manifest.log_entries} disclosure-log entries).")
        click.echo(f"Manifest: {made.manifest_path}")
        click.echo("Check it with: flask --app app backup verify " + str(made.path))

    @backup_cli.command("verify")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path, exists=True))
    @click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path),
                  help="Where the decrypted (still SQLCipher-encrypted) copy is checked "
                       "(default: the database's folder).")
    def backup_verify(file: Path, work_dir: Path | None) -> None:
        """Open a backup, check its integrity, its disclosure log and its manifest."""
        problems = verify_backup(app, file, work_dir)
        if problems:
            fail(f"FAILED: {file}\n" + "\n".join(f"  {p}" for p in problems))
        manifest = backup.read_manifest(file)
        click.echo(f"VERIFIED: {file} (made {manifest.created_at}, schema version "
                   f"{manifest.schema_version}, {manifest.log_entries} disclosure-log "
                   "entries; integrity, log chain, checkpoints and manifest all check).")

    @backup_cli.command("restore")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path, exists=True))
    @click.option("--to", "target", required=True,
                  type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to put the restored database.")
    @click.option("--force", is_flag=True,
                  help="Replace a database that exists there (stop the service first).")
    def backup_restore(file: Path, target: Path, force: bool) -> None:
        """Verify a backup, restore it to --to, then upgrade it to this code's schema."""
        keys = load_keys(app)
        key = backup_key(app, create=False)
        if target.exists() and not force:
            fail(f"A database already exists at {target}. Stop the web process and the "
                 "worker, then run again with --force to replace it, or restore to another "
                 "path.")
        # Everything verify checks, before anything at the target is touched.
        problems = verify_backup(app, file, target.parent if target.parent.is_dir() else None)
        if problems:
            fail(f"Not restored: {file} does not verify:\n"
                 + "\n".join(f"  {p}" for p in problems))
        large = file.stat().st_size >= _PROGRESS_FROM_BYTES
        try:
            manifest = backup.restore(file, target, key, keys.database_key, force=force,
                                      progress=ProgressPrinter(large))
        except db.StartupError as error:
            fail(str(error))
        click.echo(f"Restored {file} (made {manifest.created_at}, schema version "
                   f"{manifest.schema_version}) to {target}.")
        try:
            outcome = migrations.upgrade_database(
                target, keys.database_key, state(app).config.migrations_path,
                progress=lambda step: click.echo(f"  {step.line}"))
        except db.StartupError as error:
            fail(f"The restored database was not upgraded: {error}")
        click.echo(f"The restored database is at schema version {outcome.after}.")

    app.cli.add_command(backup_cli)
