"""Framework-free cryptography for uglymugs.

Everything sensitive the application stores passes through here: envelopes (per-value
data keys wrapped for recipient keys), sealed key files, blind indexes over normalised
values, and the hash-chained, checkpoint-signed disclosure log. Only libsodium primitives
(via PyNaCl) and BLAKE2b are used; nothing here is a home-made primitive, and nothing
imports Flask or the application.
"""

from .audit_chain import (
    GENESIS_HASH,
    ChainedEntry,
    ChainVerdict,
    Checkpoint,
    append,
    canonical,
    entry_hash,
    sign_checkpoint,
    verify_against_checkpoint,
    verify_chain,
    verify_checkpoint,
)
from .blind_index import BlindIndexer
from .envelope import bind, open_envelope, recipients_of, rewrap, seal
from .errors import (
    CryptoError,
    DamagedKeyFile,
    EnvelopeError,
    KeyFileError,
    KeyMismatch,
    KeysExist,
    MalformedCheckpoint,
    MalformedEnvelope,
    MissingKeyFile,
    NormalisationError,
    TamperedEnvelope,
    UnknownKeyId,
    WrongPassphrase,
)
from .keyfile import (
    read_private_key_file,
    read_public_key_file,
    read_secret_file,
    write_private_key_file,
    write_public_key_file,
    write_secret_file,
)
from .keys import (
    KEY_ID_BYTES,
    BoxPrivateKey,
    PublicKey,
    generate_box_keypair,
    generate_signing_key,
    key_id,
    signing_key_id,
)
from .keystore import (
    CeremonyResult,
    ServerKeys,
    describe_keys,
    init_keys,
    keys_present,
    load_audit_signing_key,
    load_delivery_private_key,
    load_server_keys,
)
from .normalise import (
    canonical_email,
    normalise_email,
    normalise_handle,
    normalise_phone,
    normalise_plate,
)
from .passphrase import generate_passphrase, generate_username

__all__ = [
    "GENESIS_HASH",
    "KEY_ID_BYTES",
    "BlindIndexer",
    "BoxPrivateKey",
    "CeremonyResult",
    "ChainVerdict",
    "ChainedEntry",
    "Checkpoint",
    "CryptoError",
    "DamagedKeyFile",
    "EnvelopeError",
    "KeyFileError",
    "KeyMismatch",
    "KeysExist",
    "MalformedCheckpoint",
    "MalformedEnvelope",
    "MissingKeyFile",
    "NormalisationError",
    "PublicKey",
    "ServerKeys",
    "TamperedEnvelope",
    "UnknownKeyId",
    "WrongPassphrase",
    "append",
    "bind",
    "canonical",
    "canonical_email",
    "describe_keys",
    "entry_hash",
    "generate_box_keypair",
    "generate_passphrase",
    "generate_signing_key",
    "generate_username",
    "init_keys",
    "key_id",
    "keys_present",
    "load_audit_signing_key",
    "load_delivery_private_key",
    "load_server_keys",
    "normalise_email",
    "normalise_handle",
    "normalise_phone",
    "normalise_plate",
    "open_envelope",
    "read_private_key_file",
    "read_public_key_file",
    "read_secret_file",
    "recipients_of",
    "rewrap",
    "seal",
    "sign_checkpoint",
    "signing_key_id",
    "verify_against_checkpoint",
    "verify_chain",
    "verify_checkpoint",
    "write_private_key_file",
    "write_public_key_file",
    "write_secret_file",
]
