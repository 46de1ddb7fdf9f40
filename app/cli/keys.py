"""Keys: the ceremony, key holders, rotation, recovery (`flask --app app keys ...`).

Every command that needs the vetting key takes a key holder's file (`--holder-key`) and
its passphrase from a prompt or `--passphrase-file`; every new key file's passphrase comes
from a prompt or `--new-passphrase-file`. So scripts and tests can run each one, and a
passphrase never has to appear on a command line (where `ps` would show it). A wrong
passphrase, a wrong or damaged file or a missing holder ends the command with a message
and exit status 1, never a traceback.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from flask import Flask
from flask.cli import AppGroup
from nacl.pwhash import argon2id

from app.auth import accounts
from app.cli.output import fail, write_private_text
from app.membership import records as member_records
from app.vault import backup, db, holders, rotation
from app.vault.holders import HolderKind, VettingKeyState
from app.web.state import load_keys, state, verify_ready
from crypto import keystore
from crypto.errors import CryptoError, KeyFileError, KeysExist, MissingKeyFile, WrongPassphrase
from crypto.holder_wrap import HOLDER_KIND
from crypto.keyfile import (
    encode_private_key_file,
    read_private_key_file,
    write_new_file,
    write_public_key_file,
)
from crypto.keys import (
    BoxPrivateKey,
    PublicKey,
    format_fingerprint,
    generate_box_keypair,
    signing_key_id,
)
from crypto.passphrase import generate_passphrase
from crypto.recovery import RecoveryError, check_threshold, combine_shares, split_key

DEMO_PASSPHRASE_FILE = "demo-passphrases.txt"  # noqa: S105 (a file name)
DEMO_DELIVERY_PASSPHRASE_FILE = "demo-delivery-passphrase.txt"  # noqa: S105 (a file name)
MIN_PASSPHRASE = keystore.MIN_PASSPHRASE_CHARS

P = ParamSpec("P")
R = TypeVar("R")


def _clear_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn every expected failure into a message and exit status 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except WrongPassphrase as error:
            fail(f"Wrong passphrase: {error}.")
        except (KeyFileError, RecoveryError, holders.NoVettingKey,
                rotation.RotationError) as error:
            fail(str(error))
        except CryptoError as error:
            fail(f"A key did not open: {error}")
        except db.StartupError as error:
            fail(str(error))

    return run


# --- passphrases -----------------------------------------------------------------------


def read_passphrase(path: Path | None, label: str) -> str:
    """A passphrase from a file (its first line) or, without one, a hidden prompt."""
    if path is None:
        value: str = click.prompt(f"Passphrase for {label}", hide_input=True, err=True)
        return value
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        fail(f"There is no passphrase file at {path}.")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"The passphrase file {path} cannot be read ({error}).")
    if not lines or not lines[0]:
        fail(f"The passphrase file {path} is empty.")
    return lines[0]


def new_passphrase(path: Path | None, label: str) -> str:
    """A passphrase for a new key file: from a file, or typed twice; 12 characters or more."""
    if path is not None:
        value = read_passphrase(path, label)
        if len(value) < MIN_PASSPHRASE:
            fail(f"The passphrase in {path} is too short: use at least {MIN_PASSPHRASE} "
                 "characters, ideally several words.")
        return value
    while True:
        value = click.prompt(f"Passphrase for {label} ({MIN_PASSPHRASE} characters or more)",
                             hide_input=True, confirmation_prompt=True, err=True)
        if len(value) >= MIN_PASSPHRASE:
            return str(value)
        click.echo(f"Too short: use at least {MIN_PASSPHRASE} characters, ideally several "
                   "words.", err=True)


def _kdf(app: Flask) -> dict[str, int]:
    # Tests only (cheap_password_hashing): key files made in milliseconds.
    if state(app).config.cheap_password_hashing:
        return {"opslimit": argon2id.OPSLIMIT_INTERACTIVE,
                "memlimit": argon2id.MEMLIMIT_INTERACTIVE}
    return {"opslimit": argon2id.OPSLIMIT_MODERATE, "memlimit": argon2id.MEMLIMIT_MODERATE}


# --- the database and the vetting key ---------------------------------------------------


@contextmanager
def database(app: Flask) -> Iterator[db.Connection]:
    verify_ready(app)
    conn = db.connect(state(app).config.database_path, load_keys(app).database_key)
    try:
        yield conn
    finally:
        conn.close()


def open_holder_file(path: Path, passphrase_file: Path | None) -> BoxPrivateKey:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MissingKeyFile(f"There is no key holder file at {path}.") from None
    except OSError as error:
        fail(f"The key file {path} cannot be read ({error}).")
    holders.holder_key_header(data)
    return holders.open_holder_key(data, read_passphrase(passphrase_file, f"{path.name}"))


def vetting_keys_from(conn: db.Connection, holder_key: Path | None,
                      passphrase_file: Path | None) -> list[BoxPrivateKey]:
    """The vetting keys (current, and retiring mid-rotation) a holder's file opens."""
    if holder_key is None:
        fail("This command needs the vetting key: give a key holder's file with --holder-key "
             "(and its passphrase, typed or with --passphrase-file).")
    opened = holders.open_vetting_keys(conn, open_holder_file(holder_key, passphrase_file))
    return [opened[state] for state in (VettingKeyState.CURRENT, VettingKeyState.RETIRING)
            if state in opened]


def coordinator(conn: db.Connection, username: str) -> accounts.Account:
    account = accounts.by_username(conn, username)
    if account is None or account.role != "coordinator":
        fail(f"There is no coordinator login called {username!r} "
             "(flask --app app staff create --role coordinator makes one).")
    if account.status != accounts.AccountStatus.ACTIVE:
        fail(f"The login {username!r} is disabled: enable it before enrolling it.")
    return account


@dataclass(frozen=True)
class Enrolled:
    path: Path
    fingerprint: str


def write_holder_file(app: Flask, key_out: Path, passphrase: str) -> tuple[BoxPrivateKey, bytes]:
    """A new holder key pair and its sealed file's bytes (the file is written by the caller)."""
    if key_out.exists():
        raise KeysExist(f"{key_out} already exists; refusing to overwrite it", [key_out])
    if not key_out.parent.is_dir():
        fail(f"Cannot write the key file to {key_out}: {key_out.parent} is not a folder.")
    key = generate_box_keypair(HOLDER_KIND)
    return key, encode_private_key_file(key, passphrase, **_kdf(app))


def enrol(app: Flask, conn: db.Connection, *, account: accounts.Account,
          vetting: list[BoxPrivateKey], key_out: Path, passphrase: str,
          source: str) -> Enrolled:
    """Make a coordinator's own key file and their wrap of the vetting key."""
    key, data = write_holder_file(app, key_out, passphrase)
    # The file first: a wrap for a key whose file was never written would open nothing.
    write_new_file(key_out, data, 0o600)
    try:
        holders.add_holder(conn, public=key.public, kind=HolderKind.COORDINATOR,
                           account_id=account.id, vetting=vetting, source=source,
                           now=state(app).clock())
    except BaseException:
        key_out.unlink(missing_ok=True)
        raise
    return Enrolled(key_out, key.public.fingerprint)


# --- the ceremony ----------------------------------------------------------------------


def run_ceremony(keys_dir: Path, *, demo: bool, holder_outs: list[Path],
                 holder_passphrase_files: Sequence[Path] = (),
                 delivery_passphrase_file: Path | None = None,
                 recovery: tuple[int, int] | None = None,
                 cheap_kdf: bool = False) -> tuple[keystore.CeremonyResult, list[str], str]:
    """Create the server's keys and the first holders; returns (result, holder passphrases,
    delivery passphrase) so the demo can keep them."""
    if not holder_outs:
        fail("The key ceremony needs at least one key holder: give --holder-out PATH, a place "
             "off this server (a removable drive) for the first coordinator's key file.")
    if holder_passphrase_files and len(holder_passphrase_files) != len(holder_outs):
        fail("Give one --holder-passphrase-file per --holder-out, in the same order.")
    if demo:
        phrases = [generate_passphrase() for _ in holder_outs]
        delivery_pass = generate_passphrase()
    else:
        phrases = [new_passphrase(holder_passphrase_files[i] if holder_passphrase_files
                                  else None, f"key holder file {path}")
                   for i, path in enumerate(holder_outs)]
        delivery_pass = new_passphrase(delivery_passphrase_file, "the delivery key")
    opslimit, memlimit = ((argon2id.OPSLIMIT_INTERACTIVE, argon2id.MEMLIMIT_INTERACTIVE)
                          if cheap_kdf else
                          (argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE))
    try:
        result = keystore.init_keys(
            keys_dir, delivery_passphrase=delivery_pass,
            holders=[keystore.HolderOut(path, phrase)
                     for path, phrase in zip(holder_outs, phrases, strict=True)],
            recovery=recovery, progress=lambda message: click.echo(f"  {message}"),
            kdf_opslimit=opslimit, kdf_memlimit=memlimit)
    except KeysExist as error:
        fail(f"{error}\nkeys init never overwrites keys. Move the old ones away first "
             "if you really mean to start again (everything sealed to them is then lost).")
    except (KeyFileError, ValueError) as error:
        fail(str(error))
    # Beside the ceremony, not in it: backups came later, and deployments made before
    # them get this key from `db upgrade` or `backup create` instead.
    backup.ensure_backup_key(keys_dir)
    click.echo(f"  backup key written to {keys_dir / backup.BACKUP_KEY} (keep a copy "
               "offline with database.key: a backup needs both)")
    click.echo("Key fingerprints (compare these with what coordinators and auditors hold):")
    for name, fingerprint in result.fingerprints.items():
        click.echo(f"  {name:<10} {fingerprint}")
    for path in result.holder_paths:
        click.echo(f"Key holder file:   {path}")
    click.echo(f"Delivery key file: {result.delivery_key_path}")
    if result.recovery_shares:
        _print_shares(list(result.recovery_shares), recovery)
    if not demo:
        click.echo("Give each key holder file to its coordinator for their own device and "
                   "delete it from this server. The vetting private key itself was written "
                   "nowhere. Next: flask --app app init-db.")
    return result, phrases, delivery_pass


def _print_shares(shares: list[str], shape: tuple[int, int] | None) -> None:
    threshold = shape[0] if shape else "?"
    click.echo(f"Recovery shares: any {threshold} of these {len(shares)} rebuild the "
               "recovery holder. Shown once and written nowhere: give one to each trustee.")
    for number, share in enumerate(shares, 1):
        click.echo(f"  share {number}: {share}")


def shown(path: Path) -> Path:
    """A path as the operator would type it: relative to where they are, when it is below."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def write_demo_passphrases(keys_dir: Path, lines: list[tuple[Path, str]],
                           delivery_pass: str) -> Path:
    """keys/demo-passphrases.txt: one `FILE PASSPHRASE` line per key file (demo only)."""
    note = keys_dir / DEMO_PASSPHRASE_FILE
    body = [f"{shown(path)} {phrase}" for path, phrase in lines]
    body.append(f"{shown(keys_dir / keystore.DELIVERY_KEY)} {delivery_pass}")
    write_private_text(note, "\n".join(body) + "\n")
    # The demo worker reads this; a real worker gets its passphrase from the operator.
    write_private_text(keys_dir / DEMO_DELIVERY_PASSPHRASE_FILE, delivery_pass + "\n")
    return note


def init_first_holders(app: Flask, conn: db.Connection) -> int:
    """Store keys/first-holders.json's holders in a database that knows no vetting key."""
    first = keystore.read_first_holders(state(app).config.keys_dir)
    if first is None:
        return 0
    if first.vetting_public != load_keys(app).vetting_public:
        fail(f"{keystore.FIRST_HOLDERS} does not belong to keys/vetting.pub.")
    return len(holders.install_first(conn, first, state(app).clock()))


# --- commands --------------------------------------------------------------------------

_PASSPHRASE_FILE = click.option(
    "--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
    help="Read the key file's passphrase from this file's first line instead of asking.")
_NEW_PASSPHRASE_FILE = click.option(
    "--new-passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
    help="Read the new key file's passphrase from this file instead of asking.")
_HOLDER_KEY = click.option(
    "--holder-key", type=click.Path(dir_okay=False, path_type=Path),
    help="An existing key holder's own key file: it opens the vetting key.")


def register(app: Flask) -> None:
    keys_cli = AppGroup("keys", help="The key ceremony, key holders, rotation and recovery.")

    @keys_cli.command("init")
    @click.option("--holder-out", "holder_outs", multiple=True,
                  type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to write a first key holder's file (repeatable; off the "
                       "server, e.g. a removable drive).")
    @click.option("--holder-passphrase-file", "holder_passphrase_files", multiple=True,
                  type=click.Path(dir_okay=False, path_type=Path),
                  help="Each holder file's passphrase, in --holder-out order, instead of asking.")
    @click.option("--delivery-passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
                  help="The delivery key's passphrase, instead of asking.")
    @click.option("--recovery-threshold", type=int,
                  help="Also make a recovery holder: this many shares rebuild it.")
    @click.option("--recovery-shares", type=int, help="How many recovery shares to print.")
    @click.option("--demo", is_flag=True,
                  help="Generate and print passphrases instead of asking (local demo only).")
    def keys_init(holder_outs: tuple[Path, ...], holder_passphrase_files: tuple[Path, ...],
                  delivery_passphrase_file: Path | None, recovery_threshold: int | None,
                  recovery_shares: int | None, demo: bool) -> None:
        """Create the server's keys, the vetting key and its first holders."""
        if (recovery_threshold is None) != (recovery_shares is None):
            fail("Give both --recovery-threshold and --recovery-shares, or neither.")
        recovery = ((recovery_threshold, recovery_shares)
                    if recovery_threshold is not None and recovery_shares is not None
                    else None)
        keys_dir = state(app).config.keys_dir
        outs = list(holder_outs)
        if demo and not outs:
            keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            outs = [keys_dir / "demo-holder-1.key"]
        _result, phrases, delivery_pass = run_ceremony(
            keys_dir, demo=demo, holder_outs=outs,
            holder_passphrase_files=list(holder_passphrase_files),
            delivery_passphrase_file=delivery_passphrase_file, recovery=recovery,
            cheap_kdf=state(app).config.cheap_password_hashing)
        if demo:
            note = write_demo_passphrases(keys_dir, list(zip(outs, phrases, strict=True)),
                                          delivery_pass)
            click.echo(f"DEMO passphrases (shown once; also in {note}, mode 0600):")
            for path, phrase in zip(outs, phrases, strict=True):
                click.echo(f"  {path}: {phrase}")
            click.echo(f"  delivery key: {delivery_pass}")

    @keys_cli.command("show")
    def keys_show() -> None:
        """Print the fingerprint of every key, vetting first, and the key holders."""
        keys_dir = state(app).config.keys_dir
        if not keystore.keys_present(keys_dir):
            fail(f"No keys in {keys_dir}. Create them with: flask --app app keys init")
        described = keystore.describe_keys(keys_dir)
        lines: list[str] = []
        try:
            with database(app) as conn:
                current = holders.current_vetting_public(conn)
                if current is not None:
                    described["vetting"] = (f"{current.fingerprint} (current; its private "
                                            "half exists only in key holders' wraps)")
                for holder in holders.holders(conn):
                    owner = ("recovery holder" if holder.kind is HolderKind.RECOVERY else
                             _username(conn, holder.account_id) or "not yet bound to a login")
                    lines.append(f"{'holder':<10} {holder.public.fingerprint} ({owner})")
        except db.StartupError:
            lines.append("(no database yet: key holders are listed once init-db has run)")
        for name in ("vetting", *(n for n in described if n != "vetting")):
            click.echo(f"{name:<10} {described[name]}")
        for line in lines:
            click.echo(line)

    @keys_cli.command("enrol")
    @click.option("--staff", "username", required=True, help="The coordinator's username.")
    @click.option("--key-out", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to write the coordinator's new key file.")
    @_HOLDER_KEY
    @click.option("--vetting-key", type=click.Path(dir_okay=False, path_type=Path),
                  help="Instead of a holder's file: the shared vetting key file of a "
                       "deployment made before key holders (moving it to holders).")
    @_PASSPHRASE_FILE
    @_NEW_PASSPHRASE_FILE
    @_clear_errors
    def keys_enrol(username: str, key_out: Path, holder_key: Path | None,
                   vetting_key: Path | None, passphrase_file: Path | None,
                   new_passphrase_file: Path | None) -> None:
        """Make a coordinator's own key file and enrol it as a key holder."""
        if (holder_key is None) == (vetting_key is None):
            fail("Give exactly one of --holder-key (an existing holder's file) or "
                 "--vetting-key (the old shared vetting key file).")
        with database(app) as conn:
            account = coordinator(conn, username)
            if holder_key is not None:
                vetting = vetting_keys_from(conn, holder_key, passphrase_file)
                source = "holder"
            else:
                assert vetting_key is not None
                shared = read_private_key_file(
                    vetting_key, read_passphrase(passphrase_file, vetting_key.name),
                    kind="vetting")
                holders.register_shared_vetting_key(conn, shared, load_keys(app),
                                                    state(app).clock())
                vetting = [shared]
                source = "shared_vetting_key_file"
            passphrase = new_passphrase(new_passphrase_file, f"{username}'s new key file")
            done = enrol(app, conn, account=account, vetting=vetting, key_out=key_out,
                         passphrase=passphrase, source=source)
        click.echo(f"Enrolled {username} as a key holder ({done.fingerprint}); their key "
                   f"file is {done.path}. Give it to them for their own device and delete "
                   "it from here.")
        if vetting_key is not None:
            click.echo("Once every coordinator has their own key file, destroy every copy of "
                       "the shared vetting key file and run: flask --app app keys rotate "
                       "vetting --holder-key FILE")

    @keys_cli.command("remove-holder")
    @click.option("--staff", "username", help="The coordinator whose key to remove.")
    @click.option("--fingerprint", help="Or the holder key's fingerprint (keys show).")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @_clear_errors
    def keys_remove_holder(username: str | None, fingerprint: str | None, yes: bool) -> None:
        """Delete a key holder's wraps at once: their key file opens nothing from now on."""
        if (username is None) == (fingerprint is None):
            fail("Give exactly one of --staff USERNAME or --fingerprint FINGERPRINT.")
        with database(app) as conn:
            holder = None
            if username is not None:
                account = accounts.by_username(conn, username)
                holder = (holders.live_holder_for_account(conn, account.id)
                          if account is not None else None)
            else:
                wanted = (fingerprint or "").strip()
                holder = next((h for h in holders.holders(conn)
                               if h.public.fingerprint == wanted), None)
            if holder is None:
                fail("No such key holder (flask --app app keys show lists them).")
            if not yes:
                click.confirm(f"Remove key holder {holder.public.fingerprint}?", abort=True,
                              err=True)
            holders.remove_holder(conn, holder.id, "operator", state(app).clock())
        click.echo(f"Removed key holder {holder.public.fingerprint}. Rotate the vetting key "
                   "now (flask --app app keys rotate vetting --holder-key FILE), so that "
                   "nothing sealed from here on opens with what they may have kept.")

    @keys_cli.command("verify")
    @_clear_errors
    def keys_verify() -> None:
        """Count envelopes per key in each sealed place; exit 1 if any is unsafe or lost."""
        keys = load_keys(app)
        with database(app) as conn:
            retired = [PublicKey("delivery", raw) for raw in keystore.retired_keys(
                state(app).config.keys_dir, keystore.DELIVERY_RETIRED)]
            report = rotation.verify(conn, delivery=keys.delivery_public,
                                     vetting_file=keys.vetting_public,
                                     retired_delivery=retired)
        for (table, column), entry in report.places.items():
            click.echo(f"{table}.{column}: {entry.envelopes} envelopes")
            for kid, count in sorted(entry.by_key.items(), key=lambda item: -item[1]):
                click.echo(f"  {count:>8}  {report.labels.get(kid, 'unknown ' + kid.hex())}")
        if report.problems:
            for problem in report.problems:
                click.secho(f"PROBLEM: {problem}", fg="red", err=True)
            raise SystemExit(1)
        click.echo("OK: every envelope opens with a key a holder (or the worker) can use, "
                   "and none carries a retired key.")

    rotate_cli = AppGroup("rotate", help="Rotate a key.")

    @rotate_cli.command("vetting")
    @click.option("--holder-key", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="A key holder's own key file: it opens the current vetting key.")
    @_PASSPHRASE_FILE
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @click.option("--batch-size", type=click.IntRange(1, 100_000),
                  default=rotation.BATCH_SIZE, show_default=True,
                  help="Envelopes re-wrapped per transaction.")
    @_clear_errors
    def rotate_vetting(holder_key: Path, passphrase_file: Path | None, yes: bool,
                       batch_size: int) -> None:
        """A new vetting key: fresh holder wraps, every envelope re-wrapped, old key retired.

        Resumable: if it stops (even kill -9), run it again to finish the same rotation.
        """
        with database(app) as conn:
            under_way = rotation.running(conn)
            if under_way is None and not yes:
                click.confirm("Rotate the vetting key now?", abort=True, err=True)
            key = open_holder_file(holder_key, passphrase_file)
            bar: list[Any] = []  # click's progress bar, made once the total is known

            def started(run: rotation.Rotation, pending: int) -> None:
                verb = "Resuming" if under_way else "Started"
                click.echo(f"{verb} rotation {run.id}: {run.old.fingerprint} -> "
                           f"{run.new.fingerprint}; new envelopes are sealed to the new key. "
                           f"{pending} envelopes to re-wrap.")
                bar.append(click.progressbar(length=pending, label="Re-wrapping",
                                             file=sys.stderr))

            def advance(_place: tuple[str, str], done: int) -> None:
                if bar:
                    bar[0].update(done)

            # A fresh contact-index key with the new vetting key, not the old one
            # re-wrapped (app/vault/contact_index.py): members are indexed again at the
            # next unlock.
            done = rotation.rotate(conn, key, state(app).clock, batch_size=batch_size,
                                   progress=advance, started=started,
                                   on_finish=member_records.new_contact_index_key)
            if bar:
                bar[0].render_finish()
        _write_vetting_pub(app, done.new)
        click.echo(f"Rotation finished: {done.rewrapped} envelopes re-wrapped; vetting key "
                   f"{done.old.fingerprint} retired, {done.new.fingerprint} current.")

    @rotate_cli.command("delivery")
    @click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
                  help="Read the delivery key's passphrase from this file's first line "
                       "instead of asking.")
    @_NEW_PASSPHRASE_FILE
    @click.option("--keep-passphrase", is_flag=True,
                  help="Seal the new delivery key under the old key's passphrase.")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @click.option("--batch-size", type=click.IntRange(1, 100_000),
                  default=rotation.BATCH_SIZE, show_default=True,
                  help="Envelopes re-wrapped per transaction.")
    @_clear_errors
    def rotate_delivery(passphrase_file: Path | None, new_passphrase_file: Path | None,
                        keep_passphrase: bool, yes: bool, batch_size: int) -> None:
        """A new delivery (worker) key: only the envelopes with a delivery wrap re-wrapped.

        Those are active push members' contacts and pending notices' secrets; no payload
        is re-encrypted. Resumable: if it stops (even kill -9), run it again with the same
        passphrases. Restart the web process and the worker when it has finished.
        """
        if keep_passphrase and new_passphrase_file is not None:
            fail("Give --keep-passphrase or --new-passphrase-file, not both.")
        keys_dir = state(app).config.keys_dir
        resuming = (keys_dir / keystore.DELIVERY_NEXT_KEY).exists()
        with database(app) as conn:
            if not resuming and not yes:
                click.confirm("Rotate the delivery key now?", abort=True, err=True)
            old_passphrase = read_passphrase(passphrase_file, "the delivery key")
            if keep_passphrase:
                passphrase = old_passphrase
            elif resuming:
                passphrase = read_passphrase(new_passphrase_file,
                                             "the new delivery key (as given before)")
            else:
                passphrase = new_passphrase(new_passphrase_file, "the new delivery key")
            kdf = _kdf(app)
            run = keystore.begin_delivery_rotation(
                keys_dir, old_passphrase, passphrase, kdf_opslimit=kdf["opslimit"],
                kdf_memlimit=kdf["memlimit"])
            if not run.resumed:
                rotation.delivery_started(conn, run.old.public, run.new.public,
                                          state(app).clock())
            pending = rotation.delivery_pending(conn, run.old.public, batch_size)
            verb = "Resuming" if run.resumed else "Started"
            click.echo(f"{verb} delivery key rotation: {run.old.public.fingerprint} -> "
                       f"{run.new.public.fingerprint}. {pending} envelopes to re-wrap.")
            with click.progressbar(length=pending, label="Re-wrapping",
                                   file=sys.stderr) as bar:
                moved = rotation.rotate_delivery(
                    conn, run.old, run.new, state(app).clock, batch_size=batch_size,
                    progress=lambda _place, done: bar.update(done))
        keystore.finish_delivery_rotation(keys_dir, run)
        state(app).keys = None  # reload on next use
        click.echo(f"Rotation finished: {sum(moved.values())} envelopes re-wrapped; delivery "
                   f"key {run.old.public.fingerprint} retired, {run.new.public.fingerprint} "
                   "current. Restart the web process and the worker now (the worker with the "
                   "new key's passphrase, if you chose a new one).")

    @rotate_cli.command("audit")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @_clear_errors
    def rotate_audit(yes: bool) -> None:
        """A new audit signing key; every old checkpoint keeps verifying.

        The handover checkpoint (the log's head, just after the entry recording this
        rotation) is signed by the new key and co-signed by the old, so trust passes from
        old to new. Resumable: if it stops, run it again. Restart the web process and the
        worker when it has finished.
        """
        from app.audit.checkpoints import LogNotVerified, hand_over

        keys_dir = state(app).config.keys_dir
        resuming = (keys_dir / keystore.AUDIT_NEXT_KEY).exists()
        with database(app) as conn:
            if not resuming and not yes:
                click.confirm("Rotate the audit signing key now?", abort=True, err=True)
            run = keystore.begin_audit_rotation(keys_dir)
            try:
                handover = hand_over(conn, run.old, run.new, state(app).clock())
            except LogNotVerified as error:
                fail(f"The log does not verify, so trust is not handed over: {error}")
        keystore.finish_audit_rotation(keys_dir, run)
        state(app).keys = None  # reload on next use
        old = format_fingerprint(signing_key_id(run.old.verify_key))
        new = format_fingerprint(signing_key_id(run.new.verify_key))
        click.echo(f"Audit key rotated: {old} retired (listed in "
                   f"{keystore.AUDIT_RETIRED}), {new} current. The handover checkpoint at "
                   f"entry {handover.seq} is signed by both. Restart the web process and the "
                   "worker now; auditors should export the checkpoints again.")

    @rotate_cli.command("database")
    @click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
    @_clear_errors
    def rotate_database(yes: bool) -> None:
        """A new database key: a backup first, then SQLCipher's rekey, then the key file.

        Stop the web process and the worker first (their connections hold the old key).
        The old key is kept as database.key.old: backups made before this rotation need it.
        Resumable: if it stops (even kill -9), run it again.
        """
        from app.cli.backup import take_backup
        from app.vault import rekey

        config = state(app).config
        keys_dir, path = config.keys_dir, config.database_path
        between_renames = (not (keys_dir / keystore.DATABASE_KEY).exists()
                           and (keys_dir / keystore.DATABASE_NEXT_KEY).exists())
        resuming = (keys_dir / keystore.DATABASE_NEXT_KEY).exists()
        if not resuming:
            verify_ready(app)  # after a kill the database may already be under the new key
        if not resuming and not yes:
            click.confirm("Stop the web process and the worker first. Rotate the database "
                          "key now?", abort=True, err=True)
        run = keystore.begin_database_rotation(keys_dir)
        made = None
        if not between_renames and rekey.opens_with(path, run.old):
            made = take_backup(app)
            click.echo(f"Backup made first: {made.path} (it opens with "
                       f"{keystore.DATABASE_OLD_KEY} once this finishes).")
            rekey.rekey(path, run.old, run.new)
        elif not rekey.opens_with(path, run.new):
            fail(f"The database at {path} opens with neither {keystore.DATABASE_KEY} nor "
                 f"{keystore.DATABASE_NEXT_KEY}: nothing was changed.")
        rekey.record(path, run.new, backup=made.path.name if made else "made before a kill",
                     now=state(app).clock())
        keystore.finish_database_rotation(keys_dir)
        state(app).keys = None  # reload on next use
        click.echo(f"Database key rotated: {path} opens with the new {keystore.DATABASE_KEY} "
                   f"only. The old key is {keys_dir / keystore.DATABASE_OLD_KEY}: keep it "
                   "(offline) with the backups made before now, and delete it here once the "
                   "web process and the worker run again and a new backup verifies.")

    keys_cli.add_command(rotate_cli)

    recovery_cli = AppGroup("recovery", help="The recovery holder: SLIP-39 shares.")

    @recovery_cli.command("split")
    @click.option("--threshold", required=True, type=int, help="How many shares rebuild it.")
    @click.option("--shares", required=True, type=int, help="How many shares to make.")
    @_HOLDER_KEY
    @_PASSPHRASE_FILE
    @_clear_errors
    def recovery_split(threshold: int, shares: int, holder_key: Path | None,
                       passphrase_file: Path | None) -> None:
        """Enrol a recovery holder and print its private half as shares (kept nowhere)."""
        try:
            check_threshold(threshold, shares)
        except ValueError as error:
            fail(str(error))
        with database(app) as conn:
            vetting = vetting_keys_from(conn, holder_key, passphrase_file)
            key = generate_box_keypair(HOLDER_KIND)
            mnemonics = split_key(key, threshold=threshold, shares=shares)
            holders.add_holder(conn, public=key.public, kind=HolderKind.RECOVERY,
                               account_id=None, vetting=vetting, source="recovery_split",
                               now=state(app).clock())
        click.echo(f"Enrolled recovery holder {key.public.fingerprint}.")
        _print_shares(mnemonics, (threshold, shares))

    @recovery_cli.command("combine")
    @click.option("--staff", "username", required=True,
                  help="The coordinator to enrol with a new key file.")
    @click.option("--key-out", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to write the coordinator's new key file.")
    @click.option("--shares-file", type=click.Path(dir_okay=False, path_type=Path),
                  help="Read the shares from this file, one per line, instead of asking.")
    @_NEW_PASSPHRASE_FILE
    @_clear_errors
    def recovery_combine(username: str, key_out: Path, shares_file: Path | None,
                         new_passphrase_file: Path | None) -> None:
        """Rebuild the recovery holder from its shares and enrol a coordinator's new key."""
        if shares_file is not None:
            try:
                given = shares_file.read_text(encoding="utf-8").splitlines()
            except OSError as error:
                fail(f"The shares file {shares_file} cannot be read ({error}).")
        else:
            given = []
            click.echo("Type the recovery shares, one per line; an empty line when done.",
                       err=True)
            while True:
                line = click.prompt(f"Share {len(given) + 1}", default="", hide_input=True,
                                    show_default=False, err=True)
                if not line.strip():
                    break
                given.append(line)
        recovery_key = combine_shares(given)
        with database(app) as conn:
            account = coordinator(conn, username)
            holder = holders.holder_by_key_id(conn, recovery_key.key_id)
            if holder is None or holder.kind is not HolderKind.RECOVERY or not holder.live:
                fail("These shares rebuild a key that is not (or no longer) this scheme's "
                     "recovery holder.")
            opened = holders.open_vetting_keys(conn, recovery_key, holder)
            passphrase = new_passphrase(new_passphrase_file, f"{username}'s new key file")
            done = enrol(app, conn, account=account, vetting=list(opened.values()),
                         key_out=key_out, passphrase=passphrase, source="recovery")
        click.echo(f"Enrolled {username} as a key holder ({done.fingerprint}) from the "
                   f"recovery shares; their key file is {done.path}.")

    keys_cli.add_command(recovery_cli)
    app.cli.add_command(keys_cli)


def _username(conn: db.Connection, account_id: str | None) -> str | None:
    if account_id is None:
        return None
    account = accounts.by_id(conn, account_id)
    return None if account is None else f"coordinator {account.username}"


def _write_vetting_pub(app: Flask, public: PublicKey) -> None:
    """Keep keys/vetting.pub equal to the database's current key (keys show, old tools)."""
    path = state(app).config.keys_dir / keystore.VETTING_PUB
    replacement = path.with_name(path.name + ".new")
    replacement.unlink(missing_ok=True)
    write_public_key_file(replacement, public)
    replacement.replace(path)
    state(app).keys = None  # reload on next use
