from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class SignInForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=128)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none",
                                      "spellcheck": "false"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})


class CodeForm(FlaskForm):
    code = StringField(_l("6-digit code from your authenticator app"),
                       validators=[DataRequired(), Length(min=6, max=12)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class SignInCodeForm(FlaskForm):
    # No numeric keypad: a recovery code has letters.
    code = StringField(_l("Code"), validators=[DataRequired(), Length(min=6, max=24)],
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "none",
                                  "spellcheck": "false"})


class ChangePasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)],
                            render_kw={"autocomplete": "current-password"})
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("New password again"),
                            validators=[DataRequired(), EqualTo(
                                "new", message=_l("The two new passwords differ."))],
                            render_kw={"autocomplete": "new-password"})


class ConfirmForm(FlaskForm):
    """A button-only form: the CSRF token is its only field."""


class TwoStepOffForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=256)],
                             render_kw={"autocomplete": "current-password"})
    code = StringField(_l("A code from your authenticator app, or a recovery code"),
                       validators=[DataRequired(), Length(min=6, max=24)],
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "none",
                                  "spellcheck": "false"})


class LeaveForm(FlaskForm):
    understood = BooleanField(
        _l("I understand: my name and contact details are deleted now and cannot be "
           "recovered, and this account stops working."),
        validators=[DataRequired(message=_l("Tick the box to confirm you want to leave."))])


class ResetRequestForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=128)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})


class ResetCodeForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=128)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    code = StringField(_l("The 8-digit code we sent you"),
                       validators=[DataRequired(), Length(max=16)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)],
                        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("New password again"), validators=[DataRequired(), EqualTo(
        "new", message=_l("The two new passwords differ."))],
        render_kw={"autocomplete": "new-password"})
