"""Envelopes: a payload sealed once, readable by every recipient key it is wrapped for.

Each envelope has its own random 256-bit data key. The payload is encrypted under it with
XChaCha20-Poly1305 (IETF AEAD, random 192-bit nonce, so nonces can be random without a
counter), and the data key is wrapped for each recipient with a libsodium sealed box
(X25519 + XSalsa20-Poly1305, anonymous sender). Rotating a recipient key therefore means
rewrapping 32-byte data keys, never re-encrypting payloads.

Byte format, versions 1 and 2
-----------------------------
::

    offset    size       field
    0         4          magic  b"UMEV"
    4         1          format version, 0x01 or 0x02
    5         24         XChaCha20-Poly1305 nonce
    29        1          n, the number of wraps, 1..255
    30        96 * n     wraps, each: 16-byte recipient key id (keys.key_id)
                                     || 80-byte sealed box of the 32-byte data key
    30 + 96n  len(P)+16  AEAD ciphertext of the payload P, tag included

The AEAD associated data is ``magic || version || associated_data``, where the caller's
``associated_data`` is normally :func:`bind` (table, column, row id, value version). So a
ciphertext copied to another row or column, or an envelope whose header was edited, fails
to open. The wraps are deliberately *not* covered by the payload AEAD, so that rewrapping
leaves ``nonce || ciphertext`` byte-identical. Each wrap is authenticated on its own by
its sealed box; a wrap that opens but holds a different data key fails at the AEAD.

Version 2 (what :func:`seal` writes) pads the payload before encryption with libsodium's
ISO/IEC 7816-4 padding (``sodium_pad``) to a bucket: 256 bytes, or for longer payloads the
Padmé length of ``len(P) + 1`` rounded up to a multiple of 256. Padmé leaks O(log log n)
bits of the length where exact sizes would leak all of it, so a name, a narrative or a
contact is not told apart by its size within a bucket. Version 1 envelopes (unpadded)
keep opening, and rewrapping keeps an envelope's version, since the version byte is in
the associated data.

What an envelope does not promise: sealed boxes are anonymous, so anyone holding the
public keys (the server) can make a *new* well-formed envelope for a place. Envelopes
protect confidentiality and detect modification or relocation of existing ciphertext;
they do not prove who wrote a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import nacl.bindings
import nacl.exceptions
import nacl.utils

from ._encoding import length_prefixed, utf8
from .errors import MalformedEnvelope, TamperedEnvelope, UnknownKeyId
from .keys import KEY_ID_BYTES, BoxPrivateKey, PublicKey

MAGIC = b"UMEV"
VERSION = 2  # what seal() writes
VERSIONS = frozenset({1, 2})  # what opens
PAD_BLOCK = 256
NONCE_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
DATA_KEY_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_KEYBYTES
TAG_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_ABYTES
SEALED_KEY_BYTES = nacl.bindings.crypto_box_SEALBYTES + DATA_KEY_BYTES
WRAP_BYTES = KEY_ID_BYTES + SEALED_KEY_BYTES
MAX_RECIPIENTS = 255
HEADER_BYTES = len(MAGIC) + 1 + NONCE_BYTES + 1

_BIND_TAG = b"uglymugs:envelope-ad:v1"


def bind(table: str, column: str, row_id: str | int, version: int = 1) -> bytes:
    """Return associated data that ties an envelope to one place in the database.

    Every field is length-prefixed, so no two different places share an encoding.
    ``version`` is the version of the value group stored there, so that a payload written
    under an old layout cannot be replayed as a new one. An integer ``row_id`` is encoded
    as its decimal string: ``5`` and ``"5"`` name the same row, which keeps callers that
    read ids back from URLs or from SQLite in agreement.
    """
    if not isinstance(table, str) or not table:
        raise ValueError("table must be a non-empty str")
    if not isinstance(column, str) or not column:
        raise ValueError("column must be a non-empty str")
    if isinstance(row_id, bool) or not isinstance(row_id, int | str):
        raise TypeError("row_id must be an int or a str")
    row = str(row_id)
    if not row:
        raise ValueError("row_id must not be empty")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError("version must be an int >= 1")
    return length_prefixed(
        _BIND_TAG,
        utf8(table, "table"),
        utf8(column, "column"),
        utf8(row, "row_id"),
        str(version).encode("ascii"),
    )


@dataclass(frozen=True)
class EnvelopeParts:
    """A structurally valid envelope, split into its fields (nothing authenticated yet)."""

    version: int
    nonce: bytes
    wraps: tuple[tuple[bytes, bytes], ...]
    ciphertext: bytes

    @property
    def key_ids(self) -> list[bytes]:
        """Recipient key ids in wrap order."""
        return [kid for kid, _ in self.wraps]


def _as_bytes(value: object, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{what} must be bytes, not {type(value).__name__}")
    return bytes(value)


def _layout(data: bytes) -> tuple[int, int]:
    """(version, end of the wraps) of a structurally valid envelope, else MalformedEnvelope."""
    if len(data) < len(MAGIC) + 1:
        raise MalformedEnvelope("truncated envelope")
    if data[: len(MAGIC)] != MAGIC:
        raise MalformedEnvelope("not an envelope (bad magic)")
    version = data[len(MAGIC)]
    if version not in VERSIONS:
        raise MalformedEnvelope(f"unknown envelope version {version}")
    if len(data) < HEADER_BYTES:
        raise MalformedEnvelope("truncated envelope")
    count = data[HEADER_BYTES - 1]
    if count == 0:
        raise MalformedEnvelope("envelope has no recipients")
    wraps_end = HEADER_BYTES + count * WRAP_BYTES
    if len(data) < wraps_end + TAG_BYTES:
        raise MalformedEnvelope("truncated envelope")
    return version, wraps_end


def _key_ids(data: bytes, wraps_end: int) -> list[bytes]:
    kids = [data[offset : offset + KEY_ID_BYTES]
            for offset in range(HEADER_BYTES, wraps_end, WRAP_BYTES)]
    if len(set(kids)) != len(kids):
        raise MalformedEnvelope("envelope lists a recipient twice")
    return kids


def parse_envelope(envelope: bytes) -> EnvelopeParts:
    """Split an envelope into its fields, or raise :class:`MalformedEnvelope`."""
    data = _as_bytes(envelope, "envelope")
    version, wraps_end = _layout(data)
    kids = _key_ids(data, wraps_end)
    wraps = tuple(
        (kid, data[offset + KEY_ID_BYTES : offset + WRAP_BYTES])
        for kid, offset in zip(kids, range(HEADER_BYTES, wraps_end, WRAP_BYTES), strict=True))
    return EnvelopeParts(version, data[len(MAGIC) + 1 : HEADER_BYTES - 1], wraps,
                         data[wraps_end:])


def _assemble(version: int, nonce: bytes, wraps: Sequence[tuple[bytes, bytes]],
              ciphertext: bytes) -> bytes:
    if not 1 <= len(wraps) <= MAX_RECIPIENTS:
        raise ValueError(f"an envelope has 1 to {MAX_RECIPIENTS} recipients")
    parts = [MAGIC, bytes([version]), nonce, bytes([len(wraps)])]
    for kid, sealed in wraps:
        parts += [kid, sealed]
    parts.append(ciphertext)
    return b"".join(parts)


def _aead_ad(version: int, associated_data: bytes) -> bytes:
    return MAGIC + bytes([version]) + associated_data


def padded_length(length: int) -> int:
    """The bucket a payload of ``length`` bytes is padded to (version 2).

    At least one byte of padding is always added (the 7816-4 marker), so the bucket is
    computed for ``length + 1``: 256 bytes, or its Padmé length rounded up to 256.
    """
    needed = length + 1
    if needed <= PAD_BLOCK:
        return PAD_BLOCK
    exponent = needed.bit_length() - 1  # floor(log2(needed))
    low_bits = exponent - exponent.bit_length()  # E - (floor(log2 E) + 1)
    mask = (1 << low_bits) - 1
    padme = (needed + mask) & ~mask
    return -(-padme // PAD_BLOCK) * PAD_BLOCK


def _wrap(recipient: PublicKey, data_key: bytes) -> tuple[bytes, bytes]:
    # libsodium's sealed box directly: the SealedBox wrapper adds only object churn.
    return recipient.key_id, nacl.bindings.crypto_box_seal(data_key, recipient.raw)


def _check_recipients(recipients: Sequence[PublicKey], what: str) -> list[PublicKey]:
    if isinstance(recipients, PublicKey):
        raise TypeError(f"{what} must be a sequence of PublicKey, not a single key")
    keys = list(recipients)
    for key in keys:
        if not isinstance(key, PublicKey):
            raise TypeError(f"{what} must contain PublicKey objects")
    ids = [key.key_id for key in keys]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate recipient in {what}")
    return keys


def _data_key(data: bytes, kids: list[bytes], key: BoxPrivateKey) -> bytes:
    """The data key from `key`'s wrap in the envelope bytes `data` (its key ids `kids`)."""
    if not isinstance(key, BoxPrivateKey):
        raise TypeError("key must be a BoxPrivateKey")
    own = key.public
    try:
        mine = HEADER_BYTES + kids.index(own.key_id) * WRAP_BYTES + KEY_ID_BYTES
    except ValueError:
        raise UnknownKeyId(f"envelope is not wrapped for key {key.fingerprint}") from None
    try:
        # The key's public half is kept with it (keys.BoxPrivateKey), so nothing is
        # recomputed here: this is the raw sealed-box open.
        data_key = nacl.bindings.crypto_box_seal_open(
            data[mine : mine + SEALED_KEY_BYTES], own.raw, key.raw)
    except nacl.exceptions.CryptoError:
        raise TamperedEnvelope("the wrapped data key failed to authenticate") from None
    if len(data_key) != DATA_KEY_BYTES:
        raise TamperedEnvelope("the wrapped data key has the wrong length")
    return data_key


def _payload(version: int, nonce: bytes, ciphertext: bytes, data_key: bytes,
             associated_data: bytes) -> bytes:
    try:
        plain = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            ciphertext, _aead_ad(version, associated_data), nonce, data_key
        )
    except nacl.exceptions.CryptoError:
        raise TamperedEnvelope(
            "the payload failed to authenticate (modified, or opened with the wrong "
            "associated data, e.g. moved to another row)"
        ) from None
    if version == 1:
        return plain
    try:
        # The padding was authenticated with the payload, so a bad one is our own bug or
        # a forged envelope made with the data key: either way, fail closed.
        return nacl.bindings.sodium_unpad(plain, len(plain))
    except (nacl.exceptions.CryptoError, ValueError):
        raise MalformedEnvelope("the payload's padding is not valid") from None


def seal(payload: bytes, recipients: Sequence[PublicKey], associated_data: bytes) -> bytes:
    """Encrypt ``payload`` under a fresh data key wrapped for each recipient.

    ``associated_data`` is not stored; the same bytes must be supplied to open the
    envelope, which is what binds it to its place (use :func:`bind`).
    """
    payload = _as_bytes(payload, "payload")
    associated_data = _as_bytes(associated_data, "associated_data")
    keys = _check_recipients(recipients, "recipients")
    if not keys:
        raise ValueError("an envelope needs at least one recipient")
    if len(keys) > MAX_RECIPIENTS:
        raise ValueError(f"an envelope has at most {MAX_RECIPIENTS} recipients")
    data_key = nacl.utils.random(DATA_KEY_BYTES)
    nonce = nacl.utils.random(NONCE_BYTES)
    padded = nacl.bindings.sodium_pad(payload, padded_length(len(payload)))
    ciphertext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        padded, _aead_ad(VERSION, associated_data), nonce, data_key
    )
    return _assemble(VERSION, nonce, [_wrap(key, data_key) for key in keys], ciphertext)


def open_envelope(envelope: bytes, key: BoxPrivateKey, associated_data: bytes) -> bytes:
    """Return the payload, or raise an :class:`~crypto.errors.EnvelopeError` subclass.

    Fails closed: the AEAD verifies the whole ciphertext before any plaintext exists, so
    there is no partial result on failure.
    """
    associated_data = _as_bytes(associated_data, "associated_data")
    # Straight from the envelope's bytes, as rewrap reads them: parse_envelope's checks in
    # its order, without building EnvelopeParts and a tuple per wrap on every open.
    data = envelope if type(envelope) is bytes else _as_bytes(envelope, "envelope")
    version, wraps_end = _layout(data)
    data_key = _data_key(data, _key_ids(data, wraps_end), key)
    return _payload(version, data[len(MAGIC) + 1 : HEADER_BYTES - 1], data[wraps_end:],
                    data_key, associated_data)


def recipients_of(envelope: bytes) -> list[bytes]:
    """Key ids the envelope is wrapped for (unauthenticated: a hint for key selection)."""
    return parse_envelope(envelope).key_ids


def rewrap(
    envelope: bytes,
    key: BoxPrivateKey,
    *,
    add: Sequence[PublicKey] = (),
    drop: Sequence[bytes] = (),
    associated_data: bytes | None = None,
) -> bytes:
    """Change who can open an envelope without touching its nonce or ciphertext.

    ``key`` must be a current recipient: it unwraps the data key, which is then wrapped
    for each key in ``add``. Wraps for the key ids in ``drop`` are removed first (so a key
    may be dropped and re-added to refresh its wrap). Refuses to drop a key id that is not
    a recipient, to add one that already is, and to leave no recipient at all.

    Without ``associated_data`` the data key cannot be checked against the payload (the
    AEAD needs it), so a wrap holding a wrong key would be copied faithfully; pass it to
    verify the payload opens before anything is rewrapped.
    """
    # Read straight from the envelope's bytes, with no EnvelopeParts or per-wrap tuples:
    # the checks and their order are parse_envelope's, _data_key's and _payload's, but the
    # Python work around the two sealed-box calls is what the raw calls alone would need.
    data = envelope if type(envelope) is bytes else _as_bytes(envelope, "envelope")
    version, wraps_end = _layout(data)
    kids = _key_ids(data, wraps_end)
    data_key = _data_key(data, kids, key)
    if associated_data is not None:
        _payload(version, data[len(MAGIC) + 1 : HEADER_BYTES - 1], data[wraps_end:],
                 data_key, _as_bytes(associated_data, "associated_data"))

    if isinstance(drop, bytes | bytearray | memoryview):
        raise TypeError("drop must be a sequence of key ids, not a single key id")
    drop_ids = [_as_bytes(kid, "drop key id") for kid in drop]
    if drop_ids:
        if len(set(drop_ids)) != len(drop_ids):
            raise ValueError("duplicate key id in drop")
        for kid in drop_ids:
            if kid not in kids:
                raise ValueError(f"cannot drop {kid.hex()}: not a recipient of this envelope")
        dropped = set(drop_ids)
        kept_ids = [kid for kid in kids if kid not in dropped]
        kept = b"".join(data[offset : offset + WRAP_BYTES]
                        for kid, offset in zip(kids, range(HEADER_BYTES, wraps_end, WRAP_BYTES),
                                               strict=True)
                        if kid not in dropped)
    else:
        kept_ids, kept = kids, data[HEADER_BYTES:wraps_end]

    new_keys = _check_recipients(add, "add")
    for new_key in new_keys:
        if new_key.key_id in kept_ids:
            raise ValueError(f"{new_key.fingerprint} is already a recipient of this envelope")
    count = len(kept_ids) + len(new_keys)
    if not count:
        raise ValueError("refusing to drop the last recipient: nobody could open the envelope")
    if count > MAX_RECIPIENTS:
        raise ValueError(f"an envelope has at most {MAX_RECIPIENTS} recipients")
    parts = [data[: HEADER_BYTES - 1], bytes((count,)), kept]
    for new_key in new_keys:
        parts += (new_key.key_id, nacl.bindings.crypto_box_seal(data_key, new_key.raw))
    parts.append(data[wraps_end:])
    return b"".join(parts)


def move_wraps(envelopes: Sequence[bytes], old: BoxPrivateKey,
               new: PublicKey) -> list[tuple[int, bytes]]:
    """(index, envelope re-wrapped from ``old`` to ``new``) for each one ``old`` opens.

    A rotation's batch: envelopes ``old`` is no longer on (already moved, or never on it)
    are left out, and one already on ``new`` only loses its ``old`` wrap.
    """
    moved = []
    for index, sealed in enumerate(envelopes):
        carried = recipients_of(sealed)
        if old.key_id in carried:
            add = [] if new.key_id in carried else [new]
            moved.append((index, rewrap(sealed, old, add=add, drop=[old.key_id])))
    return moved


def move_wraps_in_process(envelopes: list[bytes], old_kind: str, old_raw: bytes,
                          new_kind: str, new_raw: bytes) -> list[tuple[int, bytes]]:
    """move_wraps for a worker process: the keys cross as bytes and are rebuilt once.

    Here, not in app/, so a spawned worker imports only crypto/ and PyNaCl: importing
    any app module imports the app package, Flask and all (0.65 s a worker).
    """
    return move_wraps(envelopes, BoxPrivateKey(old_kind, old_raw), PublicKey(new_kind, new_raw))


def without_recipients(envelope: bytes, drop: Sequence[bytes]) -> bytes:
    """The envelope with the wraps for ``drop`` removed; needs no key.

    Wraps are not covered by the payload's AEAD (see the module docstring), so taking
    one away needs no secret: this is how a delivery wrap is removed from a member who
    is no longer active, even by a process that holds no private key. Key ids that are
    not recipients are ignored; the last recipient is never removed.
    """
    parts = parse_envelope(envelope)
    if isinstance(drop, bytes | bytearray | memoryview):
        raise TypeError("drop must be a sequence of key ids, not a single key id")
    dropped = {_as_bytes(kid, "drop key id") for kid in drop}
    kept = [(kid, sealed) for kid, sealed in parts.wraps if kid not in dropped]
    if not kept:
        raise ValueError("refusing to drop the last recipient: nobody could open the envelope")
    return _assemble(parts.version, parts.nonce, kept, parts.ciphertext)
