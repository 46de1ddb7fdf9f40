"""`flask --app app doctor`: a preflight of the whole deployment, one line per check.

Each check says ok, warn or fail, and for anything but ok, what to do. Exit status 1 if
any check fails, so it can gate a deploy script or a monitoring timer. Nothing it does
writes: it reads key files' headers (never a passphrase), opens the database read-only
in effect, and asks the relay and the gateway whether they answer without sending.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import click
from flask import Flask

from app.audit.verification import verify_log
from app.delivery.probe import sms_problem, smtp_problem
from app.delivery.settings import DeliverySettings
from app.vault import backup, db
from app.web.config import Config
from app.web.state import load_keys, state
from crypto import keystore
from crypto.keyfile import PRIVATE_KEY_FORMAT

OK, WARN, FAIL = "ok", "warn", "fail"
# Sealed private keys the server must never hold at rest: they open members' records.
PERSONAL_KINDS = frozenset({"vetting", "holder"})
_KEY_FILE_MAX_BYTES = 64 * 1024
CHECKPOINT_WARN = timedelta(hours=36)
BACKUP_WARN = timedelta(hours=36)
BACKUP_FAIL = timedelta(days=7)
CLOCK_SLACK = timedelta(minutes=5)
MIN_FREE_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Check:
    name: str
    level: str
    message: str
    fix: str = ""


def _files(directory: Path) -> Iterator[Path]:
    if directory.is_dir():
        yield from sorted(p for p in directory.iterdir() if p.is_file())


def sealed_key_kind(path: Path) -> str | None:
    """The kind a sealed private key file names (vetting, delivery, holder...), else None."""
    try:
        if path.stat().st_size > _KEY_FILE_MAX_BYTES:
            return None
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if isinstance(doc, dict) and doc.get("format") == PRIVATE_KEY_FORMAT:
        kind = doc.get("kind")
        return kind if isinstance(kind, str) else "unknown"
    return None


def check_key_files(config: Config) -> list[Check]:
    keys_dir = config.keys_dir
    needed = (keystore.DATABASE_KEY, keystore.INDEX_KEY, keystore.SESSION_KEY,
              keystore.VETTING_PUB, keystore.DELIVERY_PUB, keystore.DELIVERY_KEY,
              keystore.AUDIT_KEY, keystore.AUDIT_PUB)
    missing = [name for name in needed if not (keys_dir / name).is_file()]
    checks = []
    if missing:
        checks.append(Check("key files", FAIL, f"missing in {keys_dir}: {', '.join(missing)}",
                            "restore them from your offline key copies, or run "
                            "flask --app app keys init on a new deployment"))
    else:
        checks.append(Check("key files", OK, f"all present in {keys_dir}"))
    if not (keys_dir / backup.BACKUP_KEY).is_file():
        checks.append(Check("backup key", WARN, f"no {backup.BACKUP_KEY} in {keys_dir}",
                            "run flask --app app backup create (it makes one), then copy it "
                            "offline with database.key"))
    problems = keystore.permission_problems(keys_dir)
    extra = keys_dir / backup.BACKUP_KEY
    if extra.is_file() and stat.S_IMODE(extra.stat().st_mode) & 0o077:
        problems.append(f"{extra}: file mode is "
                        f"{stat.S_IMODE(extra.stat().st_mode):04o}, should be 0600")
    if problems:
        checks.append(Check("key permissions", FAIL, "; ".join(problems),
                            f"chmod 700 {keys_dir} and chmod 600 its secret files, owned by "
                            "the service user"))
    else:
        checks.append(Check("key permissions", OK, "owner-only"))
    return checks


def check_personal_keys(config: Config) -> Check:
    """No vetting or key-holder private key file in keys/ or beside the database."""
    found = []
    for directory in dict.fromkeys((config.keys_dir, config.database_path.parent)):
        for path in _files(directory):
            kind = sealed_key_kind(path)
            if kind is not None and kind != "delivery":
                found.append(f"{path} ({kind} key)")
    if found:
        return Check("personal keys off the server", FAIL,
                     "sealed private key file on the server: " + ", ".join(found),
                     "give each coordinator their copy on their own device, keep one "
                     "offline, then delete it here (shred -u FILE): anyone who takes the "
                     "server is otherwise one passphrase guess from every record")
    return Check("personal keys off the server", OK,
                 "no vetting or key-holder private key file here")


def check_cookies(config: Config, local: bool) -> Check:
    if config.secure_cookies:
        return Check("secure cookies", OK, "on")
    if local:
        return Check("secure cookies", OK, "off, allowed for plain-http localhost (--local)")
    return Check("secure cookies", FAIL, "off (UGLYMUGS_INSECURE_COOKIES=1)",
                 "unset UGLYMUGS_INSECURE_COOKIES: only the localhost demo may set it")


@dataclass(frozen=True)
class DatabaseChecks:
    database: Check
    log: Check
    entries: int = 0
    newest_checkpoint: datetime | None = None
    last_entry: datetime | None = None


def check_database(app: Flask) -> DatabaseChecks:
    """Schema, log chain, and the newest log and checkpoint times (for the clock check)."""
    config = state(app).config
    try:
        keys = load_keys(app)
        db.check_database(config.database_path, keys.database_key)
    except db.StartupError as error:
        return DatabaseChecks(
            Check("database", FAIL, str(error), "see the message"),
            Check("disclosure log", FAIL, "not checked: the database did not open"))
    conn = db.connect(config.database_path, keys.database_key)
    try:
        verdict = verify_log(conn, keys.audit_verify_key)
        newest = db.scalar(conn, "SELECT created_at FROM audit_checkpoints "
                                 "ORDER BY seq DESC LIMIT 1")
        last_body = db.scalar(conn, "SELECT body FROM disclosure_log ORDER BY seq DESC LIMIT 1")
    finally:
        conn.close()
    database = Check("database", OK, f"opens at schema version {db.SCHEMA_VERSION}")
    if verdict.ok:
        log = Check("disclosure log", OK, verdict.summary())
    else:
        log = Check("disclosure log", FAIL, verdict.summary(),
                    "do not sign checkpoints; compare with the auditors' kept checkpoints "
                    "and the last good backup (docs/operations.md)")
    last_entry = None
    if isinstance(last_body, str):
        try:
            last_entry = _parse_time(json.loads(last_body).get("at"))
        except (ValueError, AttributeError):
            last_entry = None
    return DatabaseChecks(database, log, verdict.entries, _parse_time(newest), last_entry)


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _age(now: datetime, then: datetime) -> str:
    hours = (now - then).total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 72 else f"{hours / 24:.0f} days"


def check_checkpoint(now: datetime, newest: datetime | None, entries: int) -> Check:
    if newest is None and entries == 0:
        return Check("last checkpoint", OK, "none needed yet: the log is empty")
    if newest is None:
        return Check("last checkpoint", WARN, "no signed checkpoint yet",
                     "run flask --app app audit checkpoint, and keep the worker running "
                     "(it signs one nightly)")
    if now - newest > CHECKPOINT_WARN:
        return Check("last checkpoint", WARN, f"{_age(now, newest)} old",
                     "is the worker running? systemctl status uglymugs-worker")
    return Check("last checkpoint", OK, f"{_age(now, newest)} old")


def check_backups(config: Config, now: datetime) -> Check:
    newest = backup.last_backup_time(config.backups_path)
    if newest is None:
        return Check("last backup", WARN, f"no backup in {config.backups_path}",
                     "run flask --app app backup create; the worker makes one nightly")
    then = datetime.fromtimestamp(newest, now.tzinfo)
    if now - then > BACKUP_FAIL:
        return Check("last backup", FAIL, f"the newest is {_age(now, then)} old",
                     "is the worker running? then run flask --app app backup create")
    if now - then > BACKUP_WARN:
        return Check("last backup", WARN, f"the newest is {_age(now, then)} old",
                     "is the worker running? systemctl status uglymugs-worker")
    return Check("last backup", OK, f"{_age(now, then)} old, in {config.backups_path}")


def check_delivery(environ: dict[str, str]) -> list[Check]:
    try:
        settings = DeliverySettings.from_env(environ)
    except ValueError as error:
        return [Check("delivery settings", FAIL, str(error), "fix the variable named")]
    smtp = smtp_problem(settings.smtp)
    checks = [Check("SMTP relay", OK, f"{settings.smtp.host}:{settings.smtp.port} answers")
              if smtp is None else
              Check("SMTP relay", FAIL, smtp, "check UGLYMUGS_SMTP_* and that the relay runs")]
    sms = sms_problem(settings.sms)
    if settings.sms.provider == "none":
        checks.append(Check("SMS provider", OK, "none configured (email only)"))
    elif sms is None:
        checks.append(Check("SMS provider", OK, f"{settings.sms.provider} answers"))
    else:
        checks.append(Check("SMS provider", FAIL, sms,
                            "check UGLYMUGS_SMS_PROVIDER and its settings"))
    return checks


def _ntp_synchronised() -> bool | None:
    timedatectl = shutil.which("timedatectl")
    if timedatectl is None:
        return None
    try:
        command = [timedatectl, "show", "-p", "NTPSynchronized", "--value"]
        answer = subprocess.run(command, capture_output=True, text=True,  # noqa: S603 (fixed)
                                timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = answer.stdout.strip()
    return {"yes": True, "no": False}.get(value)


def check_clock(now: datetime, *recorded: datetime | None,
                synchronised: Callable[[], bool | None] = _ntp_synchronised) -> Check:
    latest = max((t for t in recorded if t is not None), default=None)
    if latest is not None and now < latest - CLOCK_SLACK:
        return Check("clock", FAIL, f"it is {now.isoformat(timespec='seconds')}, but the "
                     f"database holds a time of {latest.isoformat(timespec='seconds')}",
                     "the clock went backwards: set it right (timedatectl set-ntp true)")
    if synchronised() is False:
        return Check("clock", WARN, "not synchronised with NTP",
                     "timedatectl set-ntp true (systemd-timesyncd or chrony)")
    return Check("clock", OK, now.isoformat(timespec="seconds"))


def check_disk(config: Config) -> Check:
    directory = config.database_path.parent
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent
    free = shutil.disk_usage(directory).free
    size = config.database_path.stat().st_size if config.database_path.exists() else 0
    # A backup needs about the database's size twice while it is made, and a nightly
    # series keeps several.
    wanted = max(MIN_FREE_BYTES, 3 * size)
    mib = free // (1024 * 1024)
    if free < size * 2:
        return Check("free disk", FAIL, f"{mib} MiB free for a {size // 2**20} MiB database",
                     "free space now: a backup or an upgrade would not fit")
    if free < wanted:
        return Check("free disk", WARN, f"{mib} MiB free",
                     "free space, or lower UGLYMUGS_BACKUP_KEEP")
    return Check("free disk", OK, f"{mib} MiB free in {directory}")


def run_checks(app: Flask, environ: dict[str, str], *, local: bool = False,
               network: bool = True) -> list[Check]:
    st = state(app)
    config = st.config
    now = st.clock()
    checks = check_key_files(config)
    checks.append(check_personal_keys(config))
    checks.append(check_cookies(config, local))
    found = check_database(app)
    checks += [found.database, found.log]
    checks.append(check_checkpoint(now, found.newest_checkpoint, found.entries))
    checks.append(check_backups(config, now))
    if network:
        checks += check_delivery(environ)
    checks.append(check_clock(now, found.newest_checkpoint, found.last_entry))
    checks.append(check_disk(config))
    return checks


def register(app: Flask) -> None:
    @app.cli.command("doctor")
    @click.option("--local", is_flag=True,
                  help="This is the plain-http localhost demo: insecure cookies are allowed.")
    @click.option("--no-network", is_flag=True,
                  help="Skip asking the SMTP relay and the SMS provider.")
    def doctor(local: bool, no_network: bool) -> None:
        """Check keys, cookies, database, log, checkpoints, backups, delivery, clock, disk."""
        checks = run_checks(app, dict(os.environ), local=local, network=not no_network)
        colours = {OK: "green", WARN: "yellow", FAIL: "red"}
        for check in checks:
            label = click.style(f"{check.level.upper():<4}", fg=colours[check.level])
            click.echo(f"{label} {check.name}: {check.message}")
            if check.fix:
                click.echo(f"     fix: {check.fix}")
        failed = sum(c.level == FAIL for c in checks)
        warned = sum(c.level == WARN for c in checks)
        click.echo(f"{len(checks)} checks: {failed} failed, {warned} warnings.")
        if failed:
            raise SystemExit(1)
