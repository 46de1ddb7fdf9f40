"""Normalisers: one spelling per value, so that blind indexes match what people mean.

A blind index only finds equal *bytes*; "07700 900123" and "+44 7700 900123" must
therefore become the same string before they are hashed. Every normaliser here is
idempotent (normalising an already-normalised value changes nothing), raises
:class:`~crypto.errors.NormalisationError` with a message fit to show the person who
typed the value, and never guesses: input it cannot interpret is refused, not altered.
"""

from __future__ import annotations

import unicodedata

import phonenumbers

from .errors import NormalisationError

_MAX_INPUT = 320  # longer than any real email address, phone number, plate or handle

_PHONE_ERROR = "That is not a possible phone number."
_PHONE_LOCAL_ERROR = "That is not a complete phone number: include the area code."
_EMAIL_ERROR = "That is not an email address."
_PLATE_ERROR = "That is not a vehicle registration: use letters A to Z and digits only."
_HANDLE_ERROR = "That is not a username."

_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def _text(raw: object, message: str) -> str:
    if not isinstance(raw, str):
        raise NormalisationError(message)
    if len(raw) > _MAX_INPUT:
        raise NormalisationError(message)
    return raw


def _fold(text: str) -> str:
    """Caseless form for matching: NFC(casefold(NFD(text))).

    Case folding can leave text unnormalised (e.g. it decomposes U+01F0), so normalising
    before *and* after is what makes the result stable under repetition; this follows
    Unicode's definition of canonical caseless matching, recomposed for storage.
    """
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", text).casefold())


def _has_space_or_control(text: str) -> bool:
    return any(
        ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in text
    )


def _e164(raw: str, region: str) -> str:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise NormalisationError(_PHONE_ERROR) from None
    if not phonenumbers.is_possible_number(number):
        raise NormalisationError(_PHONE_ERROR)
    # "Possible" includes numbers only diallable locally (a UK landline without its area
    # code). Their E.164 form would be wrong, and the same line could be stored two ways.
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise NormalisationError(_PHONE_LOCAL_ERROR)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_phone(raw: str, default_region: str = "GB") -> str:
    """Return the E.164 form ("+447700900123") of a phone number.

    National numbers are read as ``default_region`` numbers; "00" and "+" international
    forms are understood. Extensions are dropped (E.164 has none). Numbers that
    libphonenumber calls possible only for local dialling (no area code) are refused,
    since their E.164 form would be a guess; so is a number whose E.164 form would itself
    normalise differently, rather than being indexed two ways.
    """
    text = _text(raw, _PHONE_ERROR).strip()
    if not text:
        raise NormalisationError(_PHONE_ERROR)
    result = _e164(text, default_region)
    # libphonenumber strips national prefixes heuristically; on rare inputs the E.164
    # output would be parsed again into a different number. Refusing those keeps the
    # index consistent (every stored form is a fixed point).
    if _e164(result, default_region) != result:
        raise NormalisationError(_PHONE_ERROR)
    return result


def normalise_email(raw: str) -> str:
    """Return an email address trimmed, NFC-normalised and case-folded.

    Case-folding the local part is technically lossy (RFC 5321 lets it be case
    sensitive) but no real provider treats "Foo" and "foo" as different mailboxes, and a
    missed match is the worse failure for a safety check. Requires exactly one "@" with
    something on both sides and no spaces or control characters.
    """
    text = _fold(unicodedata.normalize("NFC", _text(raw, _EMAIL_ERROR)).strip())
    local, at, domain = text.partition("@")
    if not at or not local or not domain or "@" in domain:
        raise NormalisationError(_EMAIL_ERROR)
    if _has_space_or_control(text):
        raise NormalisationError(_EMAIL_ERROR)
    return text


def canonical_email(raw: str) -> str:
    """Return the provider-canonical form of an email address, for the second index.

    Many addresses deliver to the same mailbox; someone avoiding detection can hand out
    each variant. Rules:

    * every domain: drop a "+tag" suffix of the local part (plus-addressing is supported
      by Gmail, Outlook, iCloud, Fastmail, Proton and most self-hosted mail);
    * gmail.com and googlemail.com: also drop every "." in the local part, and use
      gmail.com as the domain (Google treats all of these as one mailbox).

    If a rule would leave the local part empty (e.g. "+x@example.org"), the normalised
    local part is kept unchanged rather than inventing a mailbox.
    """
    local, _, domain = normalise_email(raw).partition("@")
    candidate = local.split("+", 1)[0]
    if domain in _GMAIL_DOMAINS:
        candidate = candidate.replace(".", "")
        domain = "gmail.com"
    if candidate:
        local = candidate
    return f"{local}@{domain}"


def normalise_plate(raw: str) -> str:
    """Return a vehicle registration as upper-case ASCII letters and digits ("AB12CDE").

    Spaces, hyphens, dots and other punctuation are separators and are removed; full-width
    or otherwise compatibility-equivalent letters are folded to ASCII (NFKC). Any other
    character (say an accented letter) is refused rather than silently dropped, because
    dropping it would make a different plate match.
    """
    text = unicodedata.normalize("NFKC", _text(raw, _PLATE_ERROR))
    kept = []
    for ch in text:
        if ch.isascii() and ch.isalnum():
            kept.append(ch.upper())
        elif ch.isspace() or unicodedata.category(ch).startswith("P"):
            continue
        else:
            raise NormalisationError(_PLATE_ERROR)
    if not kept:
        raise NormalisationError(_PLATE_ERROR)
    return "".join(kept)


def normalise_handle(raw: str) -> str:
    """Return an online username trimmed, without leading "@", NFC-normalised and folded.

    Handles are shown to people with and without "@" ("@someone" on one site,
    "someone" on another), so the prefix carries no meaning for matching.
    """
    text = unicodedata.normalize("NFC", _text(raw, _HANDLE_ERROR))
    while True:
        trimmed = text.strip().lstrip("@")
        if trimmed == text:
            break
        text = trimmed
    text = _fold(text)
    # Inner spaces are allowed (some sites use display names); tabs, line breaks,
    # invisible formatting characters and the like are not.
    if not text or _has_space_or_control(text.replace(" ", "")):
        raise NormalisationError(_HANDLE_ERROR)
    return text


_LINK_ERROR = "That is not a web address."
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_link(raw: str) -> str:
    """One spelling for an advert or profile link.

    Scheme and host are case-folded, "www." and a default port dropped, the fragment
    dropped, and a trailing "/" removed; the path and query are kept as typed, because
    sites treat their case as meaningful. http and https give the same value: the same
    advert is reachable by both.
    """
    from urllib.parse import urlsplit

    text = _text(raw, _LINK_ERROR).strip()
    if _has_space_or_control(text):
        raise NormalisationError(_LINK_ERROR)
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise NormalisationError(_LINK_ERROR) from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or "." not in host:
        raise NormalisationError(_LINK_ERROR)
    host = _fold(host).removeprefix("www.")
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{host}{path}{query}"
