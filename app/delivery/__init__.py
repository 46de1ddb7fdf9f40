"""Provider-neutral delivery channels for notices: email over SMTP, text messages
through Twilio or a JSON webhook, send-rate spacing, and a local SMTP sink for the demo.

The alert worker builds `channels(DeliverySettings.from_env())` once and calls
`channels[...].send(Notice(...))`, treating `DeliveryError.permanent` as "do not retry".
"""

from __future__ import annotations

from app.delivery.email_channel import EmailChannel, message_id_for
from app.delivery.message import DeliveryError, Notice
from app.delivery.rate import SendRate
from app.delivery.settings import DeliverySettings, SmsSettings, SmtpSettings
from app.delivery.sms import NoSms, SmsGateway, TwilioSms, WebhookSms, gateway

__all__ = [
    "DeliveryError",
    "DeliverySettings",
    "EmailChannel",
    "NoSms",
    "Notice",
    "SendRate",
    "SmsGateway",
    "SmsSettings",
    "SmtpSettings",
    "TwilioSms",
    "WebhookSms",
    "channels",
    "gateway",
    "message_id_for",
    "send_rates",
]


def channels(settings: DeliverySettings) -> dict[str, object]:
    """{"email": EmailChannel, "sms": the gateway that settings.sms.provider names}."""
    return {"email": EmailChannel(settings.smtp), "sms": gateway(settings.sms)}


def send_rates(settings: DeliverySettings) -> dict[str, SendRate]:
    """One SendRate per channel: the relay's rate (DeliverySettings.email_rate), and
    UGLYMUGS_SMS_PER_SECOND."""
    return {"email": SendRate(settings.email_rate),
            "sms": SendRate(settings.sms_per_second)}
