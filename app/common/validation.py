"""Checking what an applicant typed: one function per kind of value, no Flask request.

Each check returns the cleaned value or raises `Invalid` with a message fit to show next
to the field. Messages never quote the value back (the form re-shows what was typed, and
a message may end up somewhere a form field would not).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from crypto import normalise
from crypto.errors import NormalisationError

T = TypeVar("T")

MAX_NAME_CHARS = 100
MAX_EMAIL_CHARS = 254
MAX_PHONE_CHARS = 32
MAX_WEBSITE_CHARS = 300
MAX_DESCRIPTION_CHARS = 2000

# Control, invisible-formatting (e.g. U+202E, which reverses how text displays) and
# surrogate characters are refused everywhere; line and paragraph separators too, except
# that a multi-line field keeps its ordinary line breaks.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class Refusal(Exception):
    """Something a service will not do; `message` (a lazy string) says why, for the page.

    str() of it is only `summary`: a refusal may reach a log line, and its words may quote
    or describe what someone typed, so they go to the page and nowhere else.
    """

    summary = "refused"

    def __init__(self, message: object) -> None:
        super().__init__(self.summary)
        self.message = message


class Invalid(Refusal, ValueError):
    """A value that cannot be used; `message` (a lazy string) says why."""

    summary = "invalid value"


class Problems(dict[str, object]):
    """One message per field name, so a form shows every problem at once, in one pass."""

    def check(self, name: str, check: Callable[..., T], *args: object,
              **kwargs: object) -> T | None:
        """check(*args, **kwargs), or None with its message kept under `name`."""
        try:
            return check(*args, **kwargs)
        except Invalid as invalid:
            self.setdefault(name, invalid.message)
            return None

    def add(self, name: str, message: object) -> None:
        self.setdefault(name, message)


def _has_forbidden(text: str) -> bool:
    return any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in text)


def _as_text(raw: object) -> str:
    return raw if isinstance(raw, str) else ""


def single_line(raw: object, *, max_chars: int, required_message: object | None = None) -> str:
    """Trimmed one-line text; "" when empty and not required."""
    text = _as_text(raw).strip()
    if not text:
        if required_message is not None:
            raise Invalid(required_message)
        return ""
    if _has_forbidden(text):
        raise Invalid(_l("Keep this to one line of ordinary text: remove line breaks and "
                         "invisible or control characters."))
    if len(text) > max_chars:
        raise Invalid(_l("Use at most %(count)d characters.", count=max_chars))
    return text


def multi_line(raw: object, *, max_chars: int, required_message: object) -> str:
    """Trimmed text that may hold line breaks (stored as "\\n"), and no other control."""
    text = _as_text(raw).replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise Invalid(required_message)
    if _has_forbidden(text.replace("\n", "")):
        raise Invalid(_l("Remove the invisible or control characters from this text."))
    if len(text) > max_chars:
        raise Invalid(_l("Use at most %(count)d characters.", count=max_chars))
    return text


@dataclass(frozen=True)
class Email:
    address: str  # as typed, trimmed
    ascii_domain: str  # lower case, internationalised names in their xn-- form


_EMAIL_MESSAGE = _l("Enter an email address like name@example.org.")


def email(raw: object) -> Email | None:
    """A usable email address, or None when the field was left empty."""
    text = _as_text(raw).strip()
    if not text:
        return None
    if _has_forbidden(text) or any(ch.isspace() for ch in text):
        raise Invalid(_EMAIL_MESSAGE)
    if len(text) > MAX_EMAIL_CHARS:
        raise Invalid(_l("Use at most %(count)d characters.", count=MAX_EMAIL_CHARS))
    try:
        # Syntax only: no DNS lookup, so applying makes no network request.
        checked = validate_email(text, check_deliverability=False)
        # The blind indexes need both normal forms; a value they refuse cannot be stored.
        normalise.canonical_email(text)
    except (EmailNotValidError, NormalisationError):
        raise Invalid(_EMAIL_MESSAGE) from None
    return Email(address=text, ascii_domain=checked.ascii_domain.lower())


_PHONE_MESSAGE = _l("Enter a mobile number with its area code, like 07700 900123, or with "
                    "its country code, like +353 85 123 4567.")
_NOT_A_MOBILE = frozenset({
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
})


def mobile(raw: object) -> str | None:
    """The E.164 form of a mobile number (UK first), or None when left empty."""
    text = _as_text(raw).strip()
    if not text:
        return None
    if _has_forbidden(text) or len(text) > MAX_PHONE_CHARS:
        raise Invalid(_PHONE_MESSAGE)
    try:
        e164 = normalise.normalise_phone(text)
    except NormalisationError:
        raise Invalid(_PHONE_MESSAGE) from None
    # The normaliser accepts any possible number; one we know to be a landline or a
    # service number cannot receive text alerts, so it is not what this field is for.
    number = phonenumbers.parse(e164)
    if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _NOT_A_MOBILE:
        raise Invalid(_l("That looks like a landline or service number. Give a mobile "
                         "number, or leave this empty."))
    return e164


@dataclass(frozen=True)
class Website:
    url: str  # as typed, trimmed, with "https://" added when no scheme was given
    ascii_host: str  # lower case, no trailing dot, internationalised names as xn--


_WEBSITE_MESSAGE = _l("Enter the full address of your website, like https://www.example.org.")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _ascii_domain(name: str) -> str | None:
    """The lower-case ASCII form of a host name, or None if it is not one."""
    name = name.lower().removesuffix(".")
    try:
        ascii_name = name.encode("idna").decode("ascii") if not name.isascii() else name
    except UnicodeError:
        return None
    labels = ascii_name.split(".")
    if len(labels) < 2 or len(ascii_name) > 253:
        return None
    if not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        return None  # also refuses IP addresses: an organisation's site has a name
    return ascii_name


def website(raw: object) -> Website:
    text = single_line(raw, max_chars=MAX_WEBSITE_CHARS,
                       required_message=_l("Enter your organisation's website address."))
    if any(ch.isspace() for ch in text):
        raise Invalid(_WEBSITE_MESSAGE)
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise Invalid(_WEBSITE_MESSAGE) from None
    if parts.scheme.lower() != "https":
        raise Invalid(_l("Use your website's secure address, starting https://."))
    if parts.username is not None or parts.password is not None or port not in (None, 443):
        raise Invalid(_WEBSITE_MESSAGE)
    host = _ascii_domain(parts.hostname or "")
    if host is None:
        raise Invalid(_WEBSITE_MESSAGE)
    return Website(url=text, ascii_host=host)


# Free email providers: an address there says nothing about who runs a website.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk",
    "live.com", "live.co.uk", "msn.com", "yahoo.com", "yahoo.co.uk", "ymail.com",
    "icloud.com", "me.com", "mac.com", "aol.com", "aol.co.uk", "proton.me",
    "protonmail.com", "pm.me", "gmx.com", "gmx.co.uk", "mail.com", "yandex.com",
    "zoho.com", "tutanota.com", "tuta.io", "btinternet.com", "sky.com",
    "virginmedia.com", "talktalk.net", "eircom.net",
})
# Registry suffixes that are not anyone's own domain, so never "a parent of" a site.
SHARED_SUFFIXES = frozenset({
    "co.uk", "org.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "sch.uk", "ac.uk",
    "gov.uk", "nhs.uk", "police.uk", "com.au", "org.au", "co.nz", "org.nz",
})


def email_belongs_to_website(email_domain: str, site_host: str) -> bool:
    """True when the email's domain is the site's host (less a leading "www.") or a parent.

    https://www.example.org with info@example.org is fine; so is
    https://outreach.example.org with info@example.org; gmail.com never is.
    """
    if email_domain in FREE_MAIL_DOMAINS or email_domain in SHARED_SUFFIXES:
        return False
    if "." not in email_domain:
        return False
    site = site_host.removeprefix("www.")
    return site == email_domain or site.endswith("." + email_domain)


# A decision's optional note (sealed: app/vault/decision_notes.py).
MAX_DECISION_NOTE_CHARS = 2000


class DecisionRefused(Refusal):
    """An irreversible step refused before anything changed: no confirmation, a reason not
    from the list, or a note that cannot be kept; `message` says which."""

    summary = "decision refused before any change"


def decision_inputs(reason: object, allowed: Iterable[str], note: object, *,
                    confirmed: bool) -> tuple[str, str | None]:
    """The checked (reason code, note or None) of an irreversible step, or DecisionRefused.

    Checked by the service, not only by the form, so no caller (a test, a command, a page
    that forgot) can take the step without a confirmation and a listed reason.
    """
    if not confirmed:
        raise DecisionRefused(_l("Tick the box to confirm. Nothing has been changed."))
    if not isinstance(reason, str) or reason not in set(allowed):
        raise DecisionRefused(_l("Choose a reason from the list. Nothing has been changed."))
    if not _as_text(note).strip():
        return reason, None
    try:
        text = multi_line(note, max_chars=MAX_DECISION_NOTE_CHARS, required_message="")
    except Invalid as invalid:
        raise DecisionRefused(invalid.message) from None
    return reason, text
