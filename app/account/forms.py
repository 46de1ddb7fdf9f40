from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, StringField, TelField, URLField

from app.common import choices, validation
from app.reports.forms import CheckboxList


class ContactForm(FlaskForm):
    email = EmailField(_l("Email address"),
                       render_kw={"maxlength": validation.MAX_EMAIL_CHARS,
                                  "autocomplete": "off"})
    mobile = TelField(_l("Mobile number"),
                      render_kw={"maxlength": validation.MAX_PHONE_CHARS, "autocomplete": "off"})
    alert_channel = RadioField(_l("How do you want to receive alerts?"),
                               choices=choices.options(choices.ALERT_CHANNELS),
                               validate_choice=False)


class OrgContactForm(FlaskForm):
    org_website = URLField(_l("Your organisation's official website"),
                           render_kw={"maxlength": validation.MAX_WEBSITE_CHARS,
                                      "autocomplete": "off"})
    org_email = EmailField(_l("New official email address"),
                           render_kw={"maxlength": validation.MAX_EMAIL_CHARS,
                                      "autocomplete": "off"})
    key_contact = StringField(_l("Key contact's name (only if it has changed)"),
                              render_kw={"maxlength": validation.MAX_NAME_CHARS,
                                         "autocomplete": "off"})
    alert_channel = RadioField(_l("How do you want to receive alerts?"),
                               choices=choices.options(choices.ORG_ALERT_CHANNELS),
                               validate_choice=False)


class ConfirmSettingsForm(FlaskForm):
    areas = CheckboxList(_l("Areas you want alerts for"), choices=choices.options(choices.AREAS),
                         validate_choice=False)
