"""The coordinators' unlocked vetting keys: in this process's memory only, 15 minutes.

Keyed by a hash of the coordinator's session token; each entry is the private key wrapped
under a key that only the coordinator's cookie carries (crypto/session_wrap.py). Nothing
here is ever written to disk or to the database, and a restart forgets everything.
Production runs one web process (gunicorn threads) so that an unlock is seen by every
request of that coordinator.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from crypto.keys import BoxPrivateKey
from crypto.session_wrap import SessionWrapError, unwrap_from_session, wrap_for_session

from .auth.sessions import token_hash

UNLOCK_LIFETIME = timedelta(minutes=15)


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

    def put(self, session_token: str, key: BoxPrivateKey, now: datetime) -> tuple[bytes, datetime]:
        """Hold `key` for this session; returns (the cookie's wrapping key, expiry)."""
        wrapped, wrapping_key = wrap_for_session(key)
        expires = now + self._lifetime
        with self._lock:
            self._held[token_hash(session_token)] = _Held(wrapped, key.kind, expires)
        return wrapping_key, expires

    def get(self, session_token: str, wrapping_key: bytes | None,
            now: datetime) -> BoxPrivateKey | None:
        digest = token_hash(session_token)
        with self._lock:
            held = self._held.get(digest)
            if held is not None and now >= held.expires_at:
                del self._held[digest]
                held = None
        if held is None or wrapping_key is None:
            return None
        try:
            return unwrap_from_session(held.wrapped, wrapping_key, held.kind)
        except SessionWrapError:
            return None

    def expires_at(self, session_token: str, now: datetime) -> datetime | None:
        with self._lock:
            held = self._held.get(token_hash(session_token))
        return held.expires_at if held and now < held.expires_at else None

    def forget(self, session_token: str) -> None:
        with self._lock:
            self._held.pop(token_hash(session_token), None)

    def purge(self, now: datetime) -> None:
        with self._lock:
            for digest in [d for d, h in self._held.items() if now >= h.expires_at]:
                del self._held[digest]

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)
