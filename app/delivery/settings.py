"""Delivery configuration: the SMTP relay, the text-message gateway and send rates.

Every value has an environment variable (`DeliverySettings.from_env`). The settings refuse
what would put a member's contact on the wire in the clear: plain SMTP and plain-http
gateways are allowed only on this machine (loopback), and credentials never travel
unencrypted to another host. Error messages name the variable, never its value, and
`repr()` shows no secret.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

SMTP_SECURITY = ("none", "starttls", "tls")
SMS_PROVIDERS = ("none", "twilio", "webhook")

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# An alphanumeric sender ID (UK networks accept these): up to 11 letters, digits, spaces.
ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
TWILIO_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
# A bare address for the From header: no display name, no spaces, no angle brackets.
SIMPLE_ADDRESS = re.compile(
    r"[^\s\x00-\x1f\x7f@<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")


def is_loopback_host(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: traffic that never leaves the machine."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _positive_finite(value: float) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def check_url(url: str, what: str) -> None:
    """Raise ValueError unless `url` is https, or http to a loopback host; never echo it."""
    if not isinstance(url, str) or not _HEADER_SAFE.fullmatch(url):
        raise ValueError(f"{what} must be a URL without spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValueError(f"{what} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{what} must not carry credentials in the URL; "
                         "use the token setting instead")
    if parts.fragment:
        raise ValueError(f"{what} must not have a #fragment")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ValueError(f"{what} must use https (plain http is allowed only to "
                         "127.0.0.1, ::1 or localhost)")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    security: str = "none"  # "none" | "starttls" | "tls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "alerts@uglymugs.invalid"
    timeout: float = 10.0
    # A CA bundle to trust instead of the system's (a relay with a private CA; tests).
    ca_file: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not _HEADER_SAFE.fullmatch(self.host):
            raise ValueError("the SMTP host (UGLYMUGS_SMTP_HOST) must be a host name or "
                             "address without spaces")
        if (not isinstance(self.port, int) or isinstance(self.port, bool)
                or not 1 <= self.port <= 65535):
            raise ValueError("the SMTP port (UGLYMUGS_SMTP_PORT) must be a whole number "
                             "from 1 to 65535")
        if self.security not in SMTP_SECURITY:
            raise ValueError("the SMTP security (UGLYMUGS_SMTP_SECURITY) must be one of: "
                             + ", ".join(SMTP_SECURITY))
        if (self.username is None) != (self.password is None):
            raise ValueError("the SMTP username (UGLYMUGS_SMTP_USERNAME) and password "
                             "(UGLYMUGS_SMTP_PASSWORD or UGLYMUGS_SMTP_PASSWORD_FILE) go "
                             "together: set both or neither")
        if self.username is not None and (not self.username or not self.password):
            raise ValueError("the SMTP username (UGLYMUGS_SMTP_USERNAME) and password "
                             "must not be empty")
        if self.security == "none" and not is_loopback_host(self.host):
            raise ValueError("plain SMTP sends members' addresses in the clear: set "
                             "UGLYMUGS_SMTP_SECURITY to starttls or tls, or relay through "
                             "an SMTP server on this machine (UGLYMUGS_SMTP_HOST=127.0.0.1)")
        if not isinstance(self.sender, str) or not SIMPLE_ADDRESS.fullmatch(self.sender):
            raise ValueError("the sender (UGLYMUGS_SMTP_SENDER) must be a plain email "
                             "address such as alerts@example.org")
        if not _positive_finite(self.timeout):
            raise ValueError("the SMTP timeout must be a positive number of seconds")
        if self.ca_file is not None and not self.ca_file:
            raise ValueError("the SMTP CA file (UGLYMUGS_SMTP_CA_FILE) must not be empty")


@dataclass(frozen=True)
class SmsSettings:
    provider: str = "none"  # "none" | "twilio" | "webhook"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_from: str | None = None
    twilio_base_url: str = "https://api.twilio.com"
    # A webhook URL may carry a key in its query string: kept out of repr().
    webhook_url: str | None = field(default=None, repr=False)
    webhook_token: str | None = field(default=None, repr=False)
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.provider not in SMS_PROVIDERS:
            raise ValueError("the text-message provider (UGLYMUGS_SMS_PROVIDER) must be "
                             "one of: " + ", ".join(SMS_PROVIDERS))
        if not _positive_finite(self.timeout):
            raise ValueError("the text-message timeout must be a positive number of seconds")
        check_url(self.twilio_base_url, "the Twilio base URL (UGLYMUGS_TWILIO_BASE_URL)")
        if self.provider == "twilio":
            if not self.twilio_account_sid or not TWILIO_ACCOUNT_SID.fullmatch(
                    self.twilio_account_sid):
                raise ValueError("the Twilio account SID (UGLYMUGS_TWILIO_ACCOUNT_SID) must "
                                 "be set: AC followed by 32 hexadecimal digits")
            if not self.twilio_auth_token or not _HEADER_SAFE.fullmatch(
                    self.twilio_auth_token):
                raise ValueError("the Twilio auth token (UGLYMUGS_TWILIO_AUTH_TOKEN) must be "
                                 "set, without spaces or control characters")
            if not self.twilio_from or not (E164.fullmatch(self.twilio_from)
                                            or ALPHANUMERIC_SENDER.fullmatch(self.twilio_from)):
                raise ValueError("the Twilio sender (UGLYMUGS_TWILIO_FROM) must be an E.164 "
                                 "number such as +447700900123 or an alphanumeric sender ID "
                                 "of at most 11 characters")
        if self.provider == "webhook" and not self.webhook_url:
            raise ValueError("the text-message webhook URL (UGLYMUGS_SMS_WEBHOOK_URL) "
                             "must be set")
        if self.webhook_url is not None:
            check_url(self.webhook_url, "the text-message webhook URL (UGLYMUGS_SMS_WEBHOOK_URL)")
        if self.webhook_token is not None and not _HEADER_SAFE.fullmatch(self.webhook_token):
            raise ValueError("the text-message webhook token (UGLYMUGS_SMS_WEBHOOK_TOKEN) "
                             "must not be empty or contain spaces or control characters")


LOOPBACK_RELAY_PER_SECOND = 1000.0
REMOTE_RELAY_PER_SECOND = 14.0


@dataclass(frozen=True)
class DeliverySettings:
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    # Sends a second to the SMTP relay; None: the relay's default (`email_rate`).
    email_per_second: float | None = None
    sms_per_second: float = 1.0
    # Off by default: a notice says only that there is a new alert, so a phone seen by
    # the wrong person gives nothing away.
    notice_includes_title: bool = False

    def __post_init__(self) -> None:
        if self.email_per_second is not None and not _positive_finite(self.email_per_second):
            raise ValueError("UGLYMUGS_EMAIL_PER_SECOND must be a positive number")
        if not _positive_finite(self.sms_per_second):
            raise ValueError("UGLYMUGS_SMS_PER_SECOND must be a positive number")
        if not isinstance(self.notice_includes_title, bool):
            raise ValueError("UGLYMUGS_NOTICE_INCLUDES_TITLE must be 1 or 0")

    @property
    def email_rate(self) -> float:
        """Sends a second to the relay: UGLYMUGS_EMAIL_PER_SECOND, else the relay's default.

        A relay on this machine (Postfix, say: the recommended set-up) takes mail into its
        own queue and paces delivery onwards itself, so it gets LOOPBACK_RELAY_PER_SECOND.
        A hosted relay enforces a sending quota and answers 4xx past it, so a remote relay
        gets REMOTE_RELAY_PER_SECOND, the smallest common quota (Amazon SES's default for
        a production account); raise it to what your provider allows.
        """
        if self.email_per_second is not None:
            return self.email_per_second
        if is_loopback_host(self.smtp.host):
            return LOOPBACK_RELAY_PER_SECOND
        return REMOTE_RELAY_PER_SECOND

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DeliverySettings:
        """Read UGLYMUGS_SMTP_*, UGLYMUGS_SMS_*, UGLYMUGS_TWILIO_* and the rates.

        An unset or empty variable keeps the default. A bad value raises ValueError
        naming the variable (never repeating a value).
        """
        env = os.environ if environ is None else environ

        def text(name: str) -> str | None:
            value = env.get(name)
            if value is None or not value.strip():
                return None
            return value.strip()

        smtp: dict[str, object] = {}
        if (host := text("UGLYMUGS_SMTP_HOST")) is not None:
            smtp["host"] = host
        if (port := text("UGLYMUGS_SMTP_PORT")) is not None:
            smtp["port"] = _whole_number(port, "UGLYMUGS_SMTP_PORT")
        if (security := text("UGLYMUGS_SMTP_SECURITY")) is not None:
            smtp["security"] = security.lower()
            if "port" not in smtp:
                # The usual ports: 465 for implicit TLS, 587 for STARTTLS submission.
                smtp["port"] = {"tls": 465, "starttls": 587}.get(security.lower(), 25)
        if (username := text("UGLYMUGS_SMTP_USERNAME")) is not None:
            smtp["username"] = username
        password = env.get("UGLYMUGS_SMTP_PASSWORD") or None
        password_file = text("UGLYMUGS_SMTP_PASSWORD_FILE")
        if password is not None and password_file is not None:
            raise ValueError("set UGLYMUGS_SMTP_PASSWORD or UGLYMUGS_SMTP_PASSWORD_FILE, "
                             "not both")
        if password_file is not None:
            password = _read_secret_file(password_file, "UGLYMUGS_SMTP_PASSWORD_FILE")
        if password is not None:
            smtp["password"] = password
        if (sender := text("UGLYMUGS_SMTP_SENDER")) is not None:
            smtp["sender"] = sender
        if (ca_file := text("UGLYMUGS_SMTP_CA_FILE")) is not None:
            if not Path(ca_file).is_file():
                raise ValueError("UGLYMUGS_SMTP_CA_FILE must name a readable file")
            smtp["ca_file"] = ca_file

        sms: dict[str, object] = {}
        if (provider := text("UGLYMUGS_SMS_PROVIDER")) is not None:
            sms["provider"] = provider.lower()
        for name, key in (("UGLYMUGS_TWILIO_ACCOUNT_SID", "twilio_account_sid"),
                          ("UGLYMUGS_TWILIO_AUTH_TOKEN", "twilio_auth_token"),
                          ("UGLYMUGS_TWILIO_FROM", "twilio_from"),
                          ("UGLYMUGS_TWILIO_BASE_URL", "twilio_base_url"),
                          ("UGLYMUGS_SMS_WEBHOOK_URL", "webhook_url"),
                          ("UGLYMUGS_SMS_WEBHOOK_TOKEN", "webhook_token")):
            if (value := text(name)) is not None:
                sms[key] = value

        delivery: dict[str, object] = {}
        if (rate := text("UGLYMUGS_EMAIL_PER_SECOND")) is not None:
            delivery["email_per_second"] = _positive_number(rate, "UGLYMUGS_EMAIL_PER_SECOND")
        if (rate := text("UGLYMUGS_SMS_PER_SECOND")) is not None:
            delivery["sms_per_second"] = _positive_number(rate, "UGLYMUGS_SMS_PER_SECOND")
        flag = text("UGLYMUGS_NOTICE_INCLUDES_TITLE")
        if flag is not None:
            if flag not in ("0", "1"):
                raise ValueError("UGLYMUGS_NOTICE_INCLUDES_TITLE must be 1 or 0")
            delivery["notice_includes_title"] = flag == "1"

        return cls(smtp=SmtpSettings(**smtp),  # type: ignore[arg-type]
                   sms=SmsSettings(**sms),  # type: ignore[arg-type]
                   **delivery)  # type: ignore[arg-type]


def _whole_number(value: str, name: str) -> int:
    if not value.isascii() or not value.isdigit():
        raise ValueError(f"{name} must be a whole number")
    return int(value)


def _positive_number(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a positive number") from None
    if not _positive_finite(number):
        raise ValueError(f"{name} must be a positive number")
    return number


def _read_secret_file(path: str, name: str) -> str:
    try:
        secret = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise ValueError(f"{name} must name a readable UTF-8 text file") from None
    if not secret:
        raise ValueError(f"{name} names an empty file")
    return secret
