"""The recovery holder's private key as K-of-N SLIP-39 mnemonic shares.

The recovery holder is an ordinary key holder whose private half is never stored: it is
split into shares held by trustees, any K of which rebuild it. The splitting and
combining are the reference implementation of SLIP-39 (`shamir-mnemonic`), never our own
Shamir; shares are words that survive being written on paper.
"""

from __future__ import annotations

import shamir_mnemonic
from shamir_mnemonic import MnemonicError

from .errors import CryptoError
from .holder_wrap import HOLDER_KIND
from .keys import BoxPrivateKey

MAX_SHARES = 16


class RecoveryError(CryptoError):
    """The shares given do not rebuild a key (too few, mistyped, or from different sets)."""


def check_threshold(threshold: int, shares: int) -> None:
    """Refuse shapes SLIP-39 cannot make or that protect nothing (1 of N is N copies)."""
    if not 2 <= threshold <= shares <= MAX_SHARES:
        raise ValueError(f"the threshold must be at least 2 and at most the number of shares, "
                         f"which is at most {MAX_SHARES}")


def split_key(key: BoxPrivateKey, *, threshold: int, shares: int) -> list[str]:
    """The key's 32 secret bytes as ``shares`` mnemonics, any ``threshold`` of which rebuild it."""
    check_threshold(threshold, shares)
    groups = shamir_mnemonic.generate_mnemonics(
        group_threshold=1, groups=[(threshold, shares)], master_secret=key.raw)
    return list(groups[0])


def combine_shares(mnemonics: list[str]) -> BoxPrivateKey:
    """Rebuild the recovery holder's key from at least its threshold of shares."""
    cleaned = [" ".join(m.split()).lower() for m in mnemonics if m.strip()]
    if not cleaned:
        raise RecoveryError("no recovery shares were given")
    try:
        secret = shamir_mnemonic.combine_mnemonics(cleaned)
    except (MnemonicError, ValueError) as error:
        raise RecoveryError(f"the shares do not rebuild a key: {error}") from None
    if len(secret) != 32:
        raise RecoveryError("the shares rebuild something that is not a holder key")
    return BoxPrivateKey(HOLDER_KIND, bytes(secret))


__all__ = ["MAX_SHARES", "RecoveryError", "check_threshold", "combine_shares", "split_key"]
