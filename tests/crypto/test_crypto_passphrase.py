"""Generated passphrases and usernames."""

from __future__ import annotations

import math
import re

import pytest

from crypto import passphrase
from crypto.passphrase import generate_passphrase, generate_username, passphrase_entropy_bits
from crypto.wordlist import WORDS


def test_word_list_is_large_distinct_and_typeable() -> None:
    assert len(WORDS) >= 1024
    assert len(set(WORDS)) == len(WORDS)
    assert all(re.fullmatch(r"[a-z]{3,10}", word) for word in WORDS)
    assert list(WORDS) == sorted(WORDS)


def test_documented_entropy_matches_the_list() -> None:
    doc = generate_passphrase.__doc__ or ""
    assert f"{len(WORDS):,}" in doc
    assert f"about {round(math.log2(len(WORDS)), 1)} bits" in doc
    assert f"about {math.floor(passphrase_entropy_bits(6))} bits" in doc
    assert passphrase_entropy_bits(6) >= 64


def test_passphrase_shape() -> None:
    phrase = generate_passphrase()
    words = phrase.split("-")
    assert len(words) == 6
    assert all(word in WORDS for word in words)
    assert len(generate_passphrase(8).split("-")) == 8
    assert len(phrase) >= 12  # always acceptable to the key ceremony


def test_passphrases_do_not_repeat() -> None:
    assert len({generate_passphrase() for _ in range(200)}) == 200


@pytest.mark.parametrize("words", [0, 3, -1, True, 4.5])
def test_too_few_words_are_refused(words: object) -> None:
    with pytest.raises(ValueError):
        generate_passphrase(words)  # type: ignore[arg-type]


def test_passphrase_uses_the_secrets_module(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(passphrase.secrets, "choice", lambda seq: calls.append(1) or seq[0])
    assert generate_passphrase(5) == "-".join([WORDS[0]] * 5)
    assert len(calls) == 5


def test_username_shape() -> None:
    for _ in range(50):
        name = generate_username()
        first, second, digits = name.split("-")
        assert first in WORDS and second in WORDS
        assert re.fullmatch(r"[0-9]{4}", digits)
    assert len({generate_username() for _ in range(200)}) == 200
