"""The keys directory and the key ceremony.

Layout of ``keys_dir`` (mode 0700)::

    database.key   secret file, 32 random bytes: SQLCipher raw key            (0600)
    index.key      secret file, 32 random bytes: blind index root key         (0600)
    session.key    secret file, 32 random bytes: signs web session cookies    (0600)
    audit.key      secret file, Ed25519 seed: signs audit checkpoints         (0600)
    audit.pub      Ed25519 verify key with its key id                         (0644)
    vetting.pub    X25519 public key: what sealed records are wrapped for     (0644)
    delivery.pub   X25519 public key: contact details for alert delivery      (0644)
    delivery.key   delivery private key, sealed under a passphrase            (0600)
    first-holders.json  the vetting public key and its first holders' wraps       (0600)
                   (read once by init-db; nothing in it opens without a holder key file)
    delivery-retired.pub  public halves of delivery keys `keys rotate delivery`     (0644)
                   replaced, oldest first (so `keys verify` can name a retired key)
    audit-retired.pub     public halves of audit keys `keys rotate audit` replaced, (0644)
                   oldest first (for people and tools outside the database)
    database.key.old      the previous database key, kept by `keys rotate database` (0600)
                   until the operator has proven the new one (see below)

Files that exist only while a rotation is under way (each is written, complete, before
anything depends on it, so a rotation killed at any point is finished by running it
again): ``delivery.key.next`` (the new delivery key, sealed under its passphrase),
``audit.key.next`` (the new audit seed), ``database.key.next`` (the new database key,
before SQLCipher's rekey commits).

Rotating the audit key. Old public halves are never dropped: the handover checkpoint,
signed by the new key, is co-signed by the old one and stored with the old key's public
half (the database's ``audit_cosignatures``), so verification, trusting only
``audit.pub`` from outside, follows the handovers back to the first key and every old
checkpoint keeps verifying, while a key that nobody handed over to is unknown.
``audit-retired.pub`` lists the same halves for anyone reading the keys folder.

Rotating the database key. A backup is made first; the new key is written as
``database.key.next``; ``PRAGMA rekey`` rewrites the database; once a fresh connection
opens it with the new key, the old key is renamed ``database.key.old`` and the new one
becomes ``database.key`` (each a rename). Killed at any moment, the database opens with
``database.key``, ``database.key.next`` or ``database.key.old``: running the rotation
again finds which and finishes. Delete ``database.key.old`` (and its offline copies) once
the web process and worker run with the new key and a new backup verifies.

Key holders. The vetting private key is never written to a file: the ceremony wraps it
for each first holder (crypto/holder_wrap.py) and for the recovery holder if asked, and
writes each coordinator holder's own key file where the operator says (off the server).
Releases before holders wrote a shared ``vetting.key`` instead; ``init_keys`` can still
make that layout (``vetting_passphrase``) so tests can build such a deployment and move
it to holders, but no command offers it.

The audit signing seed is held unsealed on purpose: checkpoints are signed unattended by
the worker, and a signing key only lets its holder *add* checkpoints, which does not let
anyone rewrite history that auditors have already exported.

Nothing here depends on Flask; the CLI wraps these functions.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nacl.signing
import nacl.utils
from nacl.pwhash import argon2id

from ._encoding import strict_hex
from .errors import CryptoError, DamagedKeyFile, KeyMismatch, KeysExist, MissingKeyFile
from .holder_wrap import HOLDER_KIND, wrap_for_holder
from .keyfile import (
    MAX_MEMLIMIT,
    MAX_OPSLIMIT,
    MIN_MEMLIMIT,
    MIN_OPSLIMIT,
    decode_private_key_file,
    encode_private_key_file,
    parse_private_key_header,
    read_private_key_file,
    read_private_key_header,
    read_public_key_file,
    read_secret_file,
    read_verify_key_file,
    write_new_file,
    write_public_key_file,
    write_secret_file,
    write_verify_key_file,
)
from .keys import (
    PUBLIC_KEY_BYTES,
    BoxPrivateKey,
    PublicKey,
    format_fingerprint,
    generate_box_keypair,
    generate_signing_key,
    signing_key_id,
)
from .recovery import check_threshold, split_key

DATABASE_KEY = "database.key"
INDEX_KEY = "index.key"
SESSION_KEY = "session.key"
VETTING_PUB = "vetting.pub"
DELIVERY_PUB = "delivery.pub"
VETTING_KEY = "vetting.key"
DELIVERY_KEY = "delivery.key"
AUDIT_KEY = "audit.key"
AUDIT_PUB = "audit.pub"
FIRST_HOLDERS = "first-holders.json"
FIRST_HOLDERS_FORMAT = "uglymugs-first-holders"
KEY_FILES = (
    DATABASE_KEY,
    INDEX_KEY,
    SESSION_KEY,
    VETTING_PUB,
    DELIVERY_PUB,
    VETTING_KEY,
    DELIVERY_KEY,
    AUDIT_KEY,
    AUDIT_PUB,
)
SECRET_BYTES = 32
MIN_PASSPHRASE_CHARS = 12
_PRIVATE_FILES = (DATABASE_KEY, INDEX_KEY, SESSION_KEY, AUDIT_KEY, VETTING_KEY, DELIVERY_KEY)


def _fingerprint_verify_key(verify_key: nacl.signing.VerifyKey) -> str:
    return format_fingerprint(signing_key_id(verify_key))


@dataclass(frozen=True)
class ServerKeys:
    """What the web process holds: no private key, only what it needs to seal and index.

    The audit key appears only as its verify half, so the web process can show auditors
    that checkpoints verify without being able to sign one.
    """

    database_key: bytes = field(repr=False)
    index_key: bytes = field(repr=False)
    session_key: bytes = field(repr=False)
    vetting_public: PublicKey
    delivery_public: PublicKey
    audit_verify_key: nacl.signing.VerifyKey

    def __repr__(self) -> str:
        return (
            "ServerKeys(database_key=<hidden>, index_key=<hidden>, session_key=<hidden>, "
            f"vetting={self.vetting_public.fingerprint}, "
            f"delivery={self.delivery_public.fingerprint}, "
            f"audit={_fingerprint_verify_key(self.audit_verify_key)})"
        )

    __str__ = __repr__


def load_server_keys(keys_dir: Path) -> ServerKeys:
    """Load the web process's keys; never reads a private key file.

    Errors (MissingKeyFile, DamagedKeyFile) carry the path of the offending file.
    """
    keys_dir = Path(keys_dir)
    return ServerKeys(
        database_key=read_secret_file(keys_dir / DATABASE_KEY, SECRET_BYTES),
        index_key=read_secret_file(keys_dir / INDEX_KEY, SECRET_BYTES),
        session_key=read_secret_file(keys_dir / SESSION_KEY, SECRET_BYTES),
        vetting_public=read_public_key_file(keys_dir / VETTING_PUB, "vetting"),
        delivery_public=read_public_key_file(keys_dir / DELIVERY_PUB, "delivery"),
        audit_verify_key=read_verify_key_file(keys_dir / AUDIT_PUB, "audit"),
    )


def keys_present(keys_dir: Path) -> bool:
    """True if any key file exists in ``keys_dir`` (dangling symlinks count)."""
    keys_dir = Path(keys_dir)
    return any(os.path.lexists(keys_dir / name) for name in KEY_FILES)


@dataclass(frozen=True)
class HolderOut:
    """A first key holder's file: where the ceremony writes it, under which passphrase."""

    path: Path
    passphrase: str = field(repr=False)


@dataclass(frozen=True)
class FirstHolder:
    kind: str  # "coordinator" or "recovery"
    public: PublicKey
    wrap: bytes


@dataclass(frozen=True)
class FirstHolders:
    """What init-db stores: the vetting public key and a wrap of its private half per holder."""

    vetting_public: PublicKey
    holders: tuple[FirstHolder, ...]


@dataclass(frozen=True)
class CeremonyResult:
    """What the operator needs to record after a ceremony: fingerprints and file places.

    ``recovery_shares`` are the recovery holder's SLIP-39 mnemonics: shown once, to be
    handed to the trustees, and never written anywhere by the ceremony.
    """

    fingerprints: dict[str, str]
    vetting_key_path: Path | None
    delivery_key_path: Path
    holder_paths: tuple[Path, ...] = ()
    recovery_shares: tuple[str, ...] = field(default=(), repr=False)


def _check_passphrase(passphrase: object, role: str) -> str:
    if not isinstance(passphrase, str) or not passphrase.strip():
        raise ValueError(f"the {role} passphrase must not be empty")
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise ValueError(
            f"the {role} passphrase must be at least {MIN_PASSPHRASE_CHARS} characters"
        )
    return passphrase


def _vetting_key_target(keys_dir: Path, vetting_key_out: Path | None) -> Path:
    if vetting_key_out is None:
        return keys_dir / VETTING_KEY
    out = Path(vetting_key_out)
    if out.is_dir():
        return out / VETTING_KEY
    if not out.parent.is_dir():
        raise ValueError(f"cannot write the vetting key to {out}: {out.parent} is not a directory")
    return out


def _prepare_keys_dir(keys_dir: Path) -> None:
    if keys_dir.exists() and not keys_dir.is_dir():
        raise ValueError(f"{keys_dir} exists and is not a directory")
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # An existing directory (e.g. the repository's keys/) may have been created 0755;
    # once it holds secrets it must be private, and umask may have narrowed mkdir's mode.
    os.chmod(keys_dir, 0o700)


def _silent(_message: str) -> None:
    pass


def init_keys(
    keys_dir: Path,
    *,
    delivery_passphrase: str,
    vetting_passphrase: str | None = None,
    holders: Sequence[HolderOut] = (),
    recovery: tuple[int, int] | None = None,
    vetting_key_out: Path | None = None,
    kdf_opslimit: int = argon2id.OPSLIMIT_MODERATE,
    kdf_memlimit: int = argon2id.MEMLIMIT_MODERATE,
    progress: Callable[[str], None] = _silent,
) -> CeremonyResult:
    """Create every key for a new deployment and return the fingerprints to record.

    Checks everything (passphrases, targets, KDF limits) and does the slow sealing before
    creating a single file, and refuses with :class:`KeysExist` if any target exists:
    overwriting a key makes everything sealed to it unreadable for ever. If writing fails
    part-way, the files written by this call are removed again.

    With ``holders`` (the way every command runs it) the vetting private key is wrapped
    for each holder and for a recovery holder if ``recovery`` is (threshold, shares), and
    written nowhere: each holder's own key file goes to its path, the wraps to
    first-holders.json for init-db. With ``vetting_passphrase`` instead, the layout of
    releases before holders: a shared vetting.key.

    Passphrases must differ from the delivery one: the delivery passphrase lives with the
    worker, and reusing it would put the vetting key's protection on the server.
    """
    keys_dir = Path(keys_dir)
    holders = list(holders)
    if (vetting_passphrase is None) == (not holders):
        raise ValueError("a ceremony makes either key holders or (as old releases did) a "
                         "shared vetting key file")
    if vetting_passphrase is not None:
        _check_passphrase(vetting_passphrase, "vetting")
    for number, holder in enumerate(holders, 1):
        _check_passphrase(holder.passphrase, f"key holder {number}")
    _check_passphrase(delivery_passphrase, "delivery")
    if delivery_passphrase in {vetting_passphrase, *(h.passphrase for h in holders)}:
        raise ValueError("the delivery passphrase must be different from the vetting and "
                         "key holder passphrases")
    if recovery is not None:
        check_threshold(*recovery)
    if not (
        MIN_OPSLIMIT <= kdf_opslimit <= MAX_OPSLIMIT
        and MIN_MEMLIMIT <= kdf_memlimit <= MAX_MEMLIMIT
    ):
        raise ValueError("Argon2id limits must be at least libsodium's INTERACTIVE limits")
    vetting_path = (_vetting_key_target(keys_dir, vetting_key_out)
                    if vetting_passphrase is not None else None)
    delivery_path = keys_dir / DELIVERY_KEY
    holder_paths = [_holder_target(holder.path) for holder in holders]
    if len(set(holder_paths)) != len(holder_paths):
        raise ValueError("each key holder needs a file of their own")

    targets = [keys_dir / name for name in KEY_FILES]
    for extra in (vetting_path, *holder_paths, keys_dir / FIRST_HOLDERS if holders else None):
        if extra is not None and extra not in targets:
            targets.append(extra)
    existing = [path for path in targets if os.path.lexists(path)]
    if existing:
        names = ", ".join(str(path) for path in existing)
        raise KeysExist(f"refusing to overwrite existing key files: {names}", existing)

    progress("generating the database, index, session, vetting, delivery and audit keys")
    database_key = nacl.utils.random(SECRET_BYTES)
    index_key = nacl.utils.random(SECRET_BYTES)
    session_key = nacl.utils.random(SECRET_BYTES)
    vetting = generate_box_keypair("vetting")
    delivery = generate_box_keypair("delivery")
    audit = generate_signing_key()
    plan: list[tuple[Path, Callable[[Path], None]]] = []
    shares: list[str] = []
    if vetting_passphrase is not None:
        assert vetting_path is not None
        progress("sealing the vetting key (Argon2id, about a second)…")
        vetting_file = encode_private_key_file(
            vetting, vetting_passphrase, opslimit=kdf_opslimit, memlimit=kdf_memlimit
        )
        plan.append((vetting_path, lambda p: write_new_file(p, vetting_file, 0o600)))
    else:
        first: list[FirstHolder] = []
        for number, (holder, path) in enumerate(zip(holders, holder_paths, strict=True), 1):
            holder_key = generate_box_keypair(HOLDER_KIND)
            progress(f"sealing key holder {number}'s key file (Argon2id, about a second)…")
            data = encode_private_key_file(holder_key, holder.passphrase,
                                           opslimit=kdf_opslimit, memlimit=kdf_memlimit)
            plan.append((path, _writer(data)))
            first.append(FirstHolder("coordinator", holder_key.public,
                                     wrap_for_holder(vetting, holder_key.public)))
        if recovery is not None:
            recovery_key = generate_box_keypair(HOLDER_KIND)
            shares = split_key(recovery_key, threshold=recovery[0], shares=recovery[1])
            first.append(FirstHolder("recovery", recovery_key.public,
                                     wrap_for_holder(vetting, recovery_key.public)))
            del recovery_key
        document = encode_first_holders(FirstHolders(vetting.public, tuple(first)))
        plan.append((keys_dir / FIRST_HOLDERS,
                     lambda p: write_new_file(p, document, 0o600)))
    progress("sealing the delivery key (Argon2id, about a second)…")
    delivery_file = encode_private_key_file(
        delivery, delivery_passphrase, opslimit=kdf_opslimit, memlimit=kdf_memlimit
    )

    progress(f"writing key files to {keys_dir}")
    _prepare_keys_dir(keys_dir)
    plan[:0] = [
        (keys_dir / DATABASE_KEY, lambda p: write_secret_file(p, database_key)),
        (keys_dir / INDEX_KEY, lambda p: write_secret_file(p, index_key)),
        (keys_dir / SESSION_KEY, lambda p: write_secret_file(p, session_key)),
        (keys_dir / AUDIT_KEY, lambda p: write_secret_file(p, bytes(audit))),
        (keys_dir / AUDIT_PUB, lambda p: write_verify_key_file(p, audit.verify_key, "audit")),
        (keys_dir / VETTING_PUB, lambda p: write_public_key_file(p, vetting.public)),
        (keys_dir / DELIVERY_PUB, lambda p: write_public_key_file(p, delivery.public)),
        (delivery_path, lambda p: write_new_file(p, delivery_file, 0o600)),
    ]
    written: list[Path] = []
    try:
        for path, write in plan:
            write(path)
            written.append(path)
    except BaseException:
        # Leave no half ceremony behind: a vetting.pub without its private key would
        # accept data that nobody can ever read.
        for path in reversed(written):
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    if vetting_path is None:
        progress("the vetting private key was written nowhere: only the key holders' "
                 "wraps of it exist")
    elif vetting_key_out is None:
        progress(
            f"the vetting key file is in {vetting_path}: move it to the coordinators' "
            "devices; the server should not keep it"
        )
    else:
        progress(f"the vetting key file was written to {vetting_path}")
    fingerprints = {
        "vetting": vetting.public.fingerprint,
        "delivery": delivery.public.fingerprint,
        "audit": _fingerprint_verify_key(audit.verify_key),
    }
    progress("done: record these fingerprints somewhere other than this server")
    return CeremonyResult(fingerprints, vetting_path, delivery_path, tuple(holder_paths),
                          tuple(shares))


def _writer(data: bytes) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        write_new_file(path, data, 0o600)

    return write


def _holder_target(path: Path) -> Path:
    out = Path(path)
    if not out.parent.is_dir():
        raise ValueError(f"cannot write a key holder file to {out}: "
                         f"{out.parent} is not a directory")
    return out


def encode_first_holders(first: FirstHolders) -> bytes:
    document = {
        "format": FIRST_HOLDERS_FORMAT,
        "version": 1,
        "vetting_public_key": first.vetting_public.raw.hex(),
        "holders": [{"kind": h.kind, "public_key": h.public.raw.hex(), "wrap": h.wrap.hex()}
                    for h in first.holders],
    }
    return (json.dumps(document, indent=2) + "\n").encode("ascii")


def read_first_holders(keys_dir: Path) -> FirstHolders | None:
    """The ceremony's first holders, or None for a keys directory made before holders."""
    path = Path(keys_dir) / FIRST_HOLDERS
    if not os.path.lexists(path):
        return None
    try:
        doc = json.loads(path.read_text(encoding="ascii"))
        if doc.get("format") != FIRST_HOLDERS_FORMAT or doc.get("version") != 1:
            raise ValueError("not a first-holders file")
        vetting_raw = strict_hex(doc["vetting_public_key"], PUBLIC_KEY_BYTES)
        holders = []
        for item in doc["holders"]:
            raw = strict_hex(item["public_key"], PUBLIC_KEY_BYTES)
            wrap = strict_hex(item["wrap"])
            if raw is None or wrap is None or item["kind"] not in ("coordinator", "recovery"):
                raise ValueError("bad holder")
            holders.append(FirstHolder(item["kind"], PublicKey(HOLDER_KIND, raw), wrap))
        if vetting_raw is None or not holders:
            raise ValueError("no vetting key or no holder")
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise DamagedKeyFile(f"{path} is damaged: {error}") from None
    return FirstHolders(PublicKey("vetting", vetting_raw), tuple(holders))


def _describe(action: Callable[[], str]) -> str:
    try:
        return action()
    except MissingKeyFile:
        return "missing"
    except CryptoError as exc:
        return f"damaged: {exc}"


def _sealed_file_note(path: Path, public: PublicKey) -> str:
    if not os.path.lexists(path):
        return "sealed key file: not in this directory"
    try:
        header = read_private_key_header(path)
    except CryptoError as exc:
        return f"sealed key file: damaged ({exc})"
    verdict = "matches" if header.public == public else "DOES NOT MATCH"
    return f"sealed key file present, {verdict} the public key"


def describe_keys(keys_dir: Path) -> dict[str, str]:
    """Describe each key for ``keys show``, using public information only.

    The database and index keys are reported as present and of the right size, nothing
    more: any hash of them would be a test an attacker could use to confirm a guess or a
    stolen copy. Public keys are shown by fingerprint.
    """
    keys_dir = Path(keys_dir)

    def secret(name: str) -> str:
        read_secret_file(keys_dir / name, SECRET_BYTES)
        return f"present, {SECRET_BYTES * 8}-bit"

    def box(kind: str, pub_name: str, key_name: str) -> str:
        public = read_public_key_file(keys_dir / pub_name, kind)
        note = _sealed_file_note(keys_dir / key_name, public)
        return f"{public.fingerprint} ({note})"

    def audit() -> str:
        verify_key = read_verify_key_file(keys_dir / AUDIT_PUB, "audit")
        try:
            seed = read_secret_file(keys_dir / AUDIT_KEY, SECRET_BYTES)
        except MissingKeyFile:
            note = "signing key: missing"
        except CryptoError as exc:
            note = f"signing key: damaged ({exc})"
        else:
            matches = nacl.signing.SigningKey(seed).verify_key == verify_key
            note = "signing key present, " + ("matches" if matches else "DOES NOT MATCH")
        return f"{_fingerprint_verify_key(verify_key)} ({note})"

    return {
        "database": _describe(lambda: secret(DATABASE_KEY)),
        "index": _describe(lambda: secret(INDEX_KEY)),
        "session": _describe(lambda: secret(SESSION_KEY)),
        "vetting": _describe(lambda: box("vetting", VETTING_PUB, VETTING_KEY)),
        "delivery": _describe(lambda: box("delivery", DELIVERY_PUB, DELIVERY_KEY)),
        "audit": _describe(audit),
    }


def unlock_private_key(data: bytes, passphrase: str, expected: PublicKey) -> BoxPrivateKey:
    """Open an uploaded sealed key file, insisting it is the key ``expected`` names.

    Checks the file's recorded public key against ``expected`` *before* running
    Argon2id, so a coordinator who picks the wrong file is told so at once
    (:class:`KeyMismatch`) instead of being told the passphrase is wrong.
    """
    header = parse_private_key_header(data)
    if header.public != expected:
        raise KeyMismatch(
            f"this key file holds {header.kind} key {header.public.fingerprint}, "
            f"not {expected.kind} key {expected.fingerprint}"
        )
    return decode_private_key_file(data, passphrase, kind=expected.kind)


def load_delivery_private_key(keys_dir: Path, passphrase: str) -> BoxPrivateKey:
    """Load the delivery private key for the worker, checked against delivery.pub."""
    keys_dir = Path(keys_dir)
    public = read_public_key_file(keys_dir / DELIVERY_PUB, "delivery")
    header = read_private_key_header(keys_dir / DELIVERY_KEY)
    if header.public != public:
        raise KeyMismatch(f"{keys_dir / DELIVERY_KEY} does not belong to {keys_dir / DELIVERY_PUB}")
    return read_private_key_file(keys_dir / DELIVERY_KEY, passphrase, kind="delivery")


def load_audit_signing_key(keys_dir: Path) -> nacl.signing.SigningKey:
    """Load the audit signing key for the worker, checked against audit.pub."""
    keys_dir = Path(keys_dir)
    seed = read_secret_file(keys_dir / AUDIT_KEY, SECRET_BYTES)
    signing_key = nacl.signing.SigningKey(seed)
    if signing_key.verify_key != read_verify_key_file(keys_dir / AUDIT_PUB, "audit"):
        raise KeyMismatch(f"{keys_dir / AUDIT_KEY} does not belong to {keys_dir / AUDIT_PUB}")
    return signing_key


def permission_problems(keys_dir: Path) -> list[str]:
    """List key files (and the directory) readable or writable by group or others.

    Not enforced on load, because some deployments mount secrets through layers that
    report other modes; meant for ``keys show`` and start-up warnings.
    """
    keys_dir = Path(keys_dir)
    problems = []
    candidates = [(keys_dir, "directory")] + [(keys_dir / n, "file") for n in _PRIVATE_FILES]
    for path, what in candidates:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            wanted = "0700" if what == "directory" else "0600"
            problems.append(f"{path}: {what} mode is {mode:04o}, should be {wanted}")
    return problems


__all__ = [
    "AUDIT_KEY",
    "AUDIT_PUB",
    "DATABASE_KEY",
    "DELIVERY_KEY",
    "DELIVERY_PUB",
    "FIRST_HOLDERS",
    "INDEX_KEY",
    "KEY_FILES",
    "MIN_PASSPHRASE_CHARS",
    "SESSION_KEY",
    "VETTING_KEY",
    "VETTING_PUB",
    "CeremonyResult",
    "FirstHolder",
    "FirstHolders",
    "HolderOut",
    "ServerKeys",
    "describe_keys",
    "init_keys",
    "keys_present",
    "load_audit_signing_key",
    "load_delivery_private_key",
    "load_server_keys",
    "permission_problems",
    "read_first_holders",
    "unlock_private_key",
]


# --- rotating the delivery, audit and database keys ------------------------------------

DELIVERY_NEXT_KEY = "delivery.key.next"
DELIVERY_RETIRED = "delivery-retired.pub"
AUDIT_RETIRED = "audit-retired.pub"
AUDIT_NEXT_KEY = "audit.key.next"
DATABASE_OLD_KEY = "database.key.old"
DATABASE_NEXT_KEY = "database.key.next"
RETIRED_FORMAT = "uglymugs-retired-keys"


def replace_file(path: Path, write: Callable[[Path], None]) -> None:
    """Replace ``path`` atomically: ``write`` makes a new file beside it, then a rename.

    A reader (or a process killed half-way) sees the old file or the new one, never half.
    """
    path = Path(path)
    replacement = path.with_name(f".{path.name}.replacement")
    replacement.unlink(missing_ok=True)
    write(replacement)
    os.replace(replacement, path)


def retired_keys(keys_dir: Path, name: str) -> list[bytes]:
    """The public halves listed in a retired-keys file (none if there is no file)."""
    path = Path(keys_dir) / name
    if not os.path.lexists(path):
        return []
    try:
        doc = json.loads(path.read_text(encoding="ascii"))
        keys = doc["keys"] if doc.get("format") == RETIRED_FORMAT else None
        if not isinstance(keys, list):
            raise ValueError("not a retired-keys file")
        found = [strict_hex(item, PUBLIC_KEY_BYTES) for item in keys]
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise DamagedKeyFile(f"{path} is damaged: {exc}") from None
    if any(raw is None for raw in found):
        raise DamagedKeyFile(f"{path} is damaged: bad public key")
    return [raw for raw in found if raw is not None]


def add_retired_key(keys_dir: Path, name: str, raw: bytes) -> None:
    """List one more retired public half (idempotent: a key is listed once)."""
    listed = retired_keys(keys_dir, name)
    if raw in listed:
        return
    body = json.dumps({"format": RETIRED_FORMAT, "version": 1,
                       "keys": [key.hex() for key in [*listed, raw]]}, indent=2) + "\n"
    replace_file(Path(keys_dir) / name, _writer_mode(body.encode("ascii"), 0o644))


def _writer_mode(data: bytes, mode: int) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        write_new_file(path, data, mode)

    return write


@dataclass(frozen=True)
class DeliveryRotation:
    """The delivery key being retired and the one replacing it (both opened)."""

    old: BoxPrivateKey
    new: BoxPrivateKey
    resumed: bool


def begin_delivery_rotation(keys_dir: Path, passphrase: str, new_passphrase: str, *,
                            kdf_opslimit: int = argon2id.OPSLIMIT_MODERATE,
                            kdf_memlimit: int = argon2id.MEMLIMIT_MODERATE) -> DeliveryRotation:
    """Open the delivery key and make (or, after a kill, reopen) its successor.

    The successor is written, sealed under ``new_passphrase``, as ``delivery.key.next``
    before any envelope is re-wrapped for it, so a rotation killed at any point can be run
    again: delivery.key.next's presence is what says a rotation is under way.
    """
    keys_dir = Path(keys_dir)
    following = keys_dir / DELIVERY_NEXT_KEY
    current = read_public_key_file(keys_dir / DELIVERY_PUB, "delivery")
    header = read_private_key_header(keys_dir / DELIVERY_KEY)
    if os.path.lexists(following):
        successor = read_private_key_header(following)
        # Killed between renaming delivery.pub and delivery.key: either may be current.
        if current not in (header.public, successor.public):
            raise KeyMismatch(f"{following} belongs to no rotation of {keys_dir / DELIVERY_PUB}")
        old = read_private_key_file(keys_dir / DELIVERY_KEY, passphrase, kind="delivery")
        new = read_private_key_file(following, new_passphrase, kind="delivery")
        return DeliveryRotation(old, new, resumed=True)
    if header.public != current:
        raise KeyMismatch(f"{keys_dir / DELIVERY_KEY} does not belong to "
                          f"{keys_dir / DELIVERY_PUB}")
    old = read_private_key_file(keys_dir / DELIVERY_KEY, passphrase, kind="delivery")
    new = generate_box_keypair("delivery")
    write_new_file(following, encode_private_key_file(
        new, new_passphrase, opslimit=kdf_opslimit, memlimit=kdf_memlimit), 0o600)
    return DeliveryRotation(old, new, resumed=False)


def finish_delivery_rotation(keys_dir: Path, rotation: DeliveryRotation) -> None:
    """Make the successor current once no envelope needs the old key: the old public half
    joins delivery-retired.pub (so `keys verify` can name it), then delivery.pub, then
    delivery.key are replaced, each step atomic and each safe to repeat after a kill."""
    keys_dir = Path(keys_dir)
    add_retired_key(keys_dir, DELIVERY_RETIRED, rotation.old.public.raw)
    replace_file(keys_dir / DELIVERY_PUB,
                 lambda path: write_public_key_file(path, rotation.new.public))
    following = keys_dir / DELIVERY_NEXT_KEY
    if os.path.lexists(following):
        os.replace(following, keys_dir / DELIVERY_KEY)


@dataclass(frozen=True)
class AuditRotation:
    old: nacl.signing.SigningKey
    new: nacl.signing.SigningKey
    resumed: bool


def begin_audit_rotation(keys_dir: Path) -> AuditRotation:
    """The audit signing key and its successor, written first as ``audit.key.next`` (so a
    rotation killed at any point signs its handover with the same new key when rerun)."""
    keys_dir = Path(keys_dir)
    following = keys_dir / AUDIT_NEXT_KEY
    old = nacl.signing.SigningKey(read_secret_file(keys_dir / AUDIT_KEY, SECRET_BYTES))
    current = read_verify_key_file(keys_dir / AUDIT_PUB, "audit")
    if os.path.lexists(following):
        new = nacl.signing.SigningKey(read_secret_file(following, SECRET_BYTES))
        if current not in (old.verify_key, new.verify_key):
            raise KeyMismatch(f"{following} belongs to no rotation of {keys_dir / AUDIT_PUB}")
        return AuditRotation(old, new, resumed=True)
    if old.verify_key != current:
        raise KeyMismatch(f"{keys_dir / AUDIT_KEY} does not belong to {keys_dir / AUDIT_PUB}")
    new = generate_signing_key()
    write_secret_file(following, bytes(new))
    return AuditRotation(old, new, resumed=False)


def finish_audit_rotation(keys_dir: Path, rotation: AuditRotation) -> None:
    """After the handover checkpoint is stored: list the old public half in
    audit-retired.pub (for people and tools outside the database; verification reads the
    handover itself), then replace audit.pub and audit.key, each step safe to repeat."""
    keys_dir = Path(keys_dir)
    add_retired_key(keys_dir, AUDIT_RETIRED, bytes(rotation.old.verify_key))
    replace_file(keys_dir / AUDIT_PUB,
                 lambda path: write_verify_key_file(path, rotation.new.verify_key))
    following = keys_dir / AUDIT_NEXT_KEY
    if os.path.lexists(following):
        os.replace(following, keys_dir / AUDIT_KEY)


@dataclass(frozen=True)
class DatabaseRotation:
    old: bytes = field(repr=False)
    new: bytes = field(repr=False)
    resumed: bool


def begin_database_rotation(keys_dir: Path) -> DatabaseRotation:
    """The database key in use and its successor, written first as database.key.next.

    Refuses while database.key.old is still there (from a rotation not yet proven and
    cleared), so no key that a database or backup may still need is ever overwritten.
    """
    keys_dir = Path(keys_dir)
    following = keys_dir / DATABASE_NEXT_KEY
    previous = keys_dir / DATABASE_OLD_KEY
    if os.path.lexists(following):
        new = read_secret_file(following, SECRET_BYTES)
        # Killed between the two renames, database.key is already database.key.old.
        source = keys_dir / DATABASE_KEY
        if not os.path.lexists(source):
            source = previous
        return DatabaseRotation(read_secret_file(source, SECRET_BYTES), new, resumed=True)
    if os.path.lexists(previous):
        raise KeysExist(f"{previous} is still there from the last rotation. Once the "
                        "service runs with database.key and a new backup verifies, delete "
                        "it (and keep a copy with the backups made before that rotation), "
                        "then run this again.", [previous])
    old = read_secret_file(keys_dir / DATABASE_KEY, SECRET_BYTES)
    new = nacl.utils.random(SECRET_BYTES)
    write_secret_file(following, new)
    return DatabaseRotation(old, new, resumed=False)


def finish_database_rotation(keys_dir: Path) -> None:
    """After the rekey is proven: database.key -> database.key.old, then
    database.key.next -> database.key (two renames, each safe to repeat)."""
    keys_dir = Path(keys_dir)
    current, following = keys_dir / DATABASE_KEY, keys_dir / DATABASE_NEXT_KEY
    if not os.path.lexists(following):
        return
    if os.path.lexists(current):
        os.replace(current, keys_dir / DATABASE_OLD_KEY)
    os.replace(following, current)
