"""What every operator command shares: failing with a message, writing owner-only files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import click


def fail(message: str) -> NoReturn:
    """Stop the command with a red message and exit status 1 (no traceback)."""
    click.secho(message, fg="red", err=True)
    raise SystemExit(1)


def write_private_text(path: Path, text: str) -> None:
    """A new file only its owner can read; never overwrites one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
