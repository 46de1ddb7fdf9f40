from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, TelField

from app.common import choices, validation


class ContactForm(FlaskForm):
    email = EmailField(_l("Email address"),
                       render_kw={"maxlength": validation.MAX_EMAIL_CHARS,
                                  "autocomplete": "off"})
    mobile = TelField(_l("Mobile number"),
                      render_kw={"maxlength": validation.MAX_PHONE_CHARS, "autocomplete": "off"})
    alert_channel = RadioField(_l("How do you want to receive alerts?"),
                               choices=choices.options(choices.ALERT_CHANNELS),
                               validate_choice=False)
