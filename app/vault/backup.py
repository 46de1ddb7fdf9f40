"""Backups of the encrypted database: create, open for checking, restore, prune.

A backup is two files in the backup folder:

* ``uglymugs-YYYYmmddTHHMMSSZ.backup``: an online, consistent copy made with SQLite's
  backup API while the service runs (the source holds one read transaction, so writers go
  on and the copy is the database as it stood when the backup began). The copy is still
  the SQLCipher file under the database key; crypto.backup_stream seals it again under
  the backup key (``keys/backup.key``), so neither key alone opens a backup.
* ``NAME.manifest.json``: schema version, time, size, SHA-256 of the backup file, the
  disclosure log's entry count and head, and its last checkpoint. Only numbers, hashes
  and times: nothing that was sealed or typed.

Nothing appears under a backup's final name until it is complete: the copy and the
sealed file are written under dot-names, synced, and renamed, the manifest last but one
step before. A process killed half-way leaves only dot-files, which `prune` clears and
which verify never accepts (no manifest; secretstream also refuses a file without its
final chunk). Temporary copies are SQLCipher files under the database key: never a
plaintext byte on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import sqlcipher3

from app.vault import db
from crypto import backup_stream
from crypto.errors import KeysExist, MissingKeyFile
from crypto.keyfile import read_secret_file, write_secret_file

BACKUP_KEY = "backup.key"
MANIFEST_FORMAT = "uglymugs-backup-manifest"
SUFFIX = ".backup"
MANIFEST_SUFFIX = ".manifest.json"
_NAME = re.compile(r"uglymugs-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<number>\d+))?\.backup")
# Pages copied per backup step: small enough for steady progress, large enough to be quick.
_PAGES_PER_STEP = 256
# Leftovers of a killed run older than this are removed by prune.
_STALE_SECONDS = 3600

# (what is happening, done, total); units are pages or bytes, as the phase says.
Progress = Callable[[str, int, int], None]


class BackupError(db.StartupError):
    """A backup that cannot be made, checked or restored, with what to do about it."""


@dataclass(frozen=True)
class Manifest:
    name: str
    created_at: str
    schema_version: int
    size: int
    sha256: str
    log_entries: int
    log_head_seq: int
    log_head_hash: str
    checkpoint_seq: int | None
    checkpoint_at: str | None

    def to_json(self) -> str:
        return json.dumps({
            "format": MANIFEST_FORMAT, "version": 1, "name": self.name,
            "created_at": self.created_at, "schema_version": self.schema_version,
            "size": self.size, "sha256": self.sha256,
            "disclosure_log": {"entries": self.log_entries, "head_seq": self.log_head_seq,
                               "head_hash": self.log_head_hash},
            "last_checkpoint": None if self.checkpoint_seq is None else
            {"seq": self.checkpoint_seq, "created_at": self.checkpoint_at},
        }, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Manifest:
        try:
            doc = json.loads(text)
            if doc["format"] != MANIFEST_FORMAT or doc["version"] != 1:
                raise ValueError("not a manifest")
            log = doc["disclosure_log"]
            checkpoint = doc["last_checkpoint"]
            manifest = cls(
                name=str(doc["name"]), created_at=str(doc["created_at"]),
                schema_version=int(doc["schema_version"]), size=int(doc["size"]),
                sha256=str(doc["sha256"]), log_entries=int(log["entries"]),
                log_head_seq=int(log["head_seq"]), log_head_hash=str(log["head_hash"]),
                checkpoint_seq=None if checkpoint is None else int(checkpoint["seq"]),
                checkpoint_at=None if checkpoint is None else str(checkpoint["created_at"]))
        except (ValueError, KeyError, TypeError) as error:
            raise BackupError(f"{source} is not a backup manifest ({error}).") from None
        return manifest


@dataclass(frozen=True)
class Created:
    path: Path
    manifest_path: Path
    manifest: Manifest


@dataclass(frozen=True)
class Snapshot:
    """What a database holds that a manifest records, read in one transaction."""

    schema_version: int
    log_entries: int
    log_head_seq: int
    log_head_hash: str
    checkpoint_seq: int | None
    checkpoint_at: str | None


def _silent(_phase: str, _done: int, _total: int) -> None:
    pass


# --- the backup key --------------------------------------------------------------------


def load_backup_key(keys_dir: Path) -> bytes:
    return read_secret_file(keys_dir / BACKUP_KEY, backup_stream.KEY_BYTES)


def ensure_backup_key(keys_dir: Path) -> tuple[bytes, bool]:
    """The backup key, created (256 random bits, mode 0600) if missing; and whether it was."""
    try:
        return load_backup_key(keys_dir), False
    except MissingKeyFile:
        pass
    with contextlib.suppress(KeysExist):  # another process made it meanwhile: use theirs
        write_secret_file(keys_dir / BACKUP_KEY, secrets.token_bytes(backup_stream.KEY_BYTES))
        return load_backup_key(keys_dir), True
    return load_backup_key(keys_dir), False


# --- files -----------------------------------------------------------------------------


def manifest_path_for(path: Path) -> Path:
    name = path.name[:-len(SUFFIX)] if path.name.endswith(SUFFIX) else path.name
    return path.with_name(name + MANIFEST_SUFFIX)


def _new_private(path: Path) -> BinaryIO:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                 0o600)
    return os.fdopen(fd, "wb")


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove(*paths: Path) -> None:
    for path in paths:
        for leftover in (path, *_sidecars(path)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _sidecars(path: Path) -> tuple[Path, ...]:
    return tuple(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))


def _temp_name(directory: Path, name: str, kind: str) -> Path:
    return directory / f".{name}.{secrets.token_hex(6)}.{kind}"


class _Hashing:
    """A file writer that counts and hashes what passes through it."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.out.write(data)


def sha256_of(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            sha.update(block)
    return sha.hexdigest()


# --- reading what a manifest records ---------------------------------------------------


def snapshot(conn: db.Connection) -> Snapshot:
    head = conn.execute(
        "SELECT seq, entry_hash FROM disclosure_log ORDER BY seq DESC LIMIT 1").fetchone()
    checkpoint = conn.execute(
        "SELECT seq, created_at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1").fetchone()
    return Snapshot(
        schema_version=db.schema_version(conn),
        log_entries=db.count(conn, "SELECT count(*) FROM disclosure_log"),
        log_head_seq=0 if head is None else int(head["seq"]),
        log_head_hash="" if head is None else bytes(head["entry_hash"]).hex(),
        checkpoint_seq=None if checkpoint is None else int(checkpoint["seq"]),
        checkpoint_at=None if checkpoint is None else str(checkpoint["created_at"]))


# --- create ----------------------------------------------------------------------------


def _backup_name(directory: Path, now: datetime) -> str:
    stem = f"uglymugs-{now.strftime('%Y%m%dT%H%M%SZ')}"
    name, number = f"{stem}{SUFFIX}", 1
    while (directory / name).exists() or manifest_path_for(directory / name).exists():
        number += 1
        name = f"{stem}-{number}{SUFFIX}"
    return name


def _open_copy(path: Path, key: bytes) -> db.Connection:
    conn: db.Connection = sqlcipher3.connect(str(path), isolation_level=None)
    conn.row_factory = sqlcipher3.Row
    db._apply_key(conn, key)
    return conn


def _copy_database(source: db.Connection, target: Path, key: bytes,
                   progress: Progress) -> Snapshot:
    """A consistent page copy of `source` at `target` (same key); what it holds."""
    _new_private(target).close()
    copy = _open_copy(target, key)
    try:
        # One read transaction for the whole copy: writers carry on (WAL), the copy and
        # the snapshot are the database as it stood at this instant, and the backup never
        # restarts because someone wrote meanwhile.
        source.execute("BEGIN")
        try:
            taken = snapshot(source)
            source.backup(copy, pages=_PAGES_PER_STEP,
                          progress=lambda _status, remaining, total:
                          progress("copying pages", total - remaining, total))
        finally:
            source.execute("COMMIT")
        # A single self-contained file: no -wal beside it to forget.
        copy.execute("PRAGMA journal_mode = DELETE")
    finally:
        copy.close()
    return taken


def create_backup(database_path: Path, database_key: bytes, backup_key: bytes,
                  directory: Path, now: datetime, progress: Progress = _silent) -> Created:
    """Copy the live database into `directory`, sealed under `backup_key`, with a manifest."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = _backup_name(directory, now)
    final = directory / name
    copy_path = _temp_name(directory, name, "copy")
    sealed_path = _temp_name(directory, name, "partial")
    manifest_tmp = _temp_name(directory, name, "manifest")
    source = db.connect(database_path, database_key)
    try:
        taken = _copy_database(source, copy_path, database_key, progress)
    except BaseException:
        _remove(copy_path)
        raise
    finally:
        source.close()
    try:
        total = copy_path.stat().st_size
        with open(copy_path, "rb") as plain_copy, _new_private(sealed_path) as out:
            hashing = _Hashing(out)
            backup_stream.encrypt_stream(
                plain_copy, hashing, backup_key, total,
                progress=lambda done, all_: progress("encrypting bytes", done, all_))
            out.flush()
            os.fsync(out.fileno())
        manifest = Manifest(
            name=name, created_at=now.isoformat(timespec="seconds"),
            schema_version=taken.schema_version, size=hashing.size,
            sha256=hashing.sha.hexdigest(), log_entries=taken.log_entries,
            log_head_seq=taken.log_head_seq, log_head_hash=taken.log_head_hash,
            checkpoint_seq=taken.checkpoint_seq, checkpoint_at=taken.checkpoint_at)
        with _new_private(manifest_tmp) as out:
            out.write(manifest.to_json().encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        # The backup first, its manifest second: verify insists on both, so a kill
        # between the two renames leaves a backup that is refused, never a bad one trusted.
        os.rename(sealed_path, final)
        os.rename(manifest_tmp, manifest_path_for(final))
        _fsync_directory(directory)
    except BaseException:
        _remove(sealed_path, manifest_tmp)
        raise
    finally:
        _remove(copy_path)
    return Created(final, manifest_path_for(final), manifest)


# --- open, verify, restore -------------------------------------------------------------


def read_manifest(path: Path) -> Manifest:
    manifest_path = manifest_path_for(path)
    try:
        text = manifest_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BackupError(
            f"There is no manifest {manifest_path} beside {path}: the backup is incomplete "
            "(a copy that was interrupted) or its manifest was lost. Do not rely on it."
        ) from None
    return Manifest.from_json(text, str(manifest_path))


def check_against_manifest(path: Path, manifest: Manifest) -> list[str]:
    """What differs between the backup file and its manifest (empty: nothing)."""
    problems = []
    if manifest.name != path.name:
        problems.append(f"the manifest names {manifest.name}, not {path.name}")
    size = path.stat().st_size
    if size != manifest.size:
        problems.append(f"the file is {size} bytes, the manifest says {manifest.size}")
    elif sha256_of(path) != manifest.sha256:
        problems.append("the file's SHA-256 differs from the manifest's")
    return problems


def _decrypt_to(path: Path, target: Path, backup_key: bytes, progress: Progress) -> None:
    total = path.stat().st_size
    try:
        with open(path, "rb") as sealed, _new_private(target) as out:
            backup_stream.decrypt_stream(
                sealed, out, backup_key, total,
                progress=lambda done, all_: progress("decrypting bytes", done, all_))
            out.flush()
            os.fsync(out.fileno())
    except backup_stream.BackupStreamError as error:
        _remove(target)
        raise BackupError(f"{path}: {error}.") from None
    except BaseException:
        _remove(target)
        raise


def integrity_problems(conn: db.Connection) -> list[str]:
    """SQLite's integrity_check and SQLCipher's per-page HMAC check, as messages."""
    problems = [str(row["integrity_check"]) for row in
                conn.execute("PRAGMA integrity_check").fetchall()
                if row["integrity_check"] != "ok"]
    # One row per bad page, none when every page's HMAC checks.
    problems += [" ".join(str(value) for value in tuple(row)) for row in
                 conn.execute("PRAGMA cipher_integrity_check").fetchall()]
    return problems


def _open_copy_checked(path: Path, key: bytes, source: Path) -> db.Connection:
    try:
        return db.connect(path, key)
    except db.StartupError:
        raise BackupError(
            f"{source} opens with the backup key but not with this database key: it was "
            "made by another deployment (another keys/database.key)."
        ) from None


@contextlib.contextmanager
def opened(path: Path, backup_key: bytes, database_key: bytes, work_dir: Path,
           progress: Progress = _silent) -> Iterator[db.Connection]:
    """The backup decrypted to a temporary file in `work_dir`, open; removed afterwards."""
    work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = _temp_name(work_dir, path.name, "verify")
    _decrypt_to(path, temp, backup_key, progress)
    try:
        conn = _open_copy_checked(temp, database_key, path)
        try:
            yield conn
        finally:
            conn.close()
    finally:
        _remove(temp)


def restore(path: Path, target: Path, backup_key: bytes, database_key: bytes, *,
            force: bool, progress: Progress = _silent) -> Manifest:
    """Put the database a backup holds at `target` (schema as it was in the backup).

    Refuses a target that exists unless `force`; checks the manifest, the stream and the
    integrity of the copy before anything at `target` is replaced, so a bad backup never
    costs the database that was there.
    """
    if target.exists() and not force:
        raise BackupError(
            f"A database already exists at {target}. Stop the web process and the worker, "
            "then run again with --force to replace it, or restore to another path.")
    manifest = read_manifest(path)
    problems = check_against_manifest(path, manifest)
    if problems:
        raise BackupError(f"{path} does not match its manifest: {'; '.join(problems)}.")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = _temp_name(target.parent, target.name, "restore")
    _decrypt_to(path, temp, backup_key, progress)
    try:
        conn = _open_copy_checked(temp, database_key, path)
        try:
            problems = integrity_problems(conn)
        finally:
            conn.close()
        if problems:
            raise BackupError(f"{path} fails its integrity check: {problems[0]}.")
        # The old database's WAL belongs to the old file: replayed onto the restored
        # one it would corrupt it.
        for sidecar in _sidecars(target):
            with contextlib.suppress(FileNotFoundError):
                sidecar.unlink()
        os.replace(temp, target)
        _fsync_directory(target.parent)
    finally:
        _remove(temp)
    return manifest


# --- listing and pruning ---------------------------------------------------------------


def backups_in(directory: Path) -> list[Path]:
    """Complete backups (a backup file with its manifest), oldest first by the time in
    their names (a copy brought back from elsewhere keeps its place)."""
    if not directory.is_dir():
        return []
    found: list[tuple[str, int, Path]] = []
    for path in directory.iterdir():
        match = _NAME.fullmatch(path.name)
        if match and manifest_path_for(path).exists():
            found.append((match["stamp"], int(match["number"] or 1), path))
    return [path for _stamp, _number, path in sorted(found)]


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups, and leftovers of killed runs; the removed."""
    if keep < 1:
        raise ValueError("keep at least one backup")
    removed: list[Path] = []
    complete = backups_in(directory)
    for old in complete[:-keep]:
        _remove(old, manifest_path_for(old))
        removed.append(old)
    if directory.is_dir():
        cutoff = time.time() - _STALE_SECONDS
        for leftover in directory.iterdir():
            if leftover.name.startswith(".uglymugs-") and leftover.stat().st_mtime < cutoff:
                _remove(leftover)
                removed.append(leftover)
    return removed


def last_backup_time(directory: Path) -> float | None:
    """When the newest complete backup was written (its file's time), or None."""
    complete = backups_in(directory)
    return max(p.stat().st_mtime for p in complete) if complete else None
