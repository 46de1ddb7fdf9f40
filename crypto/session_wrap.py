"""Holding an unlocked private key for a bounded time, in a form the server alone can't use.

When a coordinator unlocks the vetting key, the server keeps only the key sealed under a
fresh random wrapping key (XChaCha20-Poly1305, the key's kind as associated data); the
wrapping key goes to the coordinator's browser in the session cookie. Each request that
needs the key brings the wrapping key back. Once the cookie is gone (sign-out, expiry) or
the server forgets its half (expiry, restart: it lives in memory only), neither side
alone can use it.
"""

from __future__ import annotations

import nacl.exceptions
import nacl.secret
import nacl.utils

from .errors import CryptoError
from .keys import BoxPrivateKey

WRAPPING_KEY_BYTES = nacl.secret.Aead.KEY_SIZE
_AD_PREFIX = b"uglymugs:session-wrap:v1:"
_SECRET_AD_PREFIX = b"uglymugs:session-wrap-secret:v1:"


class SessionWrapError(CryptoError):
    """The wrapped key does not open with the wrapping key presented."""


def wrap_for_session(key: BoxPrivateKey) -> tuple[bytes, bytes]:
    """Return (wrapped key for the server's memory, wrapping key for the browser)."""
    wrapping_key = nacl.utils.random(WRAPPING_KEY_BYTES)
    wrapped = nacl.secret.Aead(wrapping_key).encrypt(key.raw, _AD_PREFIX + key.kind.encode())
    return bytes(wrapped), wrapping_key


def unwrap_from_session(wrapped: bytes, wrapping_key: bytes, kind: str) -> BoxPrivateKey:
    if not isinstance(wrapping_key, bytes) or len(wrapping_key) != WRAPPING_KEY_BYTES:
        raise SessionWrapError("wrong wrapping key length")
    try:
        raw = nacl.secret.Aead(wrapping_key).decrypt(wrapped, _AD_PREFIX + kind.encode())
    except nacl.exceptions.CryptoError:
        raise SessionWrapError("the unlocked key does not open with this session") from None
    return BoxPrivateKey(kind=kind, raw=bytes(raw))


def wrap_secret_for_session(secret: bytes, wrapping_key: bytes, label: str) -> bytes:
    """Wrap another secret held for the same session (the contact-index key) under the
    wrapping key the browser already carries; `label` keeps it apart from the key."""
    if not isinstance(wrapping_key, bytes) or len(wrapping_key) != WRAPPING_KEY_BYTES:
        raise SessionWrapError("wrong wrapping key length")
    box = nacl.secret.Aead(wrapping_key)
    return bytes(box.encrypt(secret, _SECRET_AD_PREFIX + label.encode()))


def unwrap_secret_from_session(wrapped: bytes, wrapping_key: bytes, label: str) -> bytes:
    if not isinstance(wrapping_key, bytes) or len(wrapping_key) != WRAPPING_KEY_BYTES:
        raise SessionWrapError("wrong wrapping key length")
    try:
        return bytes(nacl.secret.Aead(wrapping_key).decrypt(
            wrapped, _SECRET_AD_PREFIX + label.encode()))
    except nacl.exceptions.CryptoError:
        raise SessionWrapError("the held secret does not open with this session") from None
