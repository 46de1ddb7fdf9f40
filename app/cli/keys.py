"""The key ceremony and key fingerprints: `keys init`, `keys show`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from app.cli.output import fail, write_private_text
from app.vault import backup
from app.web.state import state
from crypto import keystore
from crypto.errors import KeyFileError, KeysExist
from crypto.passphrase import generate_passphrase

DEMO_PASSPHRASE_FILE = "demo-passphrases.txt"  # noqa: S105 (a file name)
DEMO_DELIVERY_PASSPHRASE_FILE = "demo-delivery-passphrase.txt"  # noqa: S105 (a file name)


def _ask_passphrase(label: str) -> str:
    while True:
        value = click.prompt(f"Passphrase for the {label} key (12 characters or more)",
                             hide_input=True, confirmation_prompt=True, err=True)
        if len(value) >= 12:
            return value
        click.echo("Too short: use at least 12 characters, ideally several words.", err=True)


def run_ceremony(keys_dir: Path, *, demo: bool, vetting_key_out: Path | None) -> None:
    if demo:
        vetting_pass, delivery_pass = generate_passphrase(), generate_passphrase()
    else:
        vetting_pass = _ask_passphrase("vetting")
        delivery_pass = _ask_passphrase("delivery")
    try:
        result = keystore.init_keys(
            keys_dir,
            vetting_passphrase=vetting_pass,
            delivery_passphrase=delivery_pass,
            vetting_key_out=vetting_key_out,
            progress=lambda message: click.echo(f"  {message}"),
        )
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
    click.echo(f"Vetting key file:  {result.vetting_key_path}")
    click.echo(f"Delivery key file: {result.delivery_key_path}")
    if demo:
        note = keys_dir / DEMO_PASSPHRASE_FILE
        write_private_text(
            note,
            "DEMO ONLY. A real deployment never writes passphrases to disk.\n"
            f"vetting  {vetting_pass}\ndelivery {delivery_pass}\n",
        )
        # The demo worker reads this; a real worker gets its passphrase from the operator.
        write_private_text(keys_dir / DEMO_DELIVERY_PASSPHRASE_FILE, delivery_pass + "\n")
        click.echo("DEMO passphrases (shown once; also in "
                   f"{note}, mode 0600):")
        click.echo(f"  vetting key:  {vetting_pass}")
        click.echo(f"  delivery key: {delivery_pass}")
    else:
        click.echo("Move the vetting key file to the coordinators' own devices and delete it "
                   "from this server: the server must never hold it at rest.")


def register(app: Flask) -> None:
    keys_cli = AppGroup("keys", help="The key ceremony and key fingerprints.")

    @keys_cli.command("init")
    @click.option("--vetting-key-out", type=click.Path(dir_okay=False, path_type=Path),
                  help="Where to write the sealed vetting key file (default: keys/).")
    @click.option("--demo", is_flag=True,
                  help="Generate and print passphrases instead of asking (local demo only).")
    def keys_init(vetting_key_out: Path | None, demo: bool) -> None:
        """Create the database, index, vetting, delivery, audit and session keys."""
        run_ceremony(state(app).config.keys_dir, demo=demo, vetting_key_out=vetting_key_out)

    @keys_cli.command("show")
    def keys_show() -> None:
        """Print the fingerprint of every key (public information only)."""
        keys_dir = state(app).config.keys_dir
        if not keystore.keys_present(keys_dir):
            fail(f"No keys in {keys_dir}. Create them with: flask --app app keys init")
        for name, fingerprint in keystore.describe_keys(keys_dir).items():
            click.echo(f"{name:<10} {fingerprint}")

    app.cli.add_command(keys_cli)
