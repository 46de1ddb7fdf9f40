"""Text-message gateways behind one interface: Twilio's Messages API, a generic JSON
webhook, or none.

HTTP only through the standard library, with three deliberate choices:
- https is verified with the default SSL context; plain http is accepted only to a
  loopback address (the settings refuse anything else);
- redirects are never followed (a redirect would carry the bearer token and the member's
  number to wherever it points) and environment proxies are ignored;
- nothing the gateway answers is kept: gateways echo the number in error bodies.

Status mapping: 2xx delivered. 400, 413, 422 and other 4xx: permanent (the gateway
rejected this message or number). 401, 403, 404, 407, 408, 409, 425 and 429 mean our
configuration or the gateway's load, not this notice, so they are temporary like 5xx,
redirects, timeouts and connection errors: a wrong token must not discard every
member's notice.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Protocol, runtime_checkable

from app.delivery.message import DeliveryError, Notice
from app.delivery.settings import E164, SmsSettings, check_url

USER_AGENT = "uglymugs-delivery"
_TEMPORARY_4XX = frozenset({401, 403, 404, 407, 408, 409, 425, 429})
_MAX_TEXT = 1600  # Twilio's limit for one message body, in characters


@runtime_checkable
class SmsGateway(Protocol):
    def send(self, notice: Notice) -> None: ...


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def, unused-ignore]  # the stdlib's own signature, untyped there too
        return None  # urllib then raises HTTPError with the 3xx status


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=ssl.create_default_context()),
        _NoRedirects(),
    )


def _status_error(status: int) -> DeliveryError:
    if 400 <= status < 500 and status not in _TEMPORARY_4XX:
        return DeliveryError("gateway rejected the message", permanent=True, status=status)
    if status in _TEMPORARY_4XX:
        return DeliveryError("gateway refused the request (configuration or load)",
                             permanent=False, status=status)
    if 300 <= status < 400:
        return DeliveryError("gateway answered with a redirect", permanent=False, status=status)
    return DeliveryError("gateway failed", permanent=False, status=status)


def _check_notice(notice: Notice) -> DeliveryError | None:
    if not notice.idempotency_key:
        raise ValueError("a notice needs an idempotency key")
    if not isinstance(notice.to, str) or not E164.fullmatch(notice.to):
        return DeliveryError("unusable phone number (not E.164)", permanent=True)
    if not notice.body or len(notice.body) > _MAX_TEXT:
        return DeliveryError("text message empty or too long", permanent=True)
    return None


def _post(opener: urllib.request.OpenerDirector, request: urllib.request.Request,
          timeout: float) -> None:
    """POST and map the outcome; raises DeliveryError with nothing chained."""
    error: DeliveryError | None = None
    try:
        with opener.open(request, timeout=timeout) as response:
            status = response.status
            response.read(65536)  # drain; the content is not kept
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
    except TimeoutError:
        error = DeliveryError("gateway timed out", permanent=False)
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            error = DeliveryError("gateway timed out", permanent=False)
        elif isinstance(exc.reason, ssl.SSLCertVerificationError):
            error = DeliveryError("gateway certificate not trusted", permanent=False)
        elif isinstance(exc.reason, ConnectionRefusedError):
            error = DeliveryError("gateway refused the connection", permanent=False)
        else:
            error = DeliveryError("could not reach the gateway", permanent=False)
    except (http.client.HTTPException, OSError):
        error = DeliveryError("gateway connection failed", permanent=False)
    if error is None and not 200 <= status < 300:
        error = _status_error(status)
    if error is not None:
        raise error


class TwilioSms:
    """Twilio's Messages API: a form POST with HTTP Basic auth (account SID, token).

    Twilio's API takes no idempotency key for sending: a notice re-sent after a crash
    between Twilio's answer and the caller recording it can arrive twice.
    """

    def __init__(self, settings: SmsSettings) -> None:
        if not (settings.twilio_account_sid and settings.twilio_auth_token
                and settings.twilio_from):
            raise ValueError("Twilio needs UGLYMUGS_TWILIO_ACCOUNT_SID, "
                             "UGLYMUGS_TWILIO_AUTH_TOKEN and UGLYMUGS_TWILIO_FROM")
        self._sid = settings.twilio_account_sid
        self._from = settings.twilio_from
        credentials = f"{settings.twilio_account_sid}:{settings.twilio_auth_token}"
        self._authorization = "Basic " + base64.b64encode(credentials.encode()).decode()
        self.url = (settings.twilio_base_url.rstrip("/") + "/2010-04-01/Accounts/"
                    + urllib.parse.quote(settings.twilio_account_sid, safe="")
                    + "/Messages.json")
        check_url(self.url, "the Twilio base URL (UGLYMUGS_TWILIO_BASE_URL)")
        self._timeout = settings.timeout
        self._opener = _opener()

    def __repr__(self) -> str:
        return "TwilioSms()"

    def send(self, notice: Notice) -> None:
        error = _check_notice(notice)
        if error is not None:
            raise error
        form = urllib.parse.urlencode({"To": notice.to, "From": self._from,
                                       "Body": notice.body}).encode("ascii")
        # The URL's scheme was checked (https, or http to loopback) in __init__.
        request = urllib.request.Request(self.url, data=form, method="POST", headers={  # noqa: S310
            "Authorization": self._authorization,
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        })
        _post(self._opener, request, self._timeout)


class WebhookSms:
    """A generic gateway: POST `{"to", "body", "idempotency_key"}` as JSON, with an
    `Idempotency-Key` header (so the gateway can drop a re-send) and, if configured,
    `Authorization: Bearer <token>`."""

    def __init__(self, settings: SmsSettings) -> None:
        if not settings.webhook_url:
            raise ValueError("the webhook gateway needs UGLYMUGS_SMS_WEBHOOK_URL")
        check_url(settings.webhook_url, "the text-message webhook URL (UGLYMUGS_SMS_WEBHOOK_URL)")
        self.url = settings.webhook_url
        self._token = settings.webhook_token
        self._timeout = settings.timeout
        self._opener = _opener()

    def __repr__(self) -> str:
        return "WebhookSms()"

    def send(self, notice: Notice) -> None:
        error = _check_notice(notice)
        if error is not None:
            raise error
        payload = json.dumps({"to": notice.to, "body": notice.body,
                              "idempotency_key": notice.idempotency_key},
                             ensure_ascii=False).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": _header_safe_key(notice.idempotency_key),
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        # The URL's scheme was checked (https, or http to loopback) in __init__.
        request = urllib.request.Request(self.url, data=payload, method="POST",  # noqa: S310
                                         headers=headers)
        _post(self._opener, request, self._timeout)


def _header_safe_key(key: str) -> str:
    """The key itself when it is plain printable ASCII, else percent-encoded UTF-8."""
    if key.isascii() and key.isprintable() and " " not in key:
        return key
    return urllib.parse.quote(key, safe="")


class NoSms:
    """No gateway configured: every text message fails permanently, so the worker
    records it instead of retrying for ever."""

    def __repr__(self) -> str:
        return "NoSms()"

    def send(self, notice: Notice) -> None:
        raise DeliveryError("text messages are not configured", permanent=True)


def gateway(settings: SmsSettings) -> SmsGateway:
    """The gateway that `settings.provider` names."""
    if settings.provider == "twilio":
        return TwilioSms(settings)
    if settings.provider == "webhook":
        return WebhookSms(settings)
    return NoSms()
