"""seal, open_envelope and rewrap against the raw libsodium calls they are made of."""

from __future__ import annotations

import shutil
import tempfile
import time

import nacl.bindings as sodium
import nacl.utils

from bench.stats import interleaved, per_call_us
from crypto import envelope
from crypto.keys import generate_box_keypair

PAYLOAD = b'{"email": "member@example.org", "mobile": "+447700900123"}'
# Many short A/B pairs: the ratio is the median of the pairs' ratios, which a busy
# neighbour slowing a whole stretch of the run moves far less than it moves either mean.
CALLS = 300
REPS = 31


def _keys():
    vetting = generate_box_keypair("vetting")
    delivery = generate_box_keypair("delivery")
    return vetting, delivery, envelope.bind("members", "contact", "bench-member")


def seal() -> tuple[list[float], list[float]]:
    vetting, delivery, ad = _keys()
    recipients = [vetting.public, delivery.public]
    full_ad = envelope.MAGIC + bytes([envelope.VERSION]) + ad

    def raw() -> None:
        key = nacl.utils.random(32)
        nonce = nacl.utils.random(24)
        sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(PAYLOAD, full_ad, nonce, key)
        for r in recipients:
            sodium.crypto_box_seal(key, r.raw)

    return interleaved(lambda: per_call_us(raw, CALLS),
                       lambda: per_call_us(lambda: envelope.seal(PAYLOAD, recipients, ad),
                                           CALLS), REPS)


def open_envelope() -> tuple[list[float], list[float]]:
    vetting, delivery, ad = _keys()
    sealed = envelope.seal(PAYLOAD, [vetting.public, delivery.public], ad)
    parts = envelope.parse_envelope(sealed)
    wrap = dict(parts.wraps)[delivery.key_id]
    full_ad = envelope.MAGIC + bytes([envelope.VERSION]) + ad
    public, secret = delivery.public.raw, delivery.raw

    def raw() -> None:
        # The libsodium work a padded (version 2) envelope needs: sealed-box open, AEAD,
        # and libsodium's own unpad (the baseline predates padding).
        key = sodium.crypto_box_seal_open(wrap, public, secret)
        padded = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(parts.ciphertext, full_ad,
                                                                   parts.nonce, key)
        sodium.sodium_unpad(padded, len(padded))

    return interleaved(lambda: per_call_us(raw, CALLS),
                       lambda: per_call_us(lambda: envelope.open_envelope(sealed, delivery, ad),
                                           CALLS), REPS)


def rewrap() -> tuple[list[float], list[float]]:
    """Add a recipient: unwrap the data key with one key, wrap it for another."""
    vetting, delivery, ad = _keys()
    new = generate_box_keypair("vetting")
    sealed = envelope.seal(PAYLOAD, [vetting.public, delivery.public], ad)
    wrap = dict(envelope.parse_envelope(sealed).wraps)[vetting.key_id]
    public, secret, new_public = vetting.public.raw, vetting.raw, new.public.raw

    def raw() -> None:
        key = sodium.crypto_box_seal_open(wrap, public, secret)
        sodium.crypto_box_seal(key, new_public)

    return interleaved(lambda: per_call_us(raw, CALLS),
                       lambda: per_call_us(lambda: envelope.rewrap(sealed, vetting,
                                                                   add=[new.public]),
                                           CALLS), REPS)


def peers() -> str:
    """The same payload encrypted to one key by python-gnupg+gpg and by pysequoia."""
    said = []
    try:
        import gnupg

        if shutil.which("gpg") is None:
            raise ImportError("no gpg binary")
        home = tempfile.mkdtemp(prefix="bench-gpg-")
        gpg = gnupg.GPG(gnupghome=home)
        key = gpg.gen_key(gpg.gen_key_input(key_type="RSA", key_length=2048,
                                            name_email="bench@example.org", no_protection=True))
        gpg.encrypt(PAYLOAD, key.fingerprint, always_trust=True)
        n = 30
        start = time.perf_counter()
        for _ in range(n):
            gpg.encrypt(PAYLOAD, key.fingerprint, always_trust=True, armor=False)
        said.append(f"python-gnupg+gpg {(time.perf_counter() - start) / n * 1e3:.1f} ms")
        shutil.rmtree(home, ignore_errors=True)
    except Exception as error:  # a peer that cannot run says why
        said.append(f"python-gnupg: not run ({type(error).__name__}: {error})"[:80])
    try:
        import warnings

        import pysequoia

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            cert = pysequoia.Cert.generate("bench <bench@example.org>")
        n = 300
        start = time.perf_counter()
        for _ in range(n):
            pysequoia.encrypt(PAYLOAD, recipients=[cert], armor=False)
        said.append(f"pysequoia {(time.perf_counter() - start) / n * 1e6:.0f} us")
    except Exception as error:
        said.append(f"pysequoia: not run ({type(error).__name__}: {error})"[:80])
    return "; ".join(said)
