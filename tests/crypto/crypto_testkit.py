"""Constants and helpers shared by the crypto tests.

Argon2id runs with libsodium's INTERACTIVE limits everywhere except the one test that
proves the real defaults are at least MODERATE, so the suite stays fast on small machines.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hypothesis import HealthCheck, settings
from nacl.pwhash import argon2id

FAST_KDF = {"opslimit": argon2id.OPSLIMIT_INTERACTIVE, "memlimit": argon2id.MEMLIMIT_INTERACTIVE}
FAST_CEREMONY = {
    "kdf_opslimit": argon2id.OPSLIMIT_INTERACTIVE,
    "kdf_memlimit": argon2id.MEMLIMIT_INTERACTIVE,
}
VETTING_PASSPHRASE = "amber-falcon-quiet-harbor-lantern-six"
DELIVERY_PASSPHRASE = "copper-meadow-tidy-violin-breeze-nine"

# Crypto timings are noisy on a shared 2-core machine; a deadline would only add flakes.
CHEAP = settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
COSTLY = settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])


def mode_of(path: Path) -> int:
    """Permission bits of a path (no symlink following)."""
    return stat.S_IMODE(os.lstat(path).st_mode)


def snapshot(directory: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``directory`` with its mode and contents, to prove nothing changed."""
    result = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            result[str(path.relative_to(directory))] = (mode_of(path), path.read_bytes())
        else:
            result[str(path.relative_to(directory))] = (mode_of(path), b"<dir>")
    return result
