"""Password hashing with Argon2id (argon2-cffi), bounded in how many run at once.

Each hash takes the profile's memory (64 MiB for RFC 9106's low-memory profile), so a
burst of sign-ins could exhaust the machine: at most `max_concurrent` hashes run at once,
and a request that cannot get a slot within `wait_seconds` is refused with HashingBusy
(a 429 page), never queued without bound.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY
from flask_babel import lazy_gettext as _l

from app.common.turns import Turns

# For tests only: the same code path with parameters that take milliseconds.
CHEAP_TEST_PROFILE = RFC_9106_LOW_MEMORY.__class__(
    type=Type.ID, version=19, salt_len=16, hash_len=32,
    time_cost=1, memory_cost=8, parallelism=1,
)

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 256


class HashingBusy(Exception):
    """Too many password hashes are running; the caller answers 429."""


class Passwords:
    def __init__(self, *, max_concurrent: int = 2, wait_seconds: float = 3.0,
                 cheap_for_tests: bool = False, turns: Turns | None = None) -> None:
        profile = CHEAP_TEST_PROFILE if cheap_for_tests else RFC_9106_LOW_MEMORY
        self._hasher = PasswordHasher.from_parameters(profile)
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._wait = wait_seconds
        # Nobody holds a turn of a fresh Turns, so alone it changes nothing.
        self._turns = turns if turns is not None else Turns()
        # Verified against when the username is unknown, so that an unknown username
        # costs the same time as a wrong password.
        self._dummy_hash = self._hasher.hash("uglymugs: no such account")

    @property
    def parameters(self) -> object:
        return self._hasher

    @contextmanager
    def _slot(self) -> Iterator[None]:
        """A hashing slot, waited for and used aside: other requests run meanwhile."""
        with self._turns.aside():
            if not self._slots.acquire(timeout=self._wait):
                raise HashingBusy
            try:
                yield
            finally:
                self._slots.release()

    def hash(self, password: str) -> str:
        with self._slot():
            return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True only for the right password; an unknown account (None) costs the same."""
        with self._slot():
            try:
                return self._hasher.verify(stored_hash or self._dummy_hash, password) and (
                    stored_hash is not None
                )
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


def password_problem(password: str) -> object | None:
    """A message (lazily translated) saying what is wrong with a new password, or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return _l("Use at least %(count)d characters. Several words work well.",
                  count=MIN_PASSWORD_CHARS)
    if len(password) > MAX_PASSWORD_CHARS:
        return _l("Use at most %(count)d characters.", count=MAX_PASSWORD_CHARS)
    if not password.strip():
        return _l("A password cannot be only spaces.")
    return None
