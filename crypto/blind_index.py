"""Blind indexes: keyed hashes that let the database test equality without the value.

One subkey per (table, field, index) is derived from a single 256-bit root key, the way
libsodium's ``crypto_kdf`` derives subkeys: keyed BLAKE2b with the root key as key, a
fixed personalisation as the domain, and the (length-prefixed, hence unambiguous) triple
as input. Separate subkeys mean that equal values in different columns or different
indexes produce unrelated index values, so indexes cannot be joined across columns.

Index values are keyed BLAKE2b-256 of the UTF-8 *normalised* value (see
:mod:`crypto.normalise`) under the subkey, optionally truncated. Offender identifier and
alert indexes are keyed from the server's ``index.key``; member contact indexes from the
contact-index key (:func:`new_root_key`), which the server holds only sealed to the
vetting key, so full length gives nobody at rest a test of "is this number a member's?".
"""

from __future__ import annotations

import hashlib

import nacl.utils

from ._encoding import length_prefixed, utf8

ROOT_KEY_BYTES = 32
SUBKEY_BYTES = 32
INDEX_BYTES = 32
_KDF_PERSON = b"uglymugs:bidxkdf"
_VALUE_PERSON = b"uglymugs:bidxval"


def _name(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty str")
    return utf8(value, what)


def new_root_key() -> bytes:
    """A fresh random root key (the contact-index key is made this way)."""
    return bytes(nacl.utils.random(ROOT_KEY_BYTES))


class BlindIndexer:
    """Computes blind index values under one root key (``index.key``, or the contact-index
    key while a coordinator has unlocked)."""

    __slots__ = ("__root", "__subkeys")

    def __init__(self, root_key: bytes) -> None:
        if not isinstance(root_key, bytes) or len(root_key) != ROOT_KEY_BYTES:
            raise ValueError(f"the index root key is {ROOT_KEY_BYTES} bytes")
        if not any(root_key):
            raise ValueError("the index root key is all zeros; refusing to use it")
        self.__root = root_key
        self.__subkeys: dict[tuple[str, str, str], bytes] = {}

    def __repr__(self) -> str:
        # The root key must not reach logs; nothing derived from it is shown either.
        return "BlindIndexer(<root key hidden>)"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("BlindIndexer holds a secret key and cannot be pickled")

    def subkey(self, table: str, field: str, index: str) -> bytes:
        """Return the 32-byte subkey for one (table, field, index).

        ``index`` names the index, not the value: e.g. ("members", "email", "exact") and
        ("members", "email", "canonical") get different subkeys.
        """
        triple = (table, field, index)
        cached = self.__subkeys.get(triple)
        if cached is None:
            message = length_prefixed(
                _name(table, "table"), _name(field, "field"), _name(index, "index")
            )
            cached = hashlib.blake2b(
                message, digest_size=SUBKEY_BYTES, key=self.__root, person=_KDF_PERSON
            ).digest()
            self.__subkeys[triple] = cached
        return cached

    def compute(
        self, table: str, field: str, index: str, normalised: str, bits: int | None = None
    ) -> bytes:
        """Return the blind index of an already-normalised value.

        With ``bits`` the result is ceil(bits / 8) bytes and the unused low bits of the
        last byte are zero, so that equal truncated values compare equal as bytes.
        """
        if not isinstance(normalised, str) or not normalised:
            raise ValueError("the value to index must be a non-empty, normalised str")
        digest = hashlib.blake2b(
            utf8(normalised, "value"),
            digest_size=INDEX_BYTES,
            key=self.subkey(table, field, index),
            person=_VALUE_PERSON,
        ).digest()
        if bits is None:
            return digest
        if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 8 * INDEX_BYTES:
            raise ValueError(f"bits must be an int from 1 to {8 * INDEX_BYTES}")
        length = (bits + 7) // 8
        truncated = bytearray(digest[:length])
        spare = length * 8 - bits
        truncated[-1] &= (0xFF << spare) & 0xFF
        return bytes(truncated)
