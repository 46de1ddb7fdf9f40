"""The coordinators' unlocked vetting keys: in this process's memory only, 15 minutes.

Flask-free: entries are keyed by a digest the caller supplies (the web layer passes a
hash of the coordinator's session token). Each entry is the private key wrapped under a
key that only the coordinator's cookie carries (crypto/session_wrap.py), so the process
alone cannot use a held key without that coordinator's next request. Nothing here is
ever written to disk or to the database, and a restart forgets everything. The
contact-index key (app/vault/contact_index.py) is held beside the vetting key, wrapped
under the same cookie's key, and forgotten with it. Production
runs one web process (gunicorn threads) so that an unlock is seen by every request of
that coordinator.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.vault import contact_index, holders
from app.vault.contact_index import ContactIndexer
from app.vault.db import Connection
from crypto.errors import DamagedKeyFile
from crypto.keys import BoxPrivateKey
from crypto.session_wrap import (
    SessionWrapError,
    unwrap_from_session,
    unwrap_secret_from_session,
    wrap_for_session,
    wrap_secret_for_session,
)

_INDEX_LABEL = "contact-index"

UNLOCK_LIFETIME = timedelta(minutes=15)
MAX_KEY_FILE_BYTES = 16 * 1024


@dataclass(frozen=True)
class _Held:
    wrapped: bytes
    kind: str
    expires_at: datetime
    # (contact-index key id, the key wrapped under the same session key), if opened.
    index: tuple[str, bytes] | None = None


class UnlockStore:
    def __init__(self, lifetime: timedelta = UNLOCK_LIFETIME) -> None:
        self._lifetime = lifetime
        self._held: dict[bytes, _Held] = {}
        self._lock = threading.Lock()

    def put(self, holder: bytes, key: BoxPrivateKey, now: datetime,
            index_key: tuple[str, bytes] | None = None) -> tuple[bytes, datetime]:
        """Hold `key` (and the contact-index key, if given) for `holder`; returns (the
        cookie's wrapping key, expiry)."""
        wrapped, wrapping_key = wrap_for_session(key)
        index = None if index_key is None else (
            index_key[0], wrap_secret_for_session(index_key[1], wrapping_key, _INDEX_LABEL))
        expires = now + self._lifetime
        with self._lock:
            self._held[holder] = _Held(wrapped, key.kind, expires, index)
        return wrapping_key, expires

    def get_indexer(self, holder: bytes, wrapping_key: bytes | None,
                    now: datetime) -> ContactIndexer | None:
        """The contact-index key held beside `holder`'s vetting key, as an indexer."""
        with self._lock:
            held = self._held.get(holder)
        if held is None or held.index is None or wrapping_key is None or now >= held.expires_at:
            return None
        key_id, wrapped = held.index
        try:
            raw = unwrap_secret_from_session(wrapped, wrapping_key, _INDEX_LABEL)
        except SessionWrapError:
            return None
        return contact_index.indexer(key_id, raw)

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
           holder: bytes, account_id: str, now: datetime) -> tuple[bytes, datetime]:
    """Open the coordinator's own key file and wrap, and hold the vetting key for `holder`.

    Only a wrap belonging to `account_id` opens (app/vault/holders.py); the unlock is
    logged before the key is held. Raises crypto.errors.KeyFileError subclasses
    (holders.NotAHolder, holders.NotYourHolder, KeyMismatch, WrongPassphrase,
    DamagedKeyFile) for the caller to explain. Returns (the cookie's wrapping key, expiry).
    """
    if len(key_file) > MAX_KEY_FILE_BYTES:
        raise DamagedKeyFile("too large to be a key file")
    key = holders.unlock_vetting_key(conn, key_file=key_file, passphrase=passphrase,
                                     account_id=account_id, now=now)
    index_key = contact_index.open_or_create(conn, key, account_id, now)
    return store.put(holder, key, now, index_key)


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


def held_indexer(store: UnlockStore, holder: bytes, wrapping_hex: str | None,
                 now: datetime) -> ContactIndexer | None:
    """The contact-index key `holder` has beside their unlocked vetting key, if any."""
    try:
        wrapping = bytes.fromhex(wrapping_hex) if wrapping_hex else None
    except ValueError:
        wrapping = None
    return store.get_indexer(holder, wrapping, now)
