"""Blind indexes: equal spellings match; everything else stays apart."""

from __future__ import annotations

import hashlib
import os

import pytest
from crypto_testkit import CHEAP
from hypothesis import given
from hypothesis import strategies as st

from crypto.blind_index import BlindIndexer
from crypto.normalise import canonical_email, normalise_email, normalise_phone, normalise_plate

ROOT = bytes(range(1, 33))


@pytest.fixture
def indexer() -> BlindIndexer:
    return BlindIndexer(ROOT)


def test_equal_spellings_give_equal_indexes(indexer: BlindIndexer) -> None:
    phones = {
        indexer.compute("offenders", "phone", "exact", normalise_phone(raw))
        for raw in ("07700 900123", "+44 7700 900123", "0044 7700 900123", "(07700) 900-123")
    }
    assert len(phones) == 1
    emails = {
        indexer.compute("offenders", "email", "canonical", canonical_email(raw))
        for raw in ("Foo.Bar+x@gmail.com", "foobar@googlemail.com", " FOOBAR@GMAIL.COM ")
    }
    assert len(emails) == 1
    plates = {
        indexer.compute("offenders", "plate", "exact", normalise_plate(raw))
        for raw in ("ab12 cde", "AB12CDE", "AB12-CDE")
    }
    assert len(plates) == 1


def test_exact_email_index_keeps_provider_variants_apart(indexer: BlindIndexer) -> None:
    first = indexer.compute("m", "email", "exact", normalise_email("Foo.Bar+x@gmail.com"))
    second = indexer.compute("m", "email", "exact", normalise_email("foobar@googlemail.com"))
    assert first != second


def test_each_table_field_index_has_its_own_subkey(indexer: BlindIndexer) -> None:
    triples = [
        ("members", "email", "exact"),
        ("members", "email", "canonical"),
        ("members", "phone", "exact"),
        ("offenders", "email", "exact"),
        ("offenders", "phone", "exact"),
        ("offender", "sphone", "exact"),  # ambiguous if fields were simply concatenated
        ("offenders", "p", "honeexact"),
    ]
    subkeys = {indexer.subkey(*t) for t in triples}
    assert len(subkeys) == len(triples)
    values = {indexer.compute(*t, "+447700900123") for t in triples}
    assert len(values) == len(triples)
    assert all(len(k) == 32 for k in subkeys)


def test_subkey_is_stable(indexer: BlindIndexer) -> None:
    assert indexer.subkey("a", "b", "c") == BlindIndexer(ROOT).subkey("a", "b", "c")


def test_different_root_keys_give_different_indexes() -> None:
    value = "+447700900123"
    one = BlindIndexer(ROOT).compute("m", "phone", "exact", value)
    two = BlindIndexer(os.urandom(32)).compute("m", "phone", "exact", value)
    assert one != two
    assert BlindIndexer(ROOT).subkey("m", "phone", "exact") != BlindIndexer(os.urandom(32)).subkey(
        "m", "phone", "exact"
    )


def test_index_is_not_a_plain_hash_of_the_value(indexer: BlindIndexer) -> None:
    value = "+447700900123"
    index = indexer.compute("m", "phone", "exact", value)
    assert index != hashlib.blake2b(value.encode()).digest()[:32]
    assert index != hashlib.sha256(value.encode()).digest()


@CHEAP
@given(bits=st.integers(1, 256), value=st.text(min_size=1, max_size=40))
def test_truncation_keeps_the_leading_bits_and_zeroes_the_rest(bits: int, value: str) -> None:
    indexer = BlindIndexer(ROOT)
    full = indexer.compute("members", "phone", "truncated", value)
    short = indexer.compute("members", "phone", "truncated", value, bits=bits)
    assert len(short) == (bits + 7) // 8
    as_int = int.from_bytes(short, "big")
    spare = len(short) * 8 - bits
    assert as_int & ((1 << spare) - 1) == 0
    assert as_int >> spare == int.from_bytes(full, "big") >> (256 - bits)


def test_truncation_examples(indexer: BlindIndexer) -> None:
    full = indexer.compute("m", "p", "t", "x")
    assert indexer.compute("m", "p", "t", "x", bits=16) == full[:2]
    twelve = indexer.compute("m", "p", "t", "x", bits=12)
    assert twelve == bytes([full[0], full[1] & 0xF0])
    assert indexer.compute("m", "p", "t", "x", bits=256) == full


@pytest.mark.parametrize("bits", [0, -1, 257, True, 8.0])
def test_bad_truncation_lengths_are_refused(indexer: BlindIndexer, bits: object) -> None:
    with pytest.raises(ValueError):
        indexer.compute("m", "p", "t", "x", bits=bits)  # type: ignore[arg-type]


def test_bad_keys_and_names_are_refused(indexer: BlindIndexer) -> None:
    for key in (b"", bytes(31), bytes(33), bytes(32), "a" * 32):
        with pytest.raises(ValueError):
            BlindIndexer(key)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        indexer.subkey("", "b", "c")
    with pytest.raises(ValueError):
        indexer.compute("a", "b", "c", "")


def test_repr_hides_the_root_key(indexer: BlindIndexer) -> None:
    text = repr(indexer) + str(indexer)
    assert ROOT.hex() not in text and repr(ROOT) not in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(indexer)


def test_known_answer() -> None:
    # Stored indexes depend on this exact derivation: changing it silently orphans them.
    indexer = BlindIndexer(ROOT)
    assert indexer.subkey("members", "phone", "exact").hex() == (
        "d515d40d1e5de43a784090e51534d4a8d40e2e14dff9fd5c4e1d39b9de7ca8ee"
    )
    assert indexer.compute("members", "phone", "exact", "+447700900123").hex() == (
        "29812c2f28546b313ddcdeabf9f5b88c321354a786e8aacdb06d37f00129ce4f"
    )
