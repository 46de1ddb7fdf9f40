"""Key types and key identifiers.

A key id is a short, stable name for a public key: envelopes tag each wrapped data key
with the recipient's key id, so that a private key can find its own wrap without trial
decryption, and operators compare fingerprints (the key id in hex) during a key ceremony.
Key ids are personalised BLAKE2b hashes so that they can never collide with any other hash
this project computes over the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field

import nacl.bindings
import nacl.encoding
import nacl.hash
import nacl.public
import nacl.signing

KEY_ID_BYTES = 16
PUBLIC_KEY_BYTES = nacl.public.PublicKey.SIZE
PRIVATE_KEY_BYTES = nacl.public.PrivateKey.SIZE
VERIFY_KEY_BYTES = nacl.bindings.crypto_sign_PUBLICKEYBYTES

# Personalisation strings (at most 16 bytes for BLAKE2b) keep box key ids and signing key
# ids in separate domains even if the same 32 bytes were ever hashed as both.
_BOX_KEY_ID_PERSON = b"uglymugs:key-id"
_SIGNING_KEY_ID_PERSON = b"uglymugs:sig-id"

_KIND_RE = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def _check_kind(kind: object) -> str:
    if not isinstance(kind, str) or not _KIND_RE.fullmatch(kind):
        raise ValueError("key kind must be a short lower-case name such as 'vetting'")
    return kind


def key_id(public_raw: bytes) -> bytes:
    """Return the 16-byte id of a raw X25519 public key.

    128 bits is ample: ids only need to be unique among the handful of keys a deployment
    ever has, and an attacker gains nothing from a collision because the wrap still has
    to open under the private key.
    """
    public_raw = bytes(public_raw)
    if len(public_raw) != PUBLIC_KEY_BYTES:
        raise ValueError(f"a public key is {PUBLIC_KEY_BYTES} bytes, not {len(public_raw)}")
    return hashlib.blake2b(public_raw, digest_size=KEY_ID_BYTES, person=_BOX_KEY_ID_PERSON).digest()


def format_fingerprint(kid: bytes) -> str:
    """Render a key id as hex in 4-character groups, easy to read aloud and compare."""
    text = kid.hex()
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True)
class PublicKey:
    """An X25519 public key together with the role ("kind") it was made for.

    The kind travels with the key so that a delivery key can never be loaded where the
    vetting key is expected.
    """

    kind: str
    raw: bytes
    # Derived once at construction (a hash and a PyNaCl object), so sealing never
    # recomputes them per call; not part of equality or the repr.
    _key_id: bytes = field(init=False, repr=False, compare=False)
    _nacl: nacl.public.PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_kind(self.kind)
        if not isinstance(self.raw, bytes) or len(self.raw) != PUBLIC_KEY_BYTES:
            raise ValueError(f"a public key is {PUBLIC_KEY_BYTES} bytes")
        object.__setattr__(self, "_key_id", key_id(self.raw))
        object.__setattr__(self, "_nacl", nacl.public.PublicKey(self.raw))

    @property
    def key_id(self) -> bytes:
        """The key id used to tag envelope wraps for this key."""
        return self._key_id

    @property
    def fingerprint(self) -> str:
        """The key id as grouped hex, for people to compare."""
        return format_fingerprint(self.key_id)

    def to_nacl(self) -> nacl.public.PublicKey:
        """Return the PyNaCl object for use with sealed boxes (immutable, so shared)."""
        return self._nacl


@dataclass(frozen=True, eq=False)
class BoxPrivateKey:
    """An X25519 private key; never printed, compared in constant time."""

    kind: str
    raw: bytes = field(repr=False)
    # The public half is derived from the secret once, here, so it can never disagree with
    # it; deriving it per call cost two X25519 base multiplications per open or rewrap.
    _nacl: nacl.public.PrivateKey = field(init=False, repr=False, compare=False)
    _public: PublicKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_kind(self.kind)
        if not isinstance(self.raw, bytes) or len(self.raw) != PRIVATE_KEY_BYTES:
            raise ValueError(f"a private key is {PRIVATE_KEY_BYTES} bytes")
        private = nacl.public.PrivateKey(self.raw)
        object.__setattr__(self, "_nacl", private)
        object.__setattr__(self, "_public", PublicKey(self.kind, bytes(private.public_key)))

    @property
    def public(self) -> PublicKey:
        """The matching public key (derived from the secret when the key was made)."""
        return self._public

    @property
    def key_id(self) -> bytes:
        """The key id of the public half: what this key looks for in an envelope."""
        return self.public.key_id

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the public half."""
        return self.public.fingerprint

    def to_nacl(self) -> nacl.public.PrivateKey:
        """Return the PyNaCl object for opening sealed boxes (immutable, so shared)."""
        return self._nacl

    def tag(self, purpose: str, message: bytes) -> bytes:
        """A 16-byte keyed BLAKE2b of ``message``: stable, and unlinkable without this key.

        For names that leave the service but must stay the same across retries (an email
        Message-ID), so that they carry no internal id. ``purpose`` separates uses.
        """
        person = purpose.encode("ascii")
        if not 1 <= len(person) <= nacl.hash.BLAKE2B_PERSONALBYTES:
            raise ValueError("purpose is 1 to 16 ASCII characters")
        return nacl.hash.blake2b(message, key=self.raw, person=person.ljust(16, b"\0"),
                                 digest_size=16, encoder=nacl.encoding.RawEncoder)

    def __repr__(self) -> str:
        # Private key bytes must never reach a log line or a traceback.
        return f"BoxPrivateKey(kind={self.kind!r}, fingerprint={self.fingerprint!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BoxPrivateKey):
            return NotImplemented
        return self.kind == other.kind and hmac.compare_digest(self.raw, other.raw)

    def __hash__(self) -> int:
        # Hash the public id, not the secret, so the secret never feeds a hash table.
        return hash((self.kind, self.key_id))


def generate_box_keypair(kind: str) -> BoxPrivateKey:
    """Create a fresh X25519 key pair from the operating system's CSPRNG (via libsodium)."""
    return BoxPrivateKey(_check_kind(kind), bytes(nacl.public.PrivateKey.generate()))


def generate_signing_key() -> nacl.signing.SigningKey:
    """Create a fresh Ed25519 signing key (for audit checkpoints)."""
    return nacl.signing.SigningKey.generate()


def signing_key_id(verify_key: nacl.signing.VerifyKey | bytes) -> bytes:
    """Return the 16-byte id of an Ed25519 verify key (separate domain from box key ids)."""
    raw = bytes(verify_key)
    if len(raw) != VERIFY_KEY_BYTES:
        raise ValueError("an Ed25519 verify key is 32 bytes")
    return hashlib.blake2b(raw, digest_size=KEY_ID_BYTES, person=_SIGNING_KEY_ID_PERSON).digest()
