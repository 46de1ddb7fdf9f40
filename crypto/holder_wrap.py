"""A private key sealed to a key holder's public key: how the vetting key is held.

Nobody holds the vetting private key directly. The database keeps one wrap of it per key
holder (each coordinator, and the recovery holder), made here: an envelope
(crypto/envelope.py: a sealed box around a fresh data key, XChaCha20-Poly1305 around the
32-byte secret) whose associated data names what it holds (the wrapped key's kind and
key id) and for whom (the holder's key id). So a wrap copied onto another holder's row,
or swapped for a wrap of some other key, fails to open instead of yielding a wrong key.
"""

from __future__ import annotations

import hmac

from ._encoding import length_prefixed, utf8
from .envelope import open_envelope, seal
from .errors import TamperedEnvelope
from .keys import BoxPrivateKey, PublicKey

HOLDER_KIND = "holder"
_AD_TAG = b"uglymugs:holder-wrap:v1"


def _associated_data(kind: str, wrapped_key_id: bytes, holder_key_id: bytes) -> bytes:
    return length_prefixed(_AD_TAG, utf8(kind, "kind"), wrapped_key_id, holder_key_id)


def wrap_for_holder(key: BoxPrivateKey, holder: PublicKey) -> bytes:
    """Seal ``key`` so that only ``holder``'s private half can open it."""
    if not isinstance(key, BoxPrivateKey) or not isinstance(holder, PublicKey):
        raise TypeError("wrap_for_holder takes a BoxPrivateKey and a PublicKey")
    return seal(key.raw, [holder], _associated_data(key.kind, key.key_id, holder.key_id))


def unwrap_for_holder(wrap: bytes, holder_key: BoxPrivateKey, expected: PublicKey) -> BoxPrivateKey:
    """Open a wrap with the holder's private key; the result must be the key ``expected``.

    Raises an EnvelopeError (UnknownKeyId: not this holder's wrap; TamperedEnvelope:
    edited, moved, or not a wrap of ``expected``).
    """
    raw = open_envelope(bytes(wrap), holder_key,
                        _associated_data(expected.kind, expected.key_id, holder_key.key_id))
    key = BoxPrivateKey(expected.kind, bytes(raw))
    if not hmac.compare_digest(key.public.raw, expected.raw):
        raise TamperedEnvelope("the wrap holds a different key than the one it names")
    return key


__all__ = ["HOLDER_KIND", "unwrap_for_holder", "wrap_for_holder"]
