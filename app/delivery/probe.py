"""Does the SMTP relay, or the text-message gateway, answer? Asked without sending anything.

For `doctor`. The relay gets what a send would do up to the envelope (connect, EHLO,
STARTTLS or TLS, login) and then QUIT. Twilio gets a GET of the account resource, which
needs the same credentials as sending and sends nothing; a webhook gets a HEAD request,
and any HTTP answer counts (most answer 405 to HEAD: it is alive). Answers are described
by status and exception type only, never by what the server said.
"""

from __future__ import annotations

import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request

from app.delivery.email_channel import EmailChannel
from app.delivery.settings import SmsSettings, SmtpSettings
from app.delivery.sms import USER_AGENT, TwilioSms, _opener


def smtp_problem(settings: SmtpSettings) -> str | None:
    """None when the relay takes a connection (and login); else what went wrong."""
    channel = EmailChannel(settings)
    try:
        connection = channel._connect()
    except smtplib.SMTPAuthenticationError:
        return "the relay refused the username and password"
    except (smtplib.SMTPException, OSError, ssl.SSLError) as error:
        return f"no answer from {settings.host}:{settings.port} ({type(error).__name__})"
    channel._quietly_quit(connection)
    return None


def sms_problem(settings: SmsSettings) -> str | None:
    """None when the provider answers (or none is configured); else what went wrong."""
    if settings.provider == "none":
        return None
    if settings.provider == "twilio":
        url = TwilioSms(settings).url.removesuffix("/Messages.json") + ".json"
        request = urllib.request.Request(url, method="GET", headers={  # noqa: S310 (checked)
            "Authorization": TwilioSms(settings)._authorization, "User-Agent": USER_AGENT})
    else:
        assert settings.webhook_url is not None
        request = urllib.request.Request(settings.webhook_url, method="HEAD",  # noqa: S310
                                         headers={"User-Agent": USER_AGENT})
    try:
        with _opener().open(request, timeout=settings.timeout) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except (urllib.error.URLError, OSError) as error:
        return f"no answer from the {settings.provider} gateway ({type(error).__name__})"
    if settings.provider == "twilio" and not 200 <= status < 300:
        return f"Twilio answered {status}: check the account SID and auth token"
    return None
