"""Normalisers: one spelling per value, clear refusals, idempotent."""

from __future__ import annotations

import unicodedata

import pytest
from crypto_testkit import CHEAP
from hypothesis import given
from hypothesis import strategies as st

from crypto.errors import CryptoError, NormalisationError
from crypto.normalise import (
    canonical_email,
    normalise_email,
    normalise_handle,
    normalise_phone,
    normalise_plate,
)

# --- phone numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "07700 900123",
        "+44 7700 900123",
        "0044 7700 900123",
        "+447700900123",
        "(07700) 900-123",
        " 07700900123 ",
        "+44 (0) 7700 900123",
    ],
)
def test_uk_mobile_spellings_agree(raw: str) -> None:
    assert normalise_phone(raw) == "+447700900123"


def test_international_numbers_and_other_regions() -> None:
    assert normalise_phone("+1 650 253 0000") == "+16502530000"
    assert normalise_phone("650 253 0000", default_region="US") == "+16502530000"
    assert normalise_phone("020 7946 0000") == "+442079460000"


@pytest.mark.parametrize(
    "raw", ["", "   ", "12", "abc", "+44", "not a number", "0" * 300, "+44 1", None, 447700900123]
)
def test_impossible_phone_numbers_are_refused_clearly(raw: object) -> None:
    with pytest.raises(NormalisationError) as excinfo:
        normalise_phone(raw)  # type: ignore[arg-type]
    assert str(excinfo.value) == "That is not a possible phone number."
    assert isinstance(excinfo.value, ValueError) and isinstance(excinfo.value, CryptoError)


@pytest.mark.parametrize("raw", ["+44 7700", "7946 0000"])
def test_local_only_phone_numbers_are_refused(raw: str) -> None:
    with pytest.raises(NormalisationError, match="include the area code"):
        normalise_phone(raw)


def test_phone_whose_e164_form_would_renormalise_is_refused() -> None:
    # libphonenumber strips a national prefix from "+595 0 03928464" and would strip
    # another from the result; indexing it would give one number two spellings.
    with pytest.raises(NormalisationError):
        normalise_phone("+595003928464")


phone_text = st.one_of(
    st.text(alphabet="0123456789+ ()-.", min_size=1, max_size=20),
    st.builds(lambda d: "07" + d, st.text(alphabet="0123456789 ", min_size=8, max_size=12)),
    st.builds(lambda d: "+" + d, st.text(alphabet="0123456789", min_size=6, max_size=15)),
)


@CHEAP
@given(phone_text)
def test_phone_normalisation_is_idempotent(raw: str) -> None:
    try:
        once = normalise_phone(raw)
    except NormalisationError:
        return
    assert normalise_phone(once) == once
    assert once.startswith("+") and once[1:].isdigit()


# --- email ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Foo@Example.ORG", "foo@example.org"),
        ("  foo@example.org\n", "foo@example.org"),
        ("STRASSE@EXAMPLE.DE", "strasse@example.de"),
        ("Straße@example.de", "strasse@example.de"),
        ("e\u0301lodie@example.fr", "\u00e9lodie@example.fr"),
        ("Foo.Bar+x@gmail.com", "foo.bar+x@gmail.com"),
    ],
)
def test_email_normalisation(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "foo",
        "@example.org",
        "foo@",
        "a@b@c",
        "foo bar@example.org",
        "foo@exa\tmple.org",
        "foo\u200b@example.org",
        "x" * 400 + "@example.org",
        None,
    ],
)
def test_bad_email_is_refused_clearly(raw: object) -> None:
    with pytest.raises(NormalisationError, match=r"^That is not an email address\.$"):
        normalise_email(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Foo.Bar+x@gmail.com", "foobar@gmail.com"),
        ("foobar@googlemail.com", "foobar@gmail.com"),
        ("f.o.o.b.a.r+one+two@GoogleMail.com", "foobar@gmail.com"),
        ("first.last+news@example.org", "first.last@example.org"),
        ("+only@example.org", "+only@example.org"),
        ("...+x@gmail.com", "...+x@gmail.com"),
    ],
)
def test_canonical_email(raw: str, expected: str) -> None:
    assert canonical_email(raw) == expected


def test_gmail_variants_are_equal() -> None:
    assert canonical_email("Foo.Bar+x@gmail.com") == canonical_email("foobar@googlemail.com")


email_text = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.text(min_size=0, max_size=20),
    st.text(min_size=0, max_size=20),
) | st.text(max_size=30)


@CHEAP
@given(email_text)
def test_email_normalisers_are_idempotent(raw: str) -> None:
    try:
        once = normalise_email(raw)
    except NormalisationError:
        return
    assert normalise_email(once) == once
    assert unicodedata.is_normalized("NFC", once)
    canonical = canonical_email(raw)
    assert canonical_email(canonical) == canonical
    assert canonical_email(once) == canonical


# --- number plates --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ab12 cde", "AB12CDE"),
        ("AB12CDE", "AB12CDE"),
        (" ab-12.cde ", "AB12CDE"),
        ("\uff21\uff22\uff11\uff12 CDE", "AB12CDE"),  # full-width letters and digits
        ("k 1", "K1"),
    ],
)
def test_plate_normalisation(raw: str, expected: str) -> None:
    assert normalise_plate(raw) == expected


@pytest.mark.parametrize("raw", ["", "  ", "--", "AB12 CDÉ", "AB£12", "\uff21\uff22\u0000", None])
def test_bad_plates_are_refused_clearly(raw: object) -> None:
    with pytest.raises(NormalisationError, match="vehicle registration"):
        normalise_plate(raw)  # type: ignore[arg-type]


@CHEAP
@given(st.text(max_size=20))
def test_plate_normalisation_is_idempotent(raw: str) -> None:
    try:
        once = normalise_plate(raw)
    except NormalisationError:
        return
    assert normalise_plate(once) == once
    assert once.isascii() and once.isalnum() and once == once.upper()


# --- handles --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@SomeOne", "someone"),
        ("  @@SomeOne ", "someone"),
        ("@ SomeOne", "someone"),
        ("Some One", "some one"),
        ("ÉLODIE", "élodie"),
    ],
)
def test_handle_normalisation(raw: str, expected: str) -> None:
    assert normalise_handle(raw) == expected


@pytest.mark.parametrize("raw", ["", "@", " @ @ ", "tab\there", "zero\u200bwidth", None])
def test_bad_handles_are_refused_clearly(raw: object) -> None:
    with pytest.raises(NormalisationError, match=r"^That is not a username\.$"):
        normalise_handle(raw)  # type: ignore[arg-type]


@CHEAP
@given(st.text(max_size=20))
def test_handle_normalisation_is_idempotent(raw: str) -> None:
    try:
        once = normalise_handle(raw)
    except NormalisationError:
        return
    assert normalise_handle(once) == once
    assert not once.startswith("@") and once == once.strip()
