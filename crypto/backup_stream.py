"""A database backup's outer layer: libsodium's secretstream under the backup key.

The copy inside is the SQLCipher file itself, still encrypted under the database key; this
layer adds a second, independent key (``backup.key``), so a stolen backup with a stolen
backup key, or with a stolen database key, is still ciphertext.

File format, version 1::

    MAGIC (16 bytes) | version (1) | chunk size, big-endian (4) | secretstream header (24)
    then chunks: each `chunk size` bytes of the copy plus 17 bytes of tag and MAC; the
    last one (possibly shorter, possibly empty) carries TAG_FINAL.

Every chunk is authenticated with the 21-byte prefix as associated data. secretstream
numbers chunks itself, so a reordered, dropped or repeated chunk fails; a file that ends
before the TAG_FINAL chunk (a copy killed half-way, a truncated upload) is refused as
incomplete, and so is anything after it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import BinaryIO, Protocol

import nacl.bindings as sodium
import nacl.exceptions

from .errors import CryptoError

MAGIC = b"UGLYMUGS-BACKUP\x00"
VERSION = 1
CHUNK_BYTES = 1024 * 1024
# A crafted header must not make a reader allocate gigabytes.
_MAX_CHUNK_BYTES = 16 * 1024 * 1024
_PREFIX = struct.Struct(">16sBI")
_HEADER_BYTES = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
KEY_BYTES = sodium.crypto_secretstream_xchacha20poly1305_KEYBYTES

# Called with (bytes done, bytes in all) after each chunk.
Progress = Callable[[int, int], None]


class Writer(Protocol):
    def write(self, data: bytes, /) -> int: ...


class BackupStreamError(CryptoError):
    """Not a backup, damaged, incomplete, or not openable with this backup key."""


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ValueError(f"the backup key must be {KEY_BYTES} bytes")


def _read_exactly(src: BinaryIO, size: int) -> bytes:
    parts = []
    wanted = size
    while wanted:
        part = src.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def encrypt_stream(src: BinaryIO, dst: Writer, key: bytes, total: int,
                   progress: Progress | None = None, chunk_bytes: int = CHUNK_BYTES) -> None:
    """Write `src` (`total` bytes long) to `dst`, sealed under `key`."""
    _check_key(key)
    if not 0 < chunk_bytes <= _MAX_CHUNK_BYTES:
        raise ValueError("chunk size out of range")
    prefix = _PREFIX.pack(MAGIC, VERSION, chunk_bytes)
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    header = sodium.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    dst.write(prefix + header)
    done = 0
    chunk = _read_exactly(src, chunk_bytes)
    while True:
        following = _read_exactly(src, chunk_bytes) if len(chunk) == chunk_bytes else b""
        last = not following
        tag = _TAG_FINAL if last else _TAG_MESSAGE
        dst.write(sodium.crypto_secretstream_xchacha20poly1305_push(state, chunk, prefix, tag))
        done += len(chunk)
        if progress is not None:
            progress(done, max(total, done))
        if last:
            return
        chunk = following


def decrypt_stream(src: BinaryIO, dst: Writer, key: bytes, total: int,
                   progress: Progress | None = None) -> int:
    """Write what `src` holds to `dst`; returns the bytes written.

    Raises BackupStreamError, having written possibly part of the copy to `dst`: the
    caller writes to a temporary file and removes it on failure.
    """
    _check_key(key)
    raw_prefix = _read_exactly(src, _PREFIX.size)
    if len(raw_prefix) != _PREFIX.size:
        raise BackupStreamError("this is not an uglymugs backup (too short)")
    magic, version, chunk_bytes = _PREFIX.unpack(raw_prefix)
    if magic != MAGIC:
        raise BackupStreamError("this is not an uglymugs backup")
    if version != VERSION:
        raise BackupStreamError(f"backup format version {version} is not known to this code")
    if not 0 < chunk_bytes <= _MAX_CHUNK_BYTES:
        raise BackupStreamError("the backup's header is damaged")
    header = _read_exactly(src, _HEADER_BYTES)
    if len(header) != _HEADER_BYTES:
        raise BackupStreamError("the backup is incomplete: it ends inside its header")
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    try:
        sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key)
    except nacl.exceptions.CryptoError:
        raise BackupStreamError("the backup's header is damaged") from None
    written = 0
    consumed = _PREFIX.size + _HEADER_BYTES
    while True:
        sealed = _read_exactly(src, chunk_bytes + _ABYTES)
        if not sealed:
            raise BackupStreamError(
                "the backup is incomplete: it ends before its final chunk (was the copy "
                "interrupted?)")
        try:
            chunk, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(
                state, sealed, raw_prefix)
        except (nacl.exceptions.CryptoError, ValueError):
            if written == 0:
                raise BackupStreamError(
                    "the backup does not open with this backup key, or it is damaged"
                ) from None
            raise BackupStreamError(
                f"the backup is damaged or truncated after {written} bytes") from None
        dst.write(chunk)
        written += len(chunk)
        consumed += len(sealed)
        if progress is not None:
            progress(consumed, max(total, consumed))
        if tag == _TAG_FINAL:
            if src.read(1):
                raise BackupStreamError("the backup has data after its final chunk")
            return written
