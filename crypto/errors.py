"""Typed failures for everything in :mod:`crypto`.

Callers decide what to tell a person (and what to log) from the exception *type*, never
by parsing messages, so each failure mode that needs a different response has its own
class. Every class derives from :class:`CryptoError` so that a single ``except`` can make
any cryptographic failure fail closed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


class CryptoError(Exception):
    """Base class: something cryptographic failed and no plaintext was produced."""


# --- envelopes -------------------------------------------------------------------------


class EnvelopeError(CryptoError):
    """An envelope could not be opened, parsed or rewrapped."""


class MalformedEnvelope(EnvelopeError):
    """Bad magic, unknown version, truncated, or otherwise not a well-formed envelope."""


class UnknownKeyId(EnvelopeError):
    """The envelope carries no wrap for this private key's id.

    Distinct from tampering because the usual cause is operational (wrong key, or a key
    that was dropped by a rewrap), and the response is different: try another key.
    """


class TamperedEnvelope(EnvelopeError):
    """Authentication failed: the bytes were changed, or the envelope was moved.

    Raised when the sealed box around the data key or the payload AEAD does not verify,
    which covers edited bytes, a wrong associated data (a ciphertext copied to another
    row or column) and a wrap that does not belong to this payload.
    """


# --- key files -------------------------------------------------------------------------


class KeyFileError(CryptoError):
    """A key file could not be read or written."""


class WrongPassphrase(KeyFileError):
    """The key file is intact but the passphrase does not open it."""


class DamagedKeyFile(KeyFileError):
    """The key file is corrupt, edited, truncated, of the wrong kind or too weak to trust."""


class KeyMismatch(DamagedKeyFile):
    """A private key does not belong with the public key recorded beside it.

    A subclass of :class:`DamagedKeyFile` so that callers which only distinguish
    "damaged" from "wrong passphrase" keep working; the separate name lets an operator
    tool say "this key file is from a different key ceremony".
    """


class MissingKeyFile(KeyFileError):
    """An expected key file does not exist."""


class KeysExist(KeyFileError):
    """Refusing to overwrite existing key material (losing a key loses the data)."""

    def __init__(self, message: str, paths: Iterable[Path] = ()) -> None:
        super().__init__(message)
        self.paths: tuple[Path, ...] = tuple(paths)


# --- other -----------------------------------------------------------------------------


class NormalisationError(CryptoError, ValueError):
    """A value cannot be normalised; the message is safe to show to the person who typed it."""


class MalformedCheckpoint(CryptoError, ValueError):
    """An exported audit checkpoint document is not well formed."""
