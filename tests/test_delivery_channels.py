"""Delivery channels against real servers on loopback: SMTP (aiosmtpd), HTTP gateways.

Each test is named for the property it protects. Canary tests plant a recipient, a
subject and a body that must never appear in an error's text, a notice's repr, a
traceback or a log record.
"""

from __future__ import annotations

import base64
import io
import logging
import pickle
import smtplib
import socket
import ssl
import threading
import traceback
from collections.abc import Iterator
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from app.delivery import (
    DeliveryError,
    DeliverySettings,
    EmailChannel,
    NoSms,
    Notice,
    SendRate,
    SmsSettings,
    SmtpSettings,
    TwilioSms,
    WebhookSms,
    channels,
    message_id_for,
    send_rates,
)
from app.delivery.email_channel import _classify
from app.demo.smtp_sink import RecordingSink, run_sink
from tests.canary import find
from tests.loopback import closed_port, http_stub, silent_port, smtp_server

pytestmark = pytest.mark.filterwarnings(
    "ignore:Session.login_data is deprecated:DeprecationWarning")

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-auth-token-SECRET-7d1e"
NUMBER = "+447700900123"


def notice(to: str = "member@example.org", key: str = "alert-7:member-42:email",
           subject: str = "New Ugly Mugs alert",
           body: str = "There is a new Ugly Mugs alert for your area. Sign in to read it.",
           ) -> Notice:
    return Notice(to=to, subject=subject, body=body, idempotency_key=key)


def twilio_settings(base_url: str, **overrides: object) -> SmsSettings:
    return replace(SmsSettings(provider="twilio", twilio_account_sid=SID,
                               twilio_auth_token=TOKEN, twilio_from="UglyMugs",
                               twilio_base_url=base_url, timeout=5.0), **overrides)


WEBHOOK_TOKEN = "webhook-bearer-SECRET-91ac"


def webhook_settings(url: str, token: str | None = WEBHOOK_TOKEN,
                     **overrides: object) -> SmsSettings:
    return replace(SmsSettings(provider="webhook", webhook_url=url, webhook_token=token,
                               timeout=5.0), **overrides)


def failure(send, item: Notice) -> DeliveryError:  # type: ignore[no-untyped-def]
    with pytest.raises(DeliveryError) as info:
        send(item)
    return info.value


# -- email --------------------------------------------------------------------------------

def test_email_reaches_a_real_smtp_server_with_sender_recipient_subject_and_body() -> None:
    with smtp_server() as smtp:
        EmailChannel(smtp.settings(sender="alerts@scheme.example")).send(
            notice(body="Line one.\nLine two, with a £ sign."))
        [mail] = smtp.wait_for(1)
    assert mail.recipients == ["member@example.org"]
    assert mail.sender == "alerts@scheme.example"
    assert mail.message["From"] == "alerts@scheme.example"
    assert mail.to == "member@example.org"
    assert mail.subject == "New Ugly Mugs alert"
    assert mail.body == "Line one.\nLine two, with a £ sign.\n"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert mail.message["Date"]
    assert mail.message_id == message_id_for("alert-7:member-42:email", "alerts@scheme.example")


def test_a_resent_notice_carries_the_same_message_id_so_mail_systems_can_drop_it() -> None:
    with smtp_server() as smtp:
        channel = EmailChannel(smtp.settings())
        channel.send(notice(key="outbox-17"))
        channel.send(notice(key="outbox-17"))
        channel.send(notice(key="outbox-18"))
        first, again, other = smtp.wait_for(3)
    assert first.message_id == again.message_id == "<outbox-17@uglymugs.invalid>"
    assert other.message_id == "<outbox-18@uglymugs.invalid>"


@pytest.mark.parametrize(("one", "other"), [
    ("a:b", "a=3Ab"), ("a b", "a_b"), ("a.b", "a=2Eb"), ("ü", "=C3=BC"), ("x" * 200, "x" * 201),
])
def test_message_ids_are_header_safe_and_distinct_for_distinct_keys(one: str, other: str) -> None:
    ids = {message_id_for(key, "alerts@uglymugs.invalid") for key in (one, other)}
    assert len(ids) == 2
    for mid in ids:
        left = mid[1:-1].rpartition("@")[0]
        assert mid.startswith("<") and mid.endswith(">")
        assert mid.isascii() and mid.isprintable() and " " not in mid and len(mid) < 160
        assert not left.startswith(".") and ".." not in left and not left.endswith(".")
    assert message_id_for(one, "alerts@uglymugs.invalid") == message_id_for(
        one, "alerts@uglymugs.invalid")


def test_a_recipient_refused_with_550_is_a_permanent_failure() -> None:
    with smtp_server(reject={"gone@example.org": 550}) as smtp:
        error = failure(EmailChannel(smtp.settings()).send, notice(to="gone@example.org"))
        assert smtp.messages == []
    assert error.permanent is True
    assert error.status == 550


def test_a_451_is_temporary_and_the_retry_is_delivered() -> None:
    with smtp_server(defer={"busy@example.org": 1}) as smtp:
        channel = EmailChannel(smtp.settings())
        error = failure(channel.send, notice(to="busy@example.org"))
        assert error.permanent is False
        assert error.status == 451
        channel.send(notice(to="busy@example.org"))
        assert [m.recipients for m in smtp.wait_for(1)] == [["busy@example.org"]]


def test_connection_refused_is_temporary() -> None:
    error = failure(EmailChannel(SmtpSettings(port=closed_port(), timeout=2.0)).send, notice())
    assert error.permanent is False


def test_a_server_that_never_answers_times_out_temporarily() -> None:
    with silent_port() as port:
        error = failure(EmailChannel(SmtpSettings(port=port, timeout=0.3)).send, notice())
    assert error.permanent is False
    assert "timed out" in str(error)


@pytest.mark.parametrize("to", [
    "member@example.org\r\nBcc: everyone@example.org",
    "no-at-sign.example.org",
    "two@@example.org",
    "<member@example.org>",
    "member@example.org, other@example.org",
    "",
])
def test_an_unusable_address_fails_permanently_and_sends_nothing(to: str) -> None:
    with smtp_server() as smtp:
        error = failure(EmailChannel(smtp.settings()).send, notice(to=to))
        assert smtp.messages == []
    assert error.permanent is True


def test_a_subject_with_line_breaks_cannot_add_headers() -> None:
    with smtp_server() as smtp:
        EmailChannel(smtp.settings()).send(
            notice(subject="Alert\r\nBcc: everyone@example.org\nX-Evil: 1"))
        [mail] = smtp.wait_for(1)
    assert mail.recipients == ["member@example.org"]
    assert mail.message["Bcc"] is None and mail.message["X-Evil"] is None
    assert mail.subject == "Alert Bcc: everyone@example.org X-Evil: 1"


@pytest.mark.parametrize(("to", "envelope"), [
    ("zoë@example.org", "zoë@example.org"),
    ("member@bücher.example", "member@xn--bcher-kva.example"),
])
def test_international_addresses_are_delivered(to: str, envelope: str) -> None:
    with smtp_server() as smtp:
        EmailChannel(smtp.settings()).send(notice(to=to))
        [mail] = smtp.wait_for(1)
    assert mail.recipients == [envelope]


def test_one_held_connection_carries_many_notices() -> None:
    with smtp_server() as smtp:
        with EmailChannel(smtp.settings()) as channel:
            for n in range(5):
                channel.send(notice(to=f"member{n}@example.org", key=f"k{n}"))
        mails = smtp.wait_for(5)
    assert [m.recipients for m in mails] == [[f"member{n}@example.org"] for n in range(5)]
    assert len({m.message_id for m in mails}) == 5


def test_a_held_connection_the_relay_dropped_is_replaced_before_sending() -> None:
    with smtp_server() as smtp, EmailChannel(smtp.settings()) as channel:
        channel.send(notice(key="k1"))
        held = channel._connection
        assert held is not None and held.sock is not None
        held.sock.shutdown(socket.SHUT_RDWR)  # as a relay's idle timeout would
        channel.send(notice(key="k2"))
        assert [m.message_id for m in smtp.wait_for(2)] == [
            "<k1@uglymugs.invalid>", "<k2@uglymugs.invalid>"]


@pytest.mark.parametrize(("exc", "permanent", "status"), [
    (smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"no")}), True, 550),
    (smtplib.SMTPRecipientsRefused({"a@b.c": (450, b"busy")}), False, 450),
    (smtplib.SMTPDataError(554, b"rejected"), True, 554),
    (smtplib.SMTPDataError(452, b"full"), False, 452),
    (smtplib.SMTPSenderRefused(553, b"not yours", "alerts@x.y"), False, 553),
    (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False, 535),
    (smtplib.SMTPConnectError(554, b"go away"), False, 554),
    (smtplib.SMTPNotSupportedError("STARTTLS extension not supported"), False, None),
    (smtplib.SMTPServerDisconnected("gone"), False, None),
    (ssl.SSLCertVerificationError("bad cert"), False, None),
    (TimeoutError(), False, None),
    (ConnectionRefusedError(), False, None),
])
def test_smtp_failures_map_to_permanent_only_for_this_recipient_or_message(
        exc: BaseException, permanent: bool, status: int | None) -> None:
    error = _classify(exc)
    assert (error.permanent, error.status) == (permanent, status)
    assert "a@b.c" not in str(error) and "alerts@x.y" not in str(error)


def test_login_with_configured_credentials_and_a_refused_login_is_temporary() -> None:
    with smtp_server(credentials=("relay-user", "relay-password")) as smtp:
        EmailChannel(smtp.settings()).send(notice())
        [mail] = smtp.wait_for(1)
        assert mail.login == "relay-user"
        error = failure(EmailChannel(smtp.settings(password="wrong")).send, notice())
        assert error.permanent is False
        assert len(smtp.messages) == 1


# -- TLS ----------------------------------------------------------------------------------

def test_starttls_delivers_over_a_verified_encrypted_session() -> None:
    with smtp_server(tls="starttls", credentials=("relay-user", "relay-password")) as smtp:
        EmailChannel(smtp.settings()).send(notice())
        [mail] = smtp.wait_for(1)
    assert mail.tls is True
    assert mail.login == "relay-user"


def test_starttls_refuses_a_certificate_it_does_not_trust() -> None:
    with smtp_server(tls="starttls") as smtp:
        error = failure(EmailChannel(smtp.settings(ca_file=None)).send, notice())
        assert smtp.messages == []
    assert error.permanent is False
    assert "certificate" in str(error)


def test_starttls_never_falls_back_to_plain_text() -> None:
    with smtp_server(tls="none") as plain:
        settings = SmtpSettings(host=plain.host, port=plain.port, security="starttls")
        error = failure(EmailChannel(settings).send, notice())
        assert plain.messages == []
    assert error.permanent is False


def test_implicit_tls_delivers_over_a_verified_encrypted_session() -> None:
    with smtp_server(tls="tls") as smtp:
        EmailChannel(smtp.settings()).send(notice())
        [mail] = smtp.wait_for(1)
    assert mail.tls is True


# -- text messages --------------------------------------------------------------------------

def test_twilio_posts_the_form_fields_with_basic_auth() -> None:
    with http_stub(201) as stub:
        TwilioSms(twilio_settings(stub.url)).send(notice(to=NUMBER, body="Sign in to read it."))
        [request] = stub.requests
    assert request.method == "POST"
    assert request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.form() == {"To": NUMBER, "From": "UglyMugs", "Body": "Sign in to read it."}
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"


@pytest.mark.parametrize(("status", "permanent"), [
    (400, True), (422, True), (401, False), (403, False), (404, False), (429, False),
    (500, False), (503, False),
])
@pytest.mark.parametrize("adapter", ["twilio", "webhook"])
def test_gateway_answers_map_to_permanent_or_temporary(adapter: str, status: int,
                                                       permanent: bool) -> None:
    with http_stub(status) as stub:
        gateway = (TwilioSms(twilio_settings(stub.url)) if adapter == "twilio"
                   else WebhookSms(webhook_settings(stub.url + "/sms")))
        error = failure(gateway.send, notice(to=NUMBER))
    assert error.permanent is permanent
    assert error.status == status


def test_webhook_posts_json_with_idempotency_key_and_bearer_token() -> None:
    with http_stub(201) as stub:
        WebhookSms(webhook_settings(stub.url + "/hooks/sms")).send(
            notice(to=NUMBER, key="outbox-99", body="Sign in to read it."))
        [request] = stub.requests
    assert request.method == "POST" and request.path == "/hooks/sms"
    assert request.json() == {"to": NUMBER, "body": "Sign in to read it.",
                              "idempotency_key": "outbox-99"}
    assert request.headers["content-type"].startswith("application/json")
    assert request.headers["idempotency-key"] == "outbox-99"
    assert request.headers["authorization"] == f"Bearer {WEBHOOK_TOKEN}"


def test_webhook_without_a_token_sends_no_authorization_header() -> None:
    with http_stub(200) as stub:
        WebhookSms(webhook_settings(stub.url, token=None)).send(notice(to=NUMBER))
        [request] = stub.requests
    assert "authorization" not in request.headers


def test_a_webhook_retry_after_503_is_delivered_with_the_same_idempotency_key() -> None:
    with http_stub(503, 201) as stub:
        gateway = WebhookSms(webhook_settings(stub.url))
        assert failure(gateway.send, notice(to=NUMBER, key="k-1")).permanent is False
        gateway.send(notice(to=NUMBER, key="k-1"))
        keys = [r.headers["idempotency-key"] for r in stub.requests]
    assert keys == ["k-1", "k-1"]


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_gateways_never_follow_a_redirect_with_the_number_and_token(status: int) -> None:
    with http_stub(status) as stub:
        for gateway in (TwilioSms(twilio_settings(stub.url)),
                        WebhookSms(webhook_settings(stub.url + "/sms"))):
            assert failure(gateway.send, notice(to=NUMBER)).permanent is False
        paths = [r.path for r in stub.requests]
    assert "/elsewhere" not in paths and len(paths) == 2


@pytest.mark.parametrize("to", ["07700900123", "+44 7700 900123", "member@example.org",
                                "+447700900123\r\nX: y", ""])
def test_a_number_that_is_not_e164_fails_permanently_and_sends_nothing(to: str) -> None:
    with http_stub(201) as stub:
        for gateway in (TwilioSms(twilio_settings(stub.url)),
                        WebhookSms(webhook_settings(stub.url))):
            assert failure(gateway.send, notice(to=to)).permanent is True
        assert stub.requests == []


def test_gateway_connection_refused_and_silence_are_temporary() -> None:
    refused = f"http://127.0.0.1:{closed_port()}"
    assert failure(WebhookSms(webhook_settings(refused)).send, notice(to=NUMBER)).permanent is False
    assert failure(TwilioSms(twilio_settings(refused)).send, notice(to=NUMBER)).permanent is False
    with silent_port() as port:
        silent = f"http://127.0.0.1:{port}"
        error = failure(WebhookSms(webhook_settings(silent, timeout=0.3)).send, notice(to=NUMBER))
    assert error.permanent is False
    assert "timed out" in str(error)


def test_gateways_verify_https_certificates() -> None:
    with http_stub(201, tls=True) as stub:
        for gateway in (TwilioSms(twilio_settings(stub.url)),
                        WebhookSms(webhook_settings(stub.url + "/sms"))):
            error = failure(gateway.send, notice(to=NUMBER))
            assert error.permanent is False
            assert "certificate" in str(error)
        assert stub.requests == []


def test_no_sms_fails_permanently_because_text_messages_are_not_configured() -> None:
    error = failure(NoSms().send, notice(to=NUMBER))
    assert error.permanent is True
    assert "not configured" in str(error)


def test_channels_follow_the_configured_provider() -> None:
    assert isinstance(channels(DeliverySettings())["sms"], NoSms)
    chosen = channels(DeliverySettings(sms=webhook_settings("https://sms.example.org/send")))
    assert isinstance(chosen["email"], EmailChannel)
    assert isinstance(chosen["sms"], WebhookSms)
    assert isinstance(channels(DeliverySettings(
        sms=twilio_settings("https://api.twilio.com")))["sms"], TwilioSms)
    rates = send_rates(DeliverySettings(email_per_second=4, sms_per_second=0.5))
    assert rates["email"].interval == 0.25 and rates["sms"].interval == 2.0


# -- nothing personal in errors, reprs, tracebacks or logs -----------------------------------

CANARY_EMAIL = "canary-rcpt-5f2a@example.org"
CANARY_NUMBER = "+447700900987"
CANARY_SUBJECT = "canary-subject-81b3"
CANARY_BODY = "canary-body-c41d alert text"
CANARIES = [CANARY_EMAIL, "canary-rcpt-5f2a", CANARY_NUMBER, "7700900987",
            CANARY_SUBJECT, "canary-body-c41d"]


def _planted(to: str) -> Notice:
    return Notice(to=to, subject=CANARY_SUBJECT, body=CANARY_BODY, idempotency_key="k-canary")


def _every_failure() -> Iterator[DeliveryError]:
    with smtp_server(reject={CANARY_EMAIL: 550}) as smtp:
        yield failure(EmailChannel(smtp.settings()).send, _planted(CANARY_EMAIL))
    with smtp_server(defer={CANARY_EMAIL: 1}) as smtp:
        yield failure(EmailChannel(smtp.settings()).send, _planted(CANARY_EMAIL))
    yield failure(EmailChannel(SmtpSettings(port=closed_port())).send, _planted(CANARY_EMAIL))
    yield failure(EmailChannel(SmtpSettings()).send, _planted(CANARY_EMAIL + "\r\nBcc: x@y.z"))
    for status in (400, 503):
        with http_stub(status, echo_request_in_errors=True) as stub:
            yield failure(TwilioSms(twilio_settings(stub.url)).send, _planted(CANARY_NUMBER))
            yield failure(WebhookSms(webhook_settings(stub.url)).send, _planted(CANARY_NUMBER))
    yield failure(WebhookSms(webhook_settings(f"http://127.0.0.1:{closed_port()}")).send,
                  _planted(CANARY_NUMBER))
    yield failure(WebhookSms(webhook_settings("http://127.0.0.1")).send,
                  _planted(CANARY_NUMBER + "x"))
    yield failure(NoSms().send, _planted(CANARY_NUMBER))


def test_errors_reprs_tracebacks_and_logs_carry_no_recipient_subject_or_body(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    errors = list(_every_failure())
    assert len(errors) == 11
    for error in errors:
        assert error.__cause__ is None and error.__context__ is None
        text = "\n".join([str(error), repr(error), repr(error.args),
                          "".join(traceback.format_exception(error))])
        assert find(text.encode(), CANARIES) == [], text
    planted = _planted(CANARY_EMAIL)
    assert repr(planted) == "Notice(idempotency_key='k-canary')"
    assert find(f"{planted!r} {planted!s} {[planted]}".encode(), CANARIES) == []
    assert find(caplog.text.encode(), CANARIES) == []


# -- settings -------------------------------------------------------------------------------

def test_settings_from_env_parse_every_variable(tmp_path: Path) -> None:
    password_file = tmp_path / "smtp-password"
    password_file.write_text("  relay-password-from-file\n")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("not read until connecting")
    settings = DeliverySettings.from_env({
        "UGLYMUGS_SMTP_HOST": "smtp.example.org",
        "UGLYMUGS_SMTP_PORT": "587",
        "UGLYMUGS_SMTP_SECURITY": "STARTTLS",
        "UGLYMUGS_SMTP_USERNAME": "relay-user",
        "UGLYMUGS_SMTP_PASSWORD_FILE": str(password_file),
        "UGLYMUGS_SMTP_SENDER": "alerts@scheme.example",
        "UGLYMUGS_SMTP_CA_FILE": str(ca_file),
        "UGLYMUGS_SMS_PROVIDER": "twilio",
        "UGLYMUGS_TWILIO_ACCOUNT_SID": SID,
        "UGLYMUGS_TWILIO_AUTH_TOKEN": TOKEN,
        "UGLYMUGS_TWILIO_FROM": NUMBER,
        "UGLYMUGS_TWILIO_BASE_URL": "https://twilio.example.org",
        "UGLYMUGS_SMS_WEBHOOK_URL": "https://sms.example.org/send",
        "UGLYMUGS_SMS_WEBHOOK_TOKEN": "webhook-token",
        "UGLYMUGS_EMAIL_PER_SECOND": "2.5",
        "UGLYMUGS_SMS_PER_SECOND": "0.5",
        "UGLYMUGS_NOTICE_INCLUDES_TITLE": "1",
    })
    assert settings.smtp == SmtpSettings(
        host="smtp.example.org", port=587, security="starttls", username="relay-user",
        password="relay-password-from-file", sender="alerts@scheme.example",
        ca_file=str(ca_file))
    assert settings.sms == SmsSettings(
        provider="twilio", twilio_account_sid=SID, twilio_auth_token=TOKEN,
        twilio_from=NUMBER, twilio_base_url="https://twilio.example.org",
        webhook_url="https://sms.example.org/send", webhook_token="webhook-token")
    assert (settings.email_per_second, settings.sms_per_second) == (2.5, 0.5)
    assert settings.notice_includes_title is True
    assert DeliverySettings.from_env({"UGLYMUGS_SMTP_PASSWORD": "p", "UGLYMUGS_SMTP_USERNAME":
                                      "u"}).smtp.password == "p"


def test_settings_pick_the_usual_port_for_the_chosen_security() -> None:
    def port(**env: str) -> int:
        return DeliverySettings.from_env(
            {"UGLYMUGS_SMTP_HOST": "smtp.example.org", **env}).smtp.port

    assert port(UGLYMUGS_SMTP_SECURITY="tls") == 465
    assert port(UGLYMUGS_SMTP_SECURITY="starttls") == 587
    assert port(UGLYMUGS_SMTP_SECURITY="starttls", UGLYMUGS_SMTP_PORT="2525") == 2525


def test_delivery_errors_survive_pickling() -> None:
    pickled = pickle.dumps(DeliveryError("recipient refused", permanent=True, status=550))
    error = pickle.loads(pickled)  # noqa: S301 - our own bytes
    assert (error.reason, error.permanent, error.status) == ("recipient refused", True, 550)


def test_settings_default_to_a_local_relay_no_text_messages_and_no_alert_content() -> None:
    settings = DeliverySettings.from_env({})
    assert settings == DeliverySettings()
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.security) == (
        "127.0.0.1", 25, "none")
    assert settings.sms.provider == "none"
    assert settings.notice_includes_title is False


SECRET = "do-not-echo-3e9f"


@pytest.mark.parametrize(("env", "variable"), [
    ({"UGLYMUGS_SMTP_PORT": "twenty-five"}, "UGLYMUGS_SMTP_PORT"),
    ({"UGLYMUGS_SMTP_PORT": "70000"}, "UGLYMUGS_SMTP_PORT"),
    ({"UGLYMUGS_SMTP_SECURITY": "ssl"}, "UGLYMUGS_SMTP_SECURITY"),
    ({"UGLYMUGS_SMTP_HOST": "smtp.example.org"}, "UGLYMUGS_SMTP_SECURITY"),
    ({"UGLYMUGS_SMTP_USERNAME": "u"}, "UGLYMUGS_SMTP_PASSWORD"),
    ({"UGLYMUGS_SMTP_PASSWORD": SECRET}, "UGLYMUGS_SMTP_USERNAME"),
    ({"UGLYMUGS_SMTP_PASSWORD": SECRET, "UGLYMUGS_SMTP_PASSWORD_FILE": "/x"},
     "UGLYMUGS_SMTP_PASSWORD_FILE"),
    ({"UGLYMUGS_SMTP_PASSWORD_FILE": "/nonexistent/uglymugs"}, "UGLYMUGS_SMTP_PASSWORD_FILE"),
    ({"UGLYMUGS_SMTP_SENDER": "Alerts <alerts@example.org>"}, "UGLYMUGS_SMTP_SENDER"),
    ({"UGLYMUGS_SMTP_CA_FILE": "/nonexistent/ca.pem"}, "UGLYMUGS_SMTP_CA_FILE"),
    ({"UGLYMUGS_SMS_PROVIDER": "carrier-pigeon"}, "UGLYMUGS_SMS_PROVIDER"),
    ({"UGLYMUGS_SMS_PROVIDER": "twilio"}, "UGLYMUGS_TWILIO_ACCOUNT_SID"),
    ({"UGLYMUGS_SMS_PROVIDER": "twilio", "UGLYMUGS_TWILIO_ACCOUNT_SID": SID,
      "UGLYMUGS_TWILIO_FROM": NUMBER}, "UGLYMUGS_TWILIO_AUTH_TOKEN"),
    ({"UGLYMUGS_SMS_PROVIDER": "twilio", "UGLYMUGS_TWILIO_ACCOUNT_SID": SID,
      "UGLYMUGS_TWILIO_AUTH_TOKEN": f"{SECRET} x", "UGLYMUGS_TWILIO_FROM": NUMBER},
     "UGLYMUGS_TWILIO_AUTH_TOKEN"),
    ({"UGLYMUGS_SMS_PROVIDER": "twilio", "UGLYMUGS_TWILIO_ACCOUNT_SID": SID,
      "UGLYMUGS_TWILIO_AUTH_TOKEN": "t", "UGLYMUGS_TWILIO_FROM": "07700900123"},
     "UGLYMUGS_TWILIO_FROM"),
    ({"UGLYMUGS_TWILIO_BASE_URL": "http://api.twilio.com"}, "UGLYMUGS_TWILIO_BASE_URL"),
    ({"UGLYMUGS_SMS_PROVIDER": "webhook"}, "UGLYMUGS_SMS_WEBHOOK_URL"),
    ({"UGLYMUGS_SMS_PROVIDER": "webhook",
      "UGLYMUGS_SMS_WEBHOOK_URL": "http://sms.example.org/send"}, "UGLYMUGS_SMS_WEBHOOK_URL"),
    ({"UGLYMUGS_SMS_PROVIDER": "webhook",
      "UGLYMUGS_SMS_WEBHOOK_URL": f"https://user:{SECRET}@sms.example.org/"},
     "UGLYMUGS_SMS_WEBHOOK_URL"),
    ({"UGLYMUGS_SMS_PROVIDER": "webhook",
      "UGLYMUGS_SMS_WEBHOOK_URL": f"ftp://sms.example.org/{SECRET}"}, "UGLYMUGS_SMS_WEBHOOK_URL"),
    ({"UGLYMUGS_EMAIL_PER_SECOND": "0"}, "UGLYMUGS_EMAIL_PER_SECOND"),
    ({"UGLYMUGS_EMAIL_PER_SECOND": "nan"}, "UGLYMUGS_EMAIL_PER_SECOND"),
    ({"UGLYMUGS_SMS_PER_SECOND": "-1"}, "UGLYMUGS_SMS_PER_SECOND"),
    ({"UGLYMUGS_SMS_PER_SECOND": "inf"}, "UGLYMUGS_SMS_PER_SECOND"),
    ({"UGLYMUGS_NOTICE_INCLUDES_TITLE": "yes"}, "UGLYMUGS_NOTICE_INCLUDES_TITLE"),
])
def test_settings_reject_bad_values_naming_the_variable_never_the_value(
        env: dict[str, str], variable: str) -> None:
    with pytest.raises(ValueError, match=variable) as info:
        DeliverySettings.from_env(env)
    assert SECRET not in str(info.value)


def test_settings_refuse_an_empty_password_file(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ValueError, match="UGLYMUGS_SMTP_PASSWORD_FILE"):
        DeliverySettings.from_env({"UGLYMUGS_SMTP_USERNAME": "u",
                                   "UGLYMUGS_SMTP_PASSWORD_FILE": str(tmp_path / "empty")})


def test_plain_smtp_and_plain_http_are_allowed_only_on_loopback() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert SmtpSettings(host=host, username="u", password="p").security == "none"
    with pytest.raises(ValueError, match="UGLYMUGS_SMTP_SECURITY"):
        SmtpSettings(host="10.0.0.5")
    assert SmtpSettings(host="smtp.example.org", port=465, security="tls").port == 465
    assert webhook_settings("http://127.0.0.1:8080/sms").webhook_url
    with pytest.raises(ValueError, match="https"):
        webhook_settings("http://10.0.0.5/sms")


def test_settings_repr_shows_no_secret() -> None:
    settings = DeliverySettings(
        smtp=SmtpSettings(host="smtp.example.org", security="tls", username="relay-user",
                          password=f"smtp-{SECRET}"),
        sms=SmsSettings(provider="twilio", twilio_account_sid=SID,
                        twilio_auth_token=f"twilio-{SECRET}", twilio_from=NUMBER,
                        webhook_url=f"https://sms.example.org/send?key=url-{SECRET}",
                        webhook_token=f"webhook-{SECRET}"))
    text = repr(settings) + str(settings) + repr(TwilioSms(settings.sms))
    assert SECRET not in text
    assert "smtp.example.org" in text  # the rest is still there to debug with


# -- send rate ------------------------------------------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_send_rate_spaces_sends_evenly() -> None:
    fake = FakeClock()
    rate = SendRate(4.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(4):
        rate.wait()
    assert fake.sleeps == [0.25, 0.25, 0.25]
    fake.now += 0.1
    rate.wait()
    assert fake.sleeps[-1] == pytest.approx(0.15)
    fake.now += 10  # idle: no burst is saved up, the next send goes at once
    rate.wait()
    rate.wait()
    assert fake.sleeps[-2:] == [pytest.approx(0.15), 0.25]


def test_send_rate_keeps_its_rate_when_each_sleep_overruns() -> None:
    class Oversleeping(FakeClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds + 0.002)  # a busy machine wakes late

    fake = Oversleeping()
    rate = SendRate(100.0, clock=fake.clock, sleep=fake.sleep)
    sent = []
    for _ in range(101):
        rate.wait()
        sent.append(fake.now)
    # 100 intervals of 10 ms, plus one overrun: not 100 overruns more (1.2 s).
    assert sent[-1] - sent[0] == pytest.approx(1.002)
    gaps = [later - earlier for earlier, later in pairwise(sent)]
    assert min(gaps) >= 0.01 - 1e-9, "never two sends closer than the interval"


def test_send_rate_spaces_concurrent_callers() -> None:
    lock = threading.Lock()
    fake = FakeClock()

    def sleep(seconds: float) -> None:
        with lock:
            fake.sleep(seconds)

    rate = SendRate(10.0, clock=fake.clock, sleep=sleep)
    threads = [threading.Thread(target=rate.wait) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake.now == pytest.approx(1000.7)


@pytest.mark.parametrize("per_second", [0, -1, float("inf"), float("nan")])
def test_send_rate_refuses_a_rate_that_is_not_positive(per_second: float) -> None:
    with pytest.raises(ValueError):
        SendRate(per_second)


# -- the demo sink --------------------------------------------------------------------------

def test_recording_sink_records_what_the_email_channel_sends() -> None:
    with RecordingSink() as sink:
        EmailChannel(SmtpSettings(port=sink.port)).send(notice(key="k-sink"))
        [message] = sink.wait_for(1)
    assert message["To"] == "member@example.org"
    assert message["Message-ID"] == "<k-sink@uglymugs.invalid>"
    assert sink.recipients == [["member@example.org"]]


def test_run_sink_prints_each_notice_until_stopped() -> None:
    out = io.StringIO()
    stop = threading.Event()
    ready: list[int] = []
    listening = threading.Event()

    def on_ready(port: int) -> None:
        ready.append(port)
        listening.set()

    thread = threading.Thread(target=run_sink, kwargs={
        "port": 0, "out": out, "stop": stop, "ready": on_ready}, daemon=True)
    thread.start()
    assert listening.wait(10)
    EmailChannel(SmtpSettings(port=ready[0])).send(notice(body="Sign in to read it."))
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    printed = out.getvalue()
    assert "--- notice to member@example.org ---" in printed
    assert "Subject: New Ugly Mugs alert" in printed
    assert "Sign in to read it." in printed


@pytest.mark.parametrize(("key", "subject", "body"), [
    ("alert:a1:m1", "New Ugly Mugs alert", "There is a new alert.\nSign in to read it."),
    ("reset:x", "Your   Ugly Mugs\treset code", ".leading dot\n..two\nend\n"),
])
def test_the_fast_message_is_the_message_build_message_makes(key, subject, body) -> None:
    from email import message_from_bytes, policy

    from app.delivery.email_channel import build_message, fast_message_bytes

    settings = SmtpSettings(sender="alerts@scheme.example")
    n = Notice(to="member@example.org", subject=subject, body=body, idempotency_key=key)
    fast = message_from_bytes(fast_message_bytes(settings, n, "member@example.org"),
                              policy=policy.default)
    slow = build_message(settings, n)
    for header in ("From", "To", "Subject", "Message-ID", "Auto-Submitted",
                   "Content-Type", "Content-Transfer-Encoding", "MIME-Version"):
        assert str(fast[header]) == str(slow[header]), header
    # On the wire both are CRLF (smtplib converts the built one as it sends it).
    assert fast.get_content().replace("\r\n", "\n") == slow.get_content()


def test_non_ascii_notices_take_the_full_email_builder() -> None:
    from app.delivery.email_channel import fast_message_bytes

    settings = SmtpSettings()
    assert fast_message_bytes(settings, Notice(to="a@example.org", subject="s", body="£5",
                                               idempotency_key="k"), "a@example.org") is None
    assert fast_message_bytes(settings, Notice(to="ü@example.org", subject="s", body="b",
                                               idempotency_key="k"), "ü@example.org") is None


def test_the_email_rate_is_the_relays_unless_set() -> None:
    from app.delivery.settings import LOOPBACK_RELAY_PER_SECOND, REMOTE_RELAY_PER_SECOND

    assert DeliverySettings().email_rate == LOOPBACK_RELAY_PER_SECOND
    remote = DeliverySettings(smtp=SmtpSettings(host="smtp.example.org", security="tls"))
    assert remote.email_rate == REMOTE_RELAY_PER_SECOND
    assert DeliverySettings(email_per_second=3).email_rate == 3
    assert send_rates(remote)["email"].per_second == REMOTE_RELAY_PER_SECOND


def test_email_is_not_accepted_by_the_relay_before_ready_returns() -> None:
    with smtp_server() as smtp:
        accepted_when_ready: list[int] = []
        with EmailChannel(smtp.settings()) as channel:
            channel.send_after(notice(key="k-ready"),
                               lambda: accepted_when_ready.append(len(smtp.messages)))
        smtp.wait_for(1)
    assert accepted_when_ready == [0]
    assert [m.message_id for m in smtp.messages] == [
        message_id_for("k-ready", smtp.settings().sender)]


def test_email_whose_ready_fails_is_abandoned_before_its_dot_and_the_next_is_sent() -> None:
    class MarkLost(Exception):
        pass

    def lost() -> None:
        raise MarkLost

    with smtp_server() as smtp:
        sender = smtp.settings().sender
        with EmailChannel(smtp.settings()) as channel:
            channel.send(notice(key="k-first"))
            with pytest.raises(MarkLost):
                channel.send_after(notice(key="k-held-back"), lost)
            channel.send(notice(key="k-after"))  # on a new connection
        smtp.wait_for(2)
        ids = [m.message_id for m in smtp.messages]
    assert ids == [message_id_for("k-first", sender), message_id_for("k-after", sender)]


def test_fast_email_bytes_parse_as_the_same_rfc_5322_message() -> None:
    from email import message_from_bytes, policy

    from app.delivery.email_channel import fast_message_bytes

    settings = SmtpSettings()
    item = notice(body="Line one.\n.starts with a dot\n\nlast")
    raw = fast_message_bytes(settings, item, item.to)
    assert raw is not None and b"\n" not in raw.replace(b"\r\n", b"")
    parsed = message_from_bytes(raw, policy=policy.SMTP)
    assert not parsed.defects
    assert parsed["To"].addresses[0].addr_spec == item.to
    assert parsed["From"].addresses[0].addr_spec == settings.sender
    assert parsed["Subject"] == item.subject
    assert parsed["Message-ID"] == message_id_for(item.idempotency_key, settings.sender)
    assert parsed.get_content().replace("\r\n", "\n").rstrip("\n") == item.body
