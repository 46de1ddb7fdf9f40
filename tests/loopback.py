"""Real servers on 127.0.0.1 for delivery tests: an SMTP server, an HTTP stub, and ports
that refuse or never answer.

    with smtp_server() as smtp:                       # aiosmtpd on a free port
        EmailChannel(smtp.settings()).send(notice)    # SmtpSettings aimed at it
        [mail] = smtp.wait_for(1)                     # ReceivedMail(recipients, message_id, ...)

    with smtp_server(reject={"gone@example.org": 550}, defer={"busy@example.org": 2}):
        ...                                           # RCPT answered 550 always / 451 twice

    with smtp_server(tls="starttls") as smtp: ...     # skipped when no openssl to make a cert

    with http_stub(503, 201) as stub:                 # first 503, then 201 for ever
        WebhookSms(SmsSettings(provider="webhook", webhook_url=stub.url + "/sms")).send(...)
        stub.requests[0].json(), stub.requests[0].headers["idempotency-key"]

Nothing here listens beyond loopback. TLS material is a throwaway CA and server
certificate for 127.0.0.1 made with the `openssl` command (no Python dependency); without
it, `tls_files()` skips the calling test.
"""

from __future__ import annotations

import atexit
import json
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from app.delivery.settings import SmtpSettings
from app.demo.smtp_sink import LoopbackController, body_text, quiet_aiosmtpd_logging

HOST = "127.0.0.1"


# -- ports ----------------------------------------------------------------------------------

def closed_port() -> int:
    """A loopback port with nothing listening (connecting is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word (timeouts)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        sock.listen(16)
        yield sock.getsockname()[1]


# -- TLS material ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TlsFiles:
    ca_file: str      # trust this (SmtpSettings.ca_file)
    cert_file: str    # server certificate for 127.0.0.1 and localhost, signed by the CA
    key_file: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


_OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = uglymugs loopback test CA
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""
_tls_lock = threading.Lock()
_tls_files: TlsFiles | None = None
_tls_failure: str | None = None


def _make_certificates() -> TlsFiles:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command is not installed")
    directory = Path(tempfile.mkdtemp(prefix="uglymugs-tls-"))
    atexit.register(shutil.rmtree, directory, True)
    config = directory / "openssl.cnf"
    config.write_text(_OPENSSL_CONFIG)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True,
                       timeout=60)

    run("req", "-config", str(config), "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-extensions", "ca_ext")
    run("req", "-config", str(config), "-new", *ec, "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=localhost")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-set_serial", str(secrets.randbits(63)), "-days", "2", "-out", "server.pem",
        "-extfile", str(config), "-extensions", "leaf_ext")
    return TlsFiles(str(directory / "ca.pem"), str(directory / "server.pem"),
                    str(directory / "server.key"))


def tls_files() -> TlsFiles:
    """A CA and a server certificate for 127.0.0.1, made once per test run; skips the
    calling test when they cannot be made."""
    global _tls_files, _tls_failure
    with _tls_lock:
        if _tls_files is None and _tls_failure is None:
            try:
                _tls_files = _make_certificates()
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                _tls_failure = f"cannot make a test certificate: {exc}"
        if _tls_files is None:
            pytest.skip(_tls_failure or "cannot make a test certificate")
        return _tls_files





# -- SMTP -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReceivedMail:
    recipients: list[str]          # envelope RCPT TO
    sender: str                    # envelope MAIL FROM
    message_id: str
    subject: str
    body: str
    tls: bool                      # the session was encrypted (STARTTLS or implicit TLS)
    login: str | None              # the AUTH user, if the client logged in
    message: EmailMessage = field(repr=False)

    @property
    def to(self) -> str:
        return str(self.message.get("To", ""))


_REPLIES = {
    550: "550 5.1.1 Mailbox unavailable",
    551: "551 5.1.6 User not local",
    552: "552 5.2.2 Mailbox full",
    553: "553 5.1.3 Mailbox name not allowed",
    554: "554 5.7.1 Rejected",
    421: "421 4.3.2 Service not available",
    450: "450 4.2.1 Mailbox busy",
    451: "451 4.3.0 Try again later",
    452: "452 4.3.1 Insufficient storage",
}


class _Controller(LoopbackController):
    """Lets AUTH be offered without STARTTLS: over implicit TLS (which aiosmtpd does not
    count as TLS) and, for tests of plain loopback relays, over plain text."""

    auth_without_starttls = False

    def factory(self) -> SMTP:
        smtp = super().factory()
        if self.auth_without_starttls:
            smtp._auth_require_tls = False  # set after __init__ to skip its warning
        return smtp


class LoopbackSmtp:
    """A running SMTP server; see `smtp_server()`. `reject` and `defer` may be changed
    while it runs (recipient address -> code; recipient -> how many more 451s)."""

    def __init__(self, *, tls: str, reject: Mapping[str, int], defer: Mapping[str, int],
                 credentials: tuple[str, str] | None) -> None:
        if tls not in ("none", "starttls", "tls"):
            raise ValueError("tls must be none, starttls or tls")
        self.host = HOST
        self.port = 0
        self.security = tls
        self.reject: dict[str, int] = dict(reject)
        self.defer: dict[str, int] = dict(defer)
        self.credentials = credentials
        self.refused: list[tuple[str, int]] = []   # (recipient, code) for each refusal
        self._tls_files = tls_files() if tls != "none" else None
        self._condition = threading.Condition()
        self._messages: list[ReceivedMail] = []
        self._controller: LoopbackController | None = None

    @property
    def ca_file(self) -> str | None:
        return self._tls_files.ca_file if self._tls_files else None

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._condition:
            return list(self._messages)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        with self._condition:
            if not self._condition.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(f"received {len(self._messages)} of {count} messages")
            return list(self._messages)

    def settings(self, **overrides: Any) -> SmtpSettings:
        """SmtpSettings that reach this server (TLS trusted, credentials set if any)."""
        base = SmtpSettings(host=self.host, port=self.port, security=self.security,
                            ca_file=self.ca_file, timeout=5.0)
        if self.credentials is not None:
            base = replace(base, username=self.credentials[0], password=self.credentials[1])
        return replace(base, **overrides)

    # aiosmtpd handler hooks ------------------------------------------------------------

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        with self._condition:
            code = self.reject.get(address)
            if code is None and self.defer.get(address, 0) > 0:
                self.defer[address] -= 1
                code = 451
            if code is not None:
                self.refused.append((address, code))
                return _REPLIES.get(code, f"{code} {'5' if code >= 500 else '4'}.0.0 Refused")
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        transport = getattr(server, "transport", None)
        encrypted = session.ssl is not None or (
            transport is not None and transport.get_extra_info("ssl_object") is not None)
        login = session.auth_data if session.authenticated else None
        mail = ReceivedMail(
            recipients=list(envelope.rcpt_tos), sender=str(envelope.mail_from),
            message_id=str(message.get("Message-ID", "")),
            subject=str(message.get("Subject", "")), body=body_text(message),
            tls=encrypted, login=login, message=message)
        with self._condition:
            self._messages.append(mail)
            self._condition.notify_all()
        return "250 2.0.0 Message accepted"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if (self.credentials is not None and isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == self.credentials[0]
                and auth_data.password.decode() == self.credentials[1]):
            return AuthResult(success=True, auth_data=self.credentials[0])
        return AuthResult(success=False, handled=False)

    # lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        quiet_aiosmtpd_logging()
        kwargs: dict[str, Any] = {}
        if self._tls_files is not None:
            context = self._tls_files.server_context()
            if self.security == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                kwargs.update(ssl_context=context)
        if self.credentials is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True)
        controller = _Controller(self, hostname=HOST, port=0, **kwargs)
        controller.auth_without_starttls = self.security != "starttls"
        controller.start()
        self._controller = controller
        self.port = controller.port

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()


@contextmanager
def smtp_server(*, tls: str = "none", reject: Mapping[str, int] | None = None,
                defer: Mapping[str, int] | None = None,
                credentials: tuple[str, str] | None = None) -> Iterator[LoopbackSmtp]:
    """An aiosmtpd server on 127.0.0.1 (free port) that records every message.

    tls: "none", "starttls" (required before MAIL) or "tls" (implicit); TLS skips the test
    when no certificate can be made. reject: recipient -> 5xx/4xx code answered to RCPT
    every time. defer: recipient -> number of times RCPT is answered 451 before it is
    accepted. credentials: (user, password) required via AUTH before sending.
    """
    server = LoopbackSmtp(tls=tls, reject=reject or {}, defer=defer or {},
                          credentials=credentials)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- HTTP -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]   # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode("ascii"),
                                               keep_blank_values=True).items()}


class HttpStub:
    """A running HTTP server; see `http_stub()`."""

    def __init__(self, statuses: tuple[int, ...], echo_request_in_errors: bool,
                 tls: bool = False) -> None:
        self._lock = threading.Condition()
        self._statuses: deque[int] = deque(statuses or (200,))
        self._echo = echo_request_in_errors
        self._requests: list[RecordedRequest] = []
        self.server = ThreadingHTTPServer((HOST, 0), self._handler_class())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://{HOST}:{self.port}"
        if tls:  # a certificate from the throwaway test CA, which no client trusts
            context = tls_files().server_context()
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.url = f"https://{HOST}:{self.port}"

    def respond_with(self, *statuses: int) -> None:
        """Answer the next requests with these statuses; the last one repeats."""
        with self._lock:
            self._statuses = deque(statuses or (200,))

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(f"received {len(self._requests)} of {count} requests")
            return list(self._requests)

    def _answer(self, request: RecordedRequest) -> tuple[int, bytes]:
        with self._lock:
            self._requests.append(request)
            status = self._statuses.popleft() if len(self._statuses) > 1 else self._statuses[0]
            self._lock.notify_all()
        if 200 <= status < 300:
            body = {"sid": "SM" + secrets.token_hex(16), "status": "queued"}
        else:
            # Real gateways quote the request back in errors (the number, say).
            body = {"status": status, "message": "stub error",
                    "echo": request.body.decode("utf-8", "replace") if self._echo else ""}
        return status, json.dumps(body).encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers: dict[str, str] = {}
                for name, value in self.headers.items():
                    key = name.lower()
                    headers[key] = f"{headers[key]}, {value}" if key in headers else value
                status, payload = stub._answer(
                    RecordedRequest(self.command, self.path, headers, body))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if 300 <= status < 400:
                    self.send_header("Location", f"http://{HOST}:{stub.port}/elsewhere")
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the default writes client addresses to stderr

        return Handler

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def http_stub(*statuses: int, echo_request_in_errors: bool = True,
              tls: bool = False) -> Iterator[HttpStub]:
    """A ThreadingHTTPServer on 127.0.0.1 (free port) recording each request and answering
    with `statuses` in turn (the last repeats; default 200). Error answers quote the
    request body back, as real gateways do, unless `echo_request_in_errors` is False.
    tls=True serves https with the test CA's certificate (`stub.url` is then https)."""
    stub = HttpStub(statuses, echo_request_in_errors, tls)
    stub.start()
    try:
        yield stub
    finally:
        stub.stop()
