"""The apply forms: they render fields and collect what was typed, nothing more.

Every check lives in app/membership/service.py (callable without a request), so the
forms carry no validators: the service's problems are put back on the fields by
`show_problems`. CSRF is checked for every POST by CSRFProtect before a view runs.
Password fields never re-display what was typed (PasswordField's hide_value).
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
    URLField,
)

from app.common import choices, validation
from app.common.passwords import MAX_PASSWORD_CHARS
from app.membership.service import IndividualApplication, OrganisationApplication
from app.web.forms import show_problems


def _text(label: str, max_chars: int,
          field_class: type[StringField] = StringField) -> StringField:
    # autocomplete off: on a shared device, a browser's remembered form entries could
    # show someone's work name or burner number to the next person.
    return field_class(label, render_kw={"maxlength": max_chars, "autocomplete": "off",
                                         "spellcheck": "false"})


def _password(label: str) -> PasswordField:
    return PasswordField(label, render_kw={"maxlength": MAX_PASSWORD_CHARS,
                                           "autocomplete": "new-password"})


def _alert_area() -> SelectField:
    return SelectField(_l("Area you want alerts for"),
                       choices=choices.options([("", _l("Choose an area")),
                                                *choices.ALERT_AREA_CHOICES]),
                       default="", validate_choice=False)


def offer_channels(field: RadioField, text_alerts: bool) -> None:
    """Offer text alerts only where a text-message gateway can send them."""
    if not text_alerts:
        field.choices = choices.options(c for c in choices.ALERT_CHANNELS if c[0] != "sms")


def _monitoring(label: str, options: choices.Choices) -> SelectField:
    return SelectField(label, choices=choices.options(choices.with_prefer_not_to_say(options)),
                       default=choices.PREFER_NOT_TO_SAY, validate_choice=False)


class _ApplyForm(FlaskForm):
    # One random id per filled-in form, so that sending the same form twice (a refresh of
    # the confirmation page) cannot create a second application.
    submission = HiddenField()
    agree_terms = BooleanField(_l("I have read the membership terms above and I agree to them"))
    password = _password(_l("Choose a password"))
    password_again = _password(_l("Type the same password again"))

    field_order: tuple[str, ...] = ()

    def show_problems(self, problems: Mapping[str, object]) -> None:
        show_problems(self, problems)

    def problem_list(self) -> list[tuple[str, object]]:
        """(field id, message) for the summary at the top of the form, in page order."""
        return [(self[name].id, self[name].errors[0]) for name in self.field_order
                if self[name].errors]


class IndividualForm(_ApplyForm):
    work_name = _text(_l("Work name"), validation.MAX_NAME_CHARS)
    real_name = _text(_l("Real name (optional)"), validation.MAX_NAME_CHARS)
    email = _text(_l("Email address"), validation.MAX_EMAIL_CHARS, EmailField)
    mobile = _text(_l("Mobile number"), validation.MAX_PHONE_CHARS, TelField)
    alert_channel = RadioField(_l("How do you want to receive alerts?"),
                               choices=choices.options(choices.ALERT_CHANNELS),
                               validate_choice=False)
    gender = _monitoring(_l("Gender (optional)"), choices.GENDERS)
    sector = _monitoring(_l("Kind of sex work (optional)"), choices.SECTORS)
    area = _monitoring(_l("Area where you mostly work (optional)"), choices.AREAS)
    alert_area = _alert_area()

    # Page order for the problem summary: the fields in the order the template shows them.
    field_order = ("work_name", "real_name", "email", "mobile", "alert_channel", "alert_area",
                   "gender", "sector", "area", "agree_terms", "password", "password_again")

    def application(self) -> IndividualApplication:
        return IndividualApplication(
            work_name=self.work_name.data or "", real_name=self.real_name.data or "",
            email=self.email.data or "", mobile=self.mobile.data or "",
            alert_channel=self.alert_channel.data or "",
            gender=self.gender.data or choices.PREFER_NOT_TO_SAY,
            sector=self.sector.data or choices.PREFER_NOT_TO_SAY,
            area=self.area.data or choices.PREFER_NOT_TO_SAY,
            alert_area=self.alert_area.data or "",
            agree_terms=bool(self.agree_terms.data),
            password=self.password.data or "", password_again=self.password_again.data or "",
        )


class OrganisationForm(_ApplyForm):
    org_name = _text(_l("Organisation name"), validation.MAX_NAME_CHARS)
    org_website = _text(_l("Official website"), validation.MAX_WEBSITE_CHARS, URLField)
    org_email = _text(_l("Official email address"), validation.MAX_EMAIL_CHARS, EmailField)
    key_contact = _text(_l("Key contact's name"), validation.MAX_NAME_CHARS)
    org_description = TextAreaField(
        _l("Your organisation's work with sex workers"),
        render_kw={"maxlength": validation.MAX_DESCRIPTION_CHARS, "rows": 6,
                   "autocomplete": "off"})
    alert_channel = RadioField(_l("How do you want to receive alerts?"),
                               choices=choices.options(choices.ORG_ALERT_CHANNELS),
                               validate_choice=False)
    alert_area = _alert_area()

    field_order = ("org_name", "org_website", "org_email", "key_contact", "org_description",
                   "alert_channel", "alert_area", "agree_terms", "password", "password_again")

    def application(self, kind: str) -> OrganisationApplication:
        return OrganisationApplication(
            kind=kind, org_name=self.org_name.data or "",
            org_website=self.org_website.data or "", org_email=self.org_email.data or "",
            key_contact=self.key_contact.data or "",
            org_description=self.org_description.data or "",
            alert_channel=self.alert_channel.data or "",
            alert_area=self.alert_area.data or "",
            agree_terms=bool(self.agree_terms.data),
            password=self.password.data or "", password_again=self.password_again.data or "",
        )
