"""`flask --app app audit verify` and `flask --app app audit checkpoint`.

verify exits 0 only when the chain is unbroken and every checkpoint (stored, and any given
with --checkpoint) is validly signed and matches the log; otherwise it prints the first
bad entry and every problem found, and exits 1. checkpoint loads the audit signing key
(the web process never does), verifies the log, and signs its head.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from app.audit.checkpoints import LogNotVerified, make_checkpoint
from app.audit.verification import KEPT, LogVerdict, parse_kept, verify_log
from app.cli.output import fail
from app.vault import db
from app.web.state import load_keys, state, verify_ready
from crypto import keystore
from crypto.audit_chain import Checkpoint
from crypto.errors import KeyFileError, MalformedCheckpoint

MAX_CHECKPOINT_FILE_BYTES = 10 * 1024 * 1024



def _connect(app: Flask) -> db.Connection:
    try:
        verify_ready(app)
        return db.connect(state(app).config.database_path, load_keys(app).database_key)
    except db.StartupError as error:
        fail(str(error))


def _print_verdict(verdict: LogVerdict) -> None:
    click.echo(f"Disclosure log: {verdict.entries} entries.")
    click.echo(f"Audit key fingerprint: {verdict.key_fingerprint} (compare it with the one "
               "recorded at the key ceremony).")
    if not verdict.checkpoints:
        click.echo("No signed checkpoint yet.")
    for check in verdict.checkpoints:
        where = "kept checkpoint" if check.source == KEPT else "checkpoint"
        state_ = "valid signature" if check.signature_ok else "INVALID SIGNATURE"
        click.echo(f"  {where} up to entry {check.checkpoint.seq}, signed "
                   f"{check.checkpoint.created_at}: {state_}; {check.note}")
    if verdict.ok:
        click.secho(verdict.summary(), fg="green")
        if verdict.covered_to:
            click.echo(f"Entries 1 to {verdict.covered_to} are covered by a signed checkpoint.")
        if verdict.uncovered:
            click.echo(f"{verdict.uncovered} entries after that are not yet covered: removing "
                       "them from the end could not be detected until the next checkpoint "
                       "(flask --app app audit checkpoint).")
        return
    click.secho(verdict.summary(), fg="red")
    if len(verdict.problems) > 1:
        click.echo("Every problem found:")
        for problem in verdict.problems:
            named = f"entry {problem.seq}: " if problem.seq is not None else ""
            click.echo(f"  - {named}{problem.message}")


def _read_kept(path: Path) -> list[Checkpoint]:
    if path.stat().st_size > MAX_CHECKPOINT_FILE_BYTES:
        fail(f"{path} is too large to be a checkpoint file.")
    try:
        return parse_kept(path.read_text(encoding="utf-8"))
    except (MalformedCheckpoint, UnicodeDecodeError) as error:
        fail(f"{path} is not an exported checkpoint file: {error}")


def register(app: Flask) -> None:
    audit_cli = AppGroup("audit", help="Verify the disclosure log; sign checkpoints of it.")

    @audit_cli.command("verify")
    @click.option("--checkpoint", "checkpoint_files", multiple=True,
                  type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="An exported checkpoint (or list of them) kept away from the server; "
                       "may be given more than once.")
    def verify(checkpoint_files: tuple[Path, ...]) -> None:
        """Verify the chain and every signed checkpoint; exit 1 naming the first bad entry."""
        kept = [c for path in checkpoint_files for c in _read_kept(path)]
        conn = _connect(app)
        try:
            verdict = verify_log(conn, load_keys(app).audit_verify_key, kept=kept)
        finally:
            conn.close()
        _print_verdict(verdict)
        if not verdict.ok:
            raise SystemExit(1)

    @audit_cli.command("checkpoint")
    def checkpoint() -> None:
        """Verify the log, then sign its head with the audit key and store the checkpoint."""
        try:
            signing_key = keystore.load_audit_signing_key(state(app).config.keys_dir)
        except KeyFileError as error:
            fail(f"Cannot load the audit signing key: {error}")
        conn = _connect(app)
        try:
            made = make_checkpoint(conn, signing_key, state(app).clock())
        except LogNotVerified as error:
            _print_verdict(error.verdict)
            fail("No checkpoint was signed: the log does not verify. Investigate first.")
        finally:
            conn.close()
        if made is None:
            click.echo("Nothing to sign: the log is empty, or its last entry already has a "
                       "checkpoint.")
            return
        click.echo(f"Signed a checkpoint up to entry {made.seq} at {made.created_at} "
                   f"(head {made.head_hash.hex()}).")

    app.cli.add_command(audit_cli)
