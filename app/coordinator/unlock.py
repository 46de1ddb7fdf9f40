"""Unlocking the vetting key for one coordinator's session, for at most 15 minutes."""

from __future__ import annotations

from datetime import datetime

from crypto import keystore
from crypto.keys import BoxPrivateKey, PublicKey

from .. import disclosure_log
from ..db import Connection, transaction
from ..unlocks import UnlockStore

MAX_KEY_FILE_BYTES = 16 * 1024


def unlock(conn: Connection, store: UnlockStore, *, key_file: bytes, passphrase: str,
           expected: PublicKey, session_token: str, actor_id: str,
           now: datetime) -> tuple[bytes, datetime]:
    """Open the uploaded key file and hold it for this session; logged before it is held.

    Raises crypto.errors.KeyFileError subclasses (KeyMismatch, WrongPassphrase,
    DamagedKeyFile) for the view to explain. Returns (the cookie's wrapping key, expiry).
    """
    key = keystore.unlock_private_key(key_file, passphrase, expected)
    with transaction(conn):
        disclosure_log.append(conn, {
            "at": now.isoformat(timespec="seconds"),
            "actor": actor_id,
            "event": "vetting_key_unlocked",
            "key": expected.fingerprint,
        })
    return store.put(session_token, key, now)


def held_key(store: UnlockStore, session_token: str, wrapping_hex: str | None,
             now: datetime) -> BoxPrivateKey | None:
    try:
        wrapping = bytes.fromhex(wrapping_hex) if wrapping_hex else None
    except ValueError:
        wrapping = None
    return store.get(session_token, wrapping, now)
