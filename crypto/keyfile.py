"""Key files on disk: sealed private keys, public keys, verify keys and raw secrets.

Sealed private key file (``vetting.key``, ``delivery.key``), format version 1
------------------------------------------------------------------------------
A small JSON document, so that an operator can read which key it holds without the
passphrase::

    {
      "format": "uglymugs-private-key",
      "version": 1,
      "kind": "vetting",
      "public_key": "<64 hex>",             X25519 public half
      "key_id": "<32 hex>",                 keys.key_id(public_key)
      "fingerprint": "3f2a-91bc-...",       key_id grouped for reading aloud
      "kdf": {"alg": "argon2id13", "opslimit": 3, "memlimit": 268435456, "salt": "<32 hex>"},
      "cipher": {"alg": "xchacha20poly1305-ietf", "nonce": "<48 hex>"},
      "ciphertext": "<96 hex>",             AEAD of the 32-byte private key
      "checksum": "<64 hex>"
    }

* The AEAD key is Argon2id(passphrase NFC-normalised, UTF-8; salt; opslimit; memlimit).
* The AEAD associated data is a domain tag plus the canonical JSON (sorted keys, compact,
  ASCII) of every field except ``ciphertext`` and ``checksum``: editing the kind, the
  public key or the KDF parameters makes the file fail to open instead of silently
  changing meaning.
* ``checksum`` is an unkeyed, personalised BLAKE2b-256 over the canonical JSON of every
  other field. It exists only to tell *damage* (a flipped bit, a truncated copy, an edit:
  :class:`DamagedKeyFile`) apart from a *wrong passphrase* (structure intact, AEAD fails:
  :class:`WrongPassphrase`). It is not a security control: someone who edits the file and
  recomputes the checksum still cannot open it, they only change the error message.
* Loading refuses KDF parameters below libsodium's INTERACTIVE limits, so a swapped file
  cannot silently downgrade the passphrase protection, and above a sanity ceiling, so a
  crafted file cannot exhaust the server's memory.

Files are created atomically (a temporary file renamed into place with ``link``, which
also refuses to replace an existing file) and with their final mode from the first
system call, so there is never a moment where a secret is readable by others.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import json
import os
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nacl.bindings
import nacl.exceptions
import nacl.signing
import nacl.utils
from nacl.pwhash import argon2id

from ._encoding import strict_hex
from .errors import DamagedKeyFile, KeysExist, MissingKeyFile, WrongPassphrase
from .keys import (
    PRIVATE_KEY_BYTES,
    PUBLIC_KEY_BYTES,
    VERIFY_KEY_BYTES,
    BoxPrivateKey,
    PublicKey,
    format_fingerprint,
    signing_key_id,
)

FILE_VERSION = 1
PRIVATE_KEY_FORMAT = "uglymugs-private-key"
PUBLIC_KEY_FORMAT = "uglymugs-public-key"
VERIFY_KEY_FORMAT = "uglymugs-verify-key"
KDF_ALG = "argon2id13"
CIPHER_ALG = "xchacha20poly1305-ietf"

MIN_OPSLIMIT = argon2id.OPSLIMIT_INTERACTIVE
MIN_MEMLIMIT = argon2id.MEMLIMIT_INTERACTIVE
# Ceilings well above SENSITIVE for ops, at SENSITIVE for memory: a key file claiming more
# is far more likely to be a denial-of-service attempt than a deliberate choice.
MAX_OPSLIMIT = 16
MAX_MEMLIMIT = argon2id.MEMLIMIT_SENSITIVE

_NONCE_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_AEAD_KEY_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_KEYBYTES
_AEAD_TAG_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_ABYTES
_CHECKSUM_PERSON = b"uglymugs:keyfile"
_AD_TAG = b"uglymugs:private-key-file:v1\x00"
_MAX_FILE_BYTES = 64 * 1024

_PRIVATE_FIELDS = frozenset(
    {
        "format",
        "version",
        "kind",
        "public_key",
        "key_id",
        "fingerprint",
        "kdf",
        "cipher",
        "ciphertext",
        "checksum",
    }
)
_PUBLIC_FIELDS = frozenset({"format", "version", "kind", "public_key", "key_id", "fingerprint"})
_VERIFY_FIELDS = frozenset({"format", "version", "kind", "verify_key", "key_id", "fingerprint"})


# --- writing files ---------------------------------------------------------------------


def _fsync_directory(directory: Path) -> None:
    # Makes the new directory entry durable; not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
    os.fsync(fd)


def _create_exclusive(path: Path, data: bytes, mode: int) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise KeysExist(f"{path} already exists; refusing to overwrite it", [path]) from None
    try:
        # umask can only have narrowed the mode; set it exactly so the result is predictable.
        os.fchmod(fd, mode)
        _write_fd(fd, data)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.close(fd)


def write_new_file(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` holding ``data`` with ``mode``, atomically, never overwriting.

    The data goes to a temporary file created with O_EXCL and ``mode`` (so it is never
    readable more widely), then is hard-linked into place: ``link`` is atomic and fails if
    the target exists, so a reader never sees a half-written key and an existing key is
    never replaced. On filesystems without hard links it falls back to writing the target
    directly with O_EXCL.
    """
    path = Path(path)
    if os.path.lexists(path):
        raise KeysExist(f"{path} already exists; refusing to overwrite it", [path])
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    _create_exclusive(tmp, data, mode)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise KeysExist(f"{path} already exists; refusing to overwrite it", [path]) from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            _create_exclusive(path, data, mode)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _fsync_directory(path.parent)


# --- reading files ---------------------------------------------------------------------


def _read_limited(path: Path) -> bytes:
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise MissingKeyFile(f"{path} does not exist") from None
    except IsADirectoryError:
        raise DamagedKeyFile(f"{path} is a directory, not a key file") from None
    if len(data) > _MAX_FILE_BYTES:
        raise DamagedKeyFile(f"{path} is too large to be a key file")
    return data


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"duplicate field {name!r}")
        result[name] = value
    return result


def _reject_number(text: str) -> object:
    raise ValueError(f"unexpected non-integer number {text!r}")


def _parse_object(data: bytes, source: str) -> dict[str, object]:
    """Parse a JSON object strictly: duplicate fields or floats mean the file is damaged."""
    try:
        obj = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_no_duplicate_keys,
            parse_float=_reject_number,
            parse_constant=_reject_number,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DamagedKeyFile(f"{source} is damaged: not a readable key file ({exc})") from None
    if not isinstance(obj, dict):
        raise DamagedKeyFile(f"{source} is damaged: not a key file document")
    return obj


def _canonical_json(obj: Mapping[str, object]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _document_checksum(document: Mapping[str, object]) -> bytes:
    """Checksum over every field but ``checksum`` itself."""
    body = {k: v for k, v in document.items() if k != "checksum"}
    return hashlib.blake2b(_canonical_json(body), digest_size=32, person=_CHECKSUM_PERSON).digest()


def _associated_data(document: Mapping[str, object]) -> bytes:
    header = {k: v for k, v in document.items() if k not in ("ciphertext", "checksum")}
    return _AD_TAG + _canonical_json(header)


def _is_int(value: object) -> bool:
    return type(value) is int  # bool is an int subclass and must not pass


def _check_fields(obj: Mapping[str, object], expected: frozenset[str], source: str) -> None:
    if set(obj) != expected:
        raise DamagedKeyFile(f"{source} is damaged: unexpected or missing fields")


def _check_format(obj: Mapping[str, object], fmt: str, source: str) -> None:
    if obj.get("format") != fmt:
        raise DamagedKeyFile(f"{source} is not a {fmt} file")
    if not _is_int(obj.get("version")) or obj["version"] != FILE_VERSION:
        raise DamagedKeyFile(f"{source} has an unsupported format version {obj.get('version')!r}")


def _check_identity(obj: Mapping[str, object], kid: bytes, source: str) -> None:
    if strict_hex(obj.get("key_id"), len(kid)) != kid or obj.get(
        "fingerprint"
    ) != format_fingerprint(kid):
        raise DamagedKeyFile(f"{source} is damaged: key id does not match the key")


def _check_kdf_limits(opslimit: object, memlimit: object) -> bool:
    return (
        _is_int(opslimit)
        and _is_int(memlimit)
        and MIN_OPSLIMIT <= opslimit <= MAX_OPSLIMIT  # type: ignore[operator]
        and MIN_MEMLIMIT <= memlimit <= MAX_MEMLIMIT  # type: ignore[operator]
    )


# --- sealed private key files ----------------------------------------------------------


@dataclass(frozen=True)
class PrivateKeyFileHeader:
    """What a sealed private key file says about itself, readable without the passphrase."""

    kind: str
    public: PublicKey
    opslimit: int
    memlimit: int


@dataclass(frozen=True)
class _ParsedPrivateKeyFile:
    header: PrivateKeyFileHeader
    salt: bytes
    nonce: bytes
    ciphertext: bytes
    associated_data: bytes


def _passphrase_bytes(passphrase: str) -> bytes:
    # NFC so that the same passphrase typed on systems that compose accents differently
    # (macOS input methods produce NFD) derives the same key.
    if not isinstance(passphrase, str):
        raise TypeError("passphrase must be a str")
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def encode_private_key_file(
    key: BoxPrivateKey,
    passphrase: str,
    *,
    opslimit: int = argon2id.OPSLIMIT_MODERATE,
    memlimit: int = argon2id.MEMLIMIT_MODERATE,
) -> bytes:
    """Seal ``key`` under ``passphrase`` and return the key file's bytes (see module doc).

    Separate from writing so that a key ceremony can do all the slow sealing before it
    creates any file, and so that the web app can hand a coordinator a file to download.
    """
    if not isinstance(key, BoxPrivateKey):
        raise TypeError("key must be a BoxPrivateKey")
    try:
        password = _passphrase_bytes(passphrase)
    except UnicodeEncodeError:
        raise ValueError("the passphrase cannot be encoded as UTF-8") from None
    if not password:
        raise ValueError("the passphrase must not be empty")
    if not _check_kdf_limits(opslimit, memlimit):
        raise ValueError(
            "Argon2id limits must be between libsodium's INTERACTIVE limits and "
            f"opslimit {MAX_OPSLIMIT} / memlimit {MAX_MEMLIMIT}"
        )
    salt = nacl.utils.random(argon2id.SALTBYTES)
    nonce = nacl.utils.random(_NONCE_BYTES)
    public = key.public
    kid = public.key_id
    document: dict[str, object] = {
        "format": PRIVATE_KEY_FORMAT,
        "version": FILE_VERSION,
        "kind": key.kind,
        "public_key": public.raw.hex(),
        "key_id": kid.hex(),
        "fingerprint": format_fingerprint(kid),
        "kdf": {"alg": KDF_ALG, "opslimit": opslimit, "memlimit": memlimit, "salt": salt.hex()},
        "cipher": {"alg": CIPHER_ALG, "nonce": nonce.hex()},
    }
    wrapping_key = argon2id.kdf(
        _AEAD_KEY_BYTES, password, salt, opslimit=opslimit, memlimit=memlimit
    )
    ciphertext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        key.raw, _associated_data(document), nonce, wrapping_key
    )
    document["ciphertext"] = ciphertext.hex()
    document["checksum"] = _document_checksum(document).hex()
    return (json.dumps(document, indent=2) + "\n").encode("ascii")


def _parse_private_key_file(data: bytes, source: str) -> _ParsedPrivateKeyFile:
    """Validate everything that can be checked without the passphrase.

    Any failure here is damage (or a file that is not ours), never a wrong passphrase.
    The checksum is checked first so that any edit is reported as damage, whatever field
    it touched.
    """
    doc = _parse_object(data, source)
    checksum = strict_hex(doc.get("checksum"), 32)
    if checksum is None or not hmac.compare_digest(checksum, _document_checksum(doc)):
        raise DamagedKeyFile(
            f"{source} is damaged: its checksum does not match (corrupted, truncated or edited)"
        )
    _check_fields(doc, _PRIVATE_FIELDS, source)
    _check_format(doc, PRIVATE_KEY_FORMAT, source)
    public_raw = strict_hex(doc["public_key"], PUBLIC_KEY_BYTES)
    if public_raw is None:
        raise DamagedKeyFile(f"{source} is damaged: bad public key")
    try:
        public = PublicKey(doc["kind"], public_raw)  # type: ignore[arg-type]
    except ValueError:
        raise DamagedKeyFile(f"{source} is damaged: bad key kind") from None
    _check_identity(doc, public.key_id, source)

    kdf = doc["kdf"]
    if not isinstance(kdf, dict) or set(kdf) != {"alg", "opslimit", "memlimit", "salt"}:
        raise DamagedKeyFile(f"{source} is damaged: bad kdf section")
    if kdf["alg"] != KDF_ALG:
        raise DamagedKeyFile(f"{source} uses an unsupported KDF {kdf['alg']!r}")
    if not _check_kdf_limits(kdf["opslimit"], kdf["memlimit"]):
        raise DamagedKeyFile(
            f"{source} has Argon2id limits outside the accepted range; refusing to trust it"
        )
    salt = strict_hex(kdf["salt"], argon2id.SALTBYTES)
    cipher = doc["cipher"]
    if not isinstance(cipher, dict) or set(cipher) != {"alg", "nonce"}:
        raise DamagedKeyFile(f"{source} is damaged: bad cipher section")
    if cipher["alg"] != CIPHER_ALG:
        raise DamagedKeyFile(f"{source} uses an unsupported cipher {cipher['alg']!r}")
    nonce = strict_hex(cipher["nonce"], _NONCE_BYTES)
    ciphertext = strict_hex(doc["ciphertext"], PRIVATE_KEY_BYTES + _AEAD_TAG_BYTES)
    if salt is None or nonce is None or ciphertext is None:
        raise DamagedKeyFile(f"{source} is damaged: bad salt, nonce or ciphertext")
    header = PrivateKeyFileHeader(
        kind=public.kind, public=public, opslimit=kdf["opslimit"], memlimit=kdf["memlimit"]
    )
    return _ParsedPrivateKeyFile(header, salt, nonce, ciphertext, _associated_data(doc))


def parse_private_key_header(data: bytes, *, source: str = "the key file") -> PrivateKeyFileHeader:
    """Check a sealed key file's integrity and return its public header (no passphrase)."""
    return _parse_private_key_file(bytes(data), source).header


def read_private_key_header(path: Path) -> PrivateKeyFileHeader:
    """Like :func:`parse_private_key_header` for a file: which key is this, how sealed."""
    return parse_private_key_header(_read_limited(path), source=str(path))


def decode_private_key_file(
    data: bytes, passphrase: str, *, kind: str | None = None, source: str = "the key file"
) -> BoxPrivateKey:
    """Open a sealed key file's bytes (e.g. an upload) with its passphrase.

    Raises :class:`DamagedKeyFile` for anything wrong with the file (including a key of
    another ``kind`` than expected) and :class:`WrongPassphrase` only when the file is
    intact and the passphrase does not open it.
    """
    parsed = _parse_private_key_file(bytes(data), source)
    header = parsed.header
    if kind is not None and header.kind != kind:
        raise DamagedKeyFile(f"{source} holds a {header.kind} key, not a {kind} key")
    try:
        password = _passphrase_bytes(passphrase)
    except UnicodeEncodeError:
        raise WrongPassphrase(f"the passphrase does not open {source}") from None
    wrapping_key = argon2id.kdf(
        _AEAD_KEY_BYTES, password, parsed.salt, opslimit=header.opslimit, memlimit=header.memlimit
    )
    try:
        raw = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            parsed.ciphertext, parsed.associated_data, parsed.nonce, wrapping_key
        )
    except nacl.exceptions.CryptoError:
        raise WrongPassphrase(f"the passphrase does not open {source}") from None
    if len(raw) != PRIVATE_KEY_BYTES:
        raise DamagedKeyFile(f"{source} is damaged: wrong private key length")
    key = BoxPrivateKey(header.kind, raw)
    if not hmac.compare_digest(key.public.raw, header.public.raw):
        raise DamagedKeyFile(f"{source} is damaged: private key does not match its public key")
    return key


def write_private_key_file(
    path: Path,
    key: BoxPrivateKey,
    passphrase: str,
    *,
    opslimit: int = argon2id.OPSLIMIT_MODERATE,
    memlimit: int = argon2id.MEMLIMIT_MODERATE,
) -> None:
    """Seal ``key`` under ``passphrase`` into a new file, mode 0600, never overwriting.

    MODERATE limits by default (about a second and 256 MiB): the file may be stolen from
    a coordinator's device, so offline guessing must be expensive.
    """
    data = encode_private_key_file(key, passphrase, opslimit=opslimit, memlimit=memlimit)
    write_new_file(Path(path), data, 0o600)


def read_private_key_file(path: Path, passphrase: str, *, kind: str | None = None) -> BoxPrivateKey:
    """Load a sealed private key file (MissingKeyFile if absent; see decode for the rest)."""
    return decode_private_key_file(_read_limited(path), passphrase, kind=kind, source=str(path))


# --- public key files ------------------------------------------------------------------


def encode_public_key_file(key: PublicKey) -> bytes:
    """Serialise a public key with its kind, key id and fingerprint."""
    kid = key.key_id
    document = {
        "format": PUBLIC_KEY_FORMAT,
        "version": FILE_VERSION,
        "kind": key.kind,
        "public_key": key.raw.hex(),
        "key_id": kid.hex(),
        "fingerprint": format_fingerprint(kid),
    }
    return (json.dumps(document, indent=2) + "\n").encode("ascii")


def write_public_key_file(path: Path, key: PublicKey) -> None:
    """Write a public key file (mode 0644: public, but never overwrite a key)."""
    if not isinstance(key, PublicKey):
        raise TypeError("key must be a PublicKey")
    write_new_file(Path(path), encode_public_key_file(key), 0o644)


def read_public_key_file(path: Path, kind: str) -> PublicKey:
    """Load a public key file, insisting on its kind and on a consistent key id.

    The key id doubles as a checksum: a damaged or edited public key no longer matches it.
    """
    source = str(path)
    doc = _parse_object(_read_limited(path), source)
    _check_fields(doc, _PUBLIC_FIELDS, source)
    _check_format(doc, PUBLIC_KEY_FORMAT, source)
    if doc["kind"] != kind:
        raise DamagedKeyFile(f"{source} holds a {doc['kind']!r} key, not a {kind!r} key")
    raw = strict_hex(doc["public_key"], PUBLIC_KEY_BYTES)
    if raw is None:
        raise DamagedKeyFile(f"{source} is damaged: bad public key")
    key = PublicKey(kind, raw)
    _check_identity(doc, key.key_id, source)
    return key


# --- Ed25519 verify key files ----------------------------------------------------------


def write_verify_key_file(
    path: Path, verify_key: nacl.signing.VerifyKey, kind: str = "audit"
) -> None:
    """Write an Ed25519 verify key with its key id (mode 0644, never overwriting)."""
    raw = bytes(verify_key)
    kid = signing_key_id(raw)
    document = {
        "format": VERIFY_KEY_FORMAT,
        "version": FILE_VERSION,
        "kind": kind,
        "verify_key": raw.hex(),
        "key_id": kid.hex(),
        "fingerprint": format_fingerprint(kid),
    }
    write_new_file(Path(path), (json.dumps(document, indent=2) + "\n").encode("ascii"), 0o644)


def read_verify_key_file(path: Path, kind: str = "audit") -> nacl.signing.VerifyKey:
    """Load an Ed25519 verify key file, checking kind and key id."""
    source = str(path)
    doc = _parse_object(_read_limited(path), source)
    _check_fields(doc, _VERIFY_FIELDS, source)
    _check_format(doc, VERIFY_KEY_FORMAT, source)
    if doc["kind"] != kind:
        raise DamagedKeyFile(f"{source} holds a {doc['kind']!r} key, not a {kind!r} key")
    raw = strict_hex(doc["verify_key"], VERIFY_KEY_BYTES)
    if raw is None:
        raise DamagedKeyFile(f"{source} is damaged: bad verify key")
    _check_identity(doc, signing_key_id(raw), source)
    return nacl.signing.VerifyKey(raw)


# --- raw secret files ------------------------------------------------------------------


def write_secret_file(path: Path, secret: bytes) -> None:
    """Write raw secret bytes as one line of hex, mode 0600 from creation, never overwriting.

    Hex text rather than raw bytes so that the file survives copy-and-paste and can be
    inspected for damage (wrong length) without a hex editor.
    """
    if not isinstance(secret, bytes) or not secret:
        raise ValueError("secret must be non-empty bytes")
    write_new_file(Path(path), (secret.hex() + "\n").encode("ascii"), 0o600)


def read_secret_file(path: Path, length: int = 32) -> bytes:
    """Read a hex secret file of exactly ``length`` bytes.

    Accepts upper- or lower-case hex and surrounding whitespace, so that a file made with
    ``openssl rand -hex 32`` works; refuses an all-zero secret, which is always a mistake.
    """
    source = str(path)
    data = _read_limited(path)
    try:
        text = data.decode("ascii").strip().lower()
    except UnicodeDecodeError:
        raise DamagedKeyFile(f"{source} is damaged: not hex text") from None
    secret = strict_hex(text, length)
    if secret is None:
        raise DamagedKeyFile(f"{source} is damaged: expected {length} bytes as hex")
    if not any(secret):
        raise DamagedKeyFile(f"{source} holds an all-zero secret; refusing to use it")
    return secret


__all__ = [
    "CIPHER_ALG",
    "FILE_VERSION",
    "KDF_ALG",
    "MAX_MEMLIMIT",
    "MAX_OPSLIMIT",
    "MIN_MEMLIMIT",
    "MIN_OPSLIMIT",
    "PrivateKeyFileHeader",
    "decode_private_key_file",
    "encode_private_key_file",
    "encode_public_key_file",
    "parse_private_key_header",
    "read_private_key_file",
    "read_private_key_header",
    "read_public_key_file",
    "read_secret_file",
    "read_verify_key_file",
    "write_new_file",
    "write_private_key_file",
    "write_public_key_file",
    "write_secret_file",
    "write_verify_key_file",
]
