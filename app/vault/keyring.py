"""The coordinators' unlocked vetting keys: in this process's memory only, 15 minutes.

Flask-free: entries are keyed by a digest the caller supplies (the web layer passes a
hash of the coordinator's session token). Each entry is the private key wrapped under a
key that only the coordinator's cookie carries (crypto/session_wrap.py), so the process
alone cannot use a held key without that coordinator's next request. Nothing here is
ever written to disk or to the database, and a restart forgets everything. Production
runs one web process (gunicorn threads) so that an unlock is seen by every request of
that coordinator.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.vault import log
from app.vault.db import Connection, transaction
from crypto import keystore
from crypto.errors import DamagedKeyFile
from crypto.keys import BoxPrivateKey, PublicKey
from crypto.session_wrap import SessionWrapError, unwrap_from_session, wrap_for_session

UNLOCK_LIFETIME = timedelta(minutes=15)
MAX_KEY_FILE_BYTES = 16 * 1024


@dataclass(frozen=True)
class _Held:
    wrapped: bytes
    kind: str
    expires_at: datetime


class UnlockStore:
    def __init__(self, lifetime: timedelta = UNLOCK_LIFETIME) -> None:
        self._lifetime = lifetime
        self._held: dict[bytes, _Held] = {}
        self._lock = threading.Lock()

    def put(self, holder: bytes, key: BoxPrivateKey, now: datetime) -> tuple[bytes, datetime]:
        """Hold `key` for `holder`; returns (the cookie's wrapping key, expiry)."""
        wrapped, wrapping_key = wrap_for_session(key)
        expires = now + self._lifetime
        with self._lock:
            self._held[holder] = _Held(wrapped, key.kind, expires)
        return wrapping_key, expires

    def get(self, holder: bytes, wrapping_key: bytes | None,
            now: datetime) -> BoxPrivateKey | None:
        with self._lock:
            held = self._held.get(holder)
            if held is not None and now >= held.expires_at:
                del self._held[holder]
                held = None
        if held is None or wrapping_key is None:
            return None
        try:
            return unwrap_from_session(held.wrapped, wrapping_key, held.kind)
        except SessionWrapError:
            return None

    def expires_at(self, holder: bytes, now: datetime) -> datetime | None:
        with self._lock:
            held = self._held.get(holder)
        return held.expires_at if held and now < held.expires_at else None

    def forget(self, holder: bytes) -> None:
        with self._lock:
            self._held.pop(holder, None)

    def holders(self) -> list[bytes]:
        with self._lock:
            return list(self._held)

    def purge(self, now: datetime) -> None:
        with self._lock:
            for digest in [d for d, h in self._held.items() if now >= h.expires_at]:
                del self._held[digest]

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)


def unlock(conn: Connection, store: UnlockStore, *, key_file: bytes, passphrase: str,
           expected: PublicKey, holder: bytes, actor_id: str,
           now: datetime) -> tuple[bytes, datetime]:
    """Open the uploaded key file and hold it for `holder`; logged before it is held.

    Raises crypto.errors.KeyFileError subclasses (KeyMismatch, WrongPassphrase,
    DamagedKeyFile) for the caller to explain. Returns (the cookie's wrapping key, expiry).
    """
    if len(key_file) > MAX_KEY_FILE_BYTES:
        raise DamagedKeyFile("too large to be a key file")
    key = keystore.unlock_private_key(key_file, passphrase, expected)
    with transaction(conn):
        log.append(conn, log.key_unlocked(at=now, actor=actor_id,
                                          key_fingerprint=expected.fingerprint))
    return store.put(holder, key, now)


def forget_ended(conn: Connection, store: UnlockStore) -> int:
    """Forget every key whose session no longer exists; returns how many were forgotten.

    A session can end outside this process (`flask --app app staff disable` deletes a
    coordinator's sessions from the command line): the key they unlocked must not outlive
    it until its 15 minutes are up. Holders are the same digests the sessions table keeps,
    so a held key with no session row is one whose session has ended. Nothing to do, and no
    query, while no key is held.
    """
    held = store.holders()
    if not held:
        return 0
    marks = ", ".join("?" * len(held))
    live = {bytes(row["token_hash"]) for row in conn.execute(
        f"SELECT token_hash FROM sessions WHERE token_hash IN ({marks})",  # noqa: S608
        held)}
    ended = [holder for holder in held if holder not in live]
    for holder in ended:
        store.forget(holder)
    return len(ended)


def held_key(store: UnlockStore, holder: bytes, wrapping_hex: str | None,
             now: datetime) -> BoxPrivateKey | None:
    """The key `holder` unlocked, if still held and the cookie's wrapping key opens it."""
    try:
        wrapping = bytes.fromhex(wrapping_hex) if wrapping_hex else None
    except ValueError:
        wrapping = None
    return store.get(holder, wrapping, now)
