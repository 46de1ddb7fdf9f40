"""Generated passphrases and usernames.

Generated rather than chosen because people reuse passwords and pick guessable ones, and
a leaked passphrase here can expose someone's identity. Every choice comes from
:mod:`secrets` (the operating system's CSPRNG); nothing is derived from user input.
"""

from __future__ import annotations

import math
import secrets

from .wordlist import WORDS

MIN_WORDS = 4
BITS_PER_WORD = math.log2(len(WORDS))


def passphrase_entropy_bits(words: int) -> float:
    """Entropy in bits of a generated passphrase of ``words`` words."""
    return words * BITS_PER_WORD


def generate_passphrase(words: int = 6) -> str:
    """Return ``words`` random words from the built-in list, joined with "-".

    Each word is drawn uniformly and independently from 1,892 words, about 10.9 bits, so
    the default six words carry about 65 bits: out of reach of offline guessing even
    against a fast hash, and with Argon2id MODERATE (about a second per guess) far beyond
    it. Fewer than four words (about 44 bits) are refused. Lower case and hyphens only, so
    it is easy to read aloud and to type on a phone.
    """
    if isinstance(words, bool) or not isinstance(words, int) or words < MIN_WORDS:
        raise ValueError(f"a passphrase needs at least {MIN_WORDS} words")
    return "-".join(secrets.choice(WORDS) for _ in range(words))


def generate_username() -> str:
    """Return a username such as "amber-falcon-4821": two random words and four digits.

    About 35 bits, enough that collisions are rare; the caller must still check
    uniqueness. Random, so that a username reveals nothing about the member (no work
    name, no initials) if it is seen on a screen or in a log.
    """
    return f"{secrets.choice(WORDS)}-{secrets.choice(WORDS)}-{secrets.randbelow(10_000):04d}"
