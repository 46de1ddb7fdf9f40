"""Email notices over a real SMTP relay: plain (loopback only), STARTTLS or implicit TLS.

Each notice carries a Message-ID made from its idempotency key, so a re-send after a crash
is the same message to mail systems that drop duplicates by Message-ID.

Failures become `DeliveryError`. Permanent: the relay refused the recipient or the message
with a 5xx code, or the address cannot be sent at all. Temporary: every 4xx, connection
refused, timeouts, TLS failures, a refused login, a relay without STARTTLS when STARTTLS
is configured (there is never a fall-back to plain text). A configuration mistake is
retried rather than dropped, so fixing it delivers the notices that were waiting.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from types import TracebackType

from app.delivery.message import DeliveryError, Notice
from app.delivery.settings import SmtpSettings, is_loopback_host

_KEY_SAFE = re.compile(r"[A-Za-z0-9_-]")
_MAX_ID_LEFT = 128
_BAD_ADDRESS_CHARS = re.compile(r"[\s\x00-\x1f\x7f<>()\[\],;:\"\\]")


def message_id_for(idempotency_key: str, sender: str) -> str:
    """`<key@sender-domain>`, the same for the same key; the key made header-safe.

    Letters, digits, `_` and `-` stay as they are; every other character becomes `=XX`
    per UTF-8 byte (so different keys give different ids). A very long key is replaced by
    `h.` and its SHA-256, which the escaping can never produce.
    """
    if not idempotency_key:
        raise ValueError("a notice needs an idempotency key")
    left = "".join(
        ch if _KEY_SAFE.fullmatch(ch) else "".join(f"={b:02X}" for b in ch.encode("utf-8"))
        for ch in idempotency_key
    )
    if len(left) > _MAX_ID_LEFT:
        left = "h." + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()
    domain = sender.rpartition("@")[2].lower()
    return f"<{left}@{domain}>"


def _recipient(to: str) -> str | None:
    """The address to put on the envelope (IDN domain in ASCII), or None if unusable."""
    if not isinstance(to, str) or len(to) > 320 or _BAD_ADDRESS_CHARS.search(to):
        return None
    local, at, domain = to.rpartition("@")
    if not at or not local or not domain or "@" in local or len(local) > 64:
        return None
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return None
    return f"{local}@{domain}"


def build_message(settings: SmtpSettings, notice: Notice) -> EmailMessage:
    """The email for a notice. Raises ValueError (whose text may hold the address:
    callers turn it into a DeliveryError without chaining it) for an unusable address."""
    recipient = _recipient(notice.to)
    if recipient is None:
        raise ValueError("unusable address")
    message = EmailMessage()
    message["From"] = Address(addr_spec=settings.sender)
    local, _, domain = recipient.rpartition("@")
    # Built from parts: parsing an addr_spec refuses a non-ASCII local part outright,
    # while SMTPUTF8 relays take it (send_message asks for SMTPUTF8 when needed).
    message["To"] = Address(username=local, domain=domain)
    # One line, whatever the caller passed: a subject never spans headers.
    message["Subject"] = " ".join(notice.subject.split())
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id_for(notice.idempotency_key, settings.sender)
    # Asks mail systems not to send vacation or other automatic replies back to us.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(notice.body)
    return message


def _plain_ascii(text: str) -> bool:
    return text.isascii() and "\r" not in text and "\x00" not in text


def fast_message_bytes(settings: SmtpSettings, notice: Notice, recipient: str) -> bytes | None:
    """The same email as `build_message`, written directly, when everything is ASCII.

    email.headerregistry parses and re-folds every header, which was a quarter of a
    fan-out's time. Notices are short fixed texts to checked addresses, so the common
    case needs no encoding at all; anything else (a non-ASCII address, subject or body, a
    long line) returns None and goes through `build_message`.
    """
    subject = " ".join(notice.subject.split())
    body = notice.body
    if not (_plain_ascii(settings.sender) and recipient.isascii() and subject.isascii()
            and _plain_ascii(body)):
        return None
    lines = body.split("\n")
    if any(len(line) > 998 for line in lines) or len(subject) > 900:
        return None
    headers = (
        f"From: {settings.sender}\r\n"
        f"To: {recipient}\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {formatdate(usegmt=True)}\r\n"
        f"Message-ID: {message_id_for(notice.idempotency_key, settings.sender)}\r\n"
        "Auto-Submitted: auto-generated\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: 7bit\r\n"
        "MIME-Version: 1.0\r\n\r\n")
    text = "\r\n".join(lines)
    return (headers + text + ("" if text.endswith("\r\n") else "\r\n")).encode("ascii")


def _classify(exc: BaseException) -> DeliveryError:
    """Map an smtplib/socket failure to a DeliveryError that holds no server text."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [reply[0] for reply in exc.recipients.values()
                 if isinstance(reply, tuple) and reply and isinstance(reply[0], int)]
        code = codes[0] if codes else None
        if code is not None and 500 <= code < 600:
            return DeliveryError("recipient refused", permanent=True, status=code)
        return DeliveryError("recipient deferred", permanent=False, status=code)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return DeliveryError("sender refused by the SMTP server", permanent=False,
                             status=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPDataError):
        if 500 <= exc.smtp_code < 600:
            return DeliveryError("message refused", permanent=True, status=exc.smtp_code)
        return DeliveryError("message deferred", permanent=False, status=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError("SMTP login refused", permanent=False, status=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPConnectError):
        return DeliveryError("SMTP server refused the session", permanent=False,
                             status=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError("SMTP server answered with an error", permanent=False,
                             status=exc.smtp_code)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return DeliveryError("SMTP server lacks a required extension (STARTTLS, AUTH or "
                             "SMTPUTF8)", permanent=False)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if isinstance(exc.__context__, TimeoutError):  # smtplib wraps a read timeout
            return DeliveryError("SMTP server timed out", permanent=False)
        return DeliveryError("SMTP server closed the connection", permanent=False)
    if isinstance(exc, smtplib.SMTPException):
        return DeliveryError("SMTP exchange failed", permanent=False)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryError("SMTP server certificate not trusted", permanent=False)
    if isinstance(exc, ssl.SSLError):
        return DeliveryError("TLS with the SMTP server failed", permanent=False)
    if isinstance(exc, TimeoutError):
        return DeliveryError("SMTP server timed out", permanent=False)
    if isinstance(exc, ConnectionRefusedError):
        return DeliveryError("SMTP server refused the connection", permanent=False)
    return DeliveryError("could not reach the SMTP server", permanent=False)


_SMTP_FAILURES = (smtplib.SMTPException, OSError)


def _nothing() -> None:
    return None


class EmailChannel:
    """Sends notices through the configured relay.

    `send()` alone opens a connection, sends and closes it. Inside `with channel:` (or
    between `open()` and `close()`) one connection is reused for many sends; it is
    checked with RSET first and replaced if the relay dropped it (nothing was sent on it,
    so that is safe). Thread-safe: sends through one channel take turns.
    """

    # A held connection used this recently is sent on without a RSET round trip first;
    # one idle longer is checked, as the relay may have timed it out.
    FRESH_SECONDS = 2.0

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._last_used = 0.0
        self._tls = (ssl.create_default_context(cafile=settings.ca_file)
                     if settings.security != "none" else None)
        self._lock = threading.RLock()
        self._held = False
        self._connection: smtplib.SMTP | None = None

    # -- connection -------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        local_hostname = "localhost" if is_loopback_host(s.host) else None
        if s.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, local_hostname=local_hostname,
                                                  timeout=s.timeout, context=self._tls)
        else:
            smtp = smtplib.SMTP(s.host, s.port, local_hostname=local_hostname,
                                timeout=s.timeout)
        try:
            smtp.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                # Raises SMTPNotSupportedError when not offered: never falls back to plain.
                smtp.starttls(context=self._tls)
                smtp.ehlo()
            if s.username is not None and s.password is not None:
                smtp.login(s.username, s.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    @staticmethod
    def _quietly_quit(smtp: smtplib.SMTP) -> None:
        try:
            smtp.quit()
        except _SMTP_FAILURES:
            smtp.close()

    def open(self) -> EmailChannel:
        """Keep one connection for the sends that follow (made at the first send)."""
        with self._lock:
            self._held = True
        return self

    def close(self) -> None:
        with self._lock:
            self._held = False
            connection, self._connection = self._connection, None
        if connection is not None:
            self._quietly_quit(connection)

    def __enter__(self) -> EmailChannel:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _reusable(self) -> smtplib.SMTP | None:
        connection = self._connection
        if connection is None:
            return None
        if time.monotonic() - self._last_used < self.FRESH_SECONDS:
            return connection
        try:
            connection.rset()
        except _SMTP_FAILURES:
            connection.close()
            self._connection = None
            return None
        return connection

    # -- sending ----------------------------------------------------------------------

    def _transmit(self, connection: smtplib.SMTP, recipient: str,
                  message: EmailMessage | bytes, ready: Callable[[], None]) -> None:
        if not isinstance(message, bytes):
            ready()  # the rare non-ASCII message: nothing to overlap, smtplib does it all
            connection.send_message(message, from_addr=self.settings.sender,
                                    to_addrs=[recipient])
            return
        # smtplib.sendmail, unrolled so that `ready` runs between DATA's 354 and the
        # final dot: the relay accepts nothing before the dot, so until `ready` returns
        # (the previous notice's mark is durable) this message cannot have been delivered.
        sender = self.settings.sender
        connection.ehlo_or_helo_if_needed()
        code, reply = connection.mail(sender)
        if code != 250:
            connection.rset()
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        code, reply = connection.rcpt(recipient)
        if code not in (250, 251):
            connection.rset()
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
        connection.putcmd("data")
        code, reply = connection.getreply()
        if code != 354:
            connection.rset()
            raise smtplib.SMTPDataError(code, reply)
        ready()
        body = smtplib.quotedata(message.decode("ascii")).encode("ascii")
        connection.send(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")
        code, reply = connection.getreply()
        if code != 250:
            connection.rset()
            raise smtplib.SMTPDataError(code, reply)

    def send(self, notice: Notice) -> None:
        """Deliver one notice to the relay, or raise DeliveryError."""
        self.send_after(notice, _nothing)

    def send_after(self, notice: Notice, ready: Callable[[], None]) -> None:
        """`send`, calling `ready()` before the relay can accept the message.

        The worker passes "the previous notice's mark has committed", so it sends the
        commands of one notice while the last one's commit reaches the disk, and still at
        most the one notice in flight is unrecorded when it dies. If `ready` raises, the
        message is abandoned before its final dot (the connection is closed, so the relay
        discards it) and the exception propagates.
        """
        if not notice.idempotency_key:
            raise ValueError("a notice needs an idempotency key")  # a bug, not a failure
        error: DeliveryError | None = None
        recipient = _recipient(notice.to)
        message: EmailMessage | bytes | None = None
        if recipient is not None:
            message = fast_message_bytes(self.settings, notice, recipient)
        if message is None:
            try:
                message = build_message(self.settings, notice)
            except (ValueError, TypeError, UnicodeError):
                # The exception's text may quote the address: it is not chained.
                error = DeliveryError("unusable email address", permanent=True)
        if error is not None or recipient is None or message is None:
            raise error or DeliveryError("unusable email address", permanent=True)

        with self._lock:
            connection = self._reusable() if self._held else None
            try:
                if connection is None:
                    connection = self._connect()
                try:
                    self._transmit(connection, recipient, message, ready)
                except smtplib.SMTPServerDisconnected:
                    if not self._held:
                        raise
                    # The relay dropped the kept connection: once more on a new one.
                    connection.close()
                    connection = self._connect()
                    self._transmit(connection, recipient, message, ready)
                self._last_used = time.monotonic()
            except _SMTP_FAILURES as exc:
                error = _classify(exc)
                if connection is not None:
                    connection.close()
                connection = None
                self._connection = None
            except BaseException:
                # `ready` failed mid-DATA: closing without the dot makes the relay drop it.
                if connection is not None:
                    connection.close()
                self._connection = None
                raise
            if error is None and connection is not None:
                if self._held:
                    self._connection = connection
                else:
                    # The relay has the message; a failed QUIT changes nothing.
                    self._quietly_quit(connection)
        if error is not None:
            raise error
