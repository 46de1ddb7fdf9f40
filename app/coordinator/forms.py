from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, PasswordField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.auth.staff import DISABLE_REASONS, ENABLE_REASONS, MAX_LABEL_CHARS
from app.common.choices import options
from app.membership.decisions import (
    APPROVE_UNREAD_REASONS,
    INFO_REASONS,
    REJECT_REASONS,
    REVOKE_REASONS,
)


class UnlockForm(FlaskForm):
    key_file = FileField(_l("Vetting key file"), validators=[FileRequired()])
    passphrase = PasswordField(_l("Passphrase"), validators=[DataRequired(), Length(max=1024)],
                               render_kw={"autocomplete": "off"})


class RejectForm(FlaskForm):
    reason = SelectField(_l("Reason"), choices=options(REJECT_REASONS.items()))


class ApproveUnreadForm(FlaskForm):
    reason = SelectField(_l("Why you approve it without opening it"),
                         choices=options(APPROVE_UNREAD_REASONS.items()))


class InfoForm(FlaskForm):
    reason = SelectField(_l("What we need"), choices=options(INFO_REASONS.items()))
    # Length is checked by the service, with a message, as every other rule on it.
    question = TextAreaField(_l("Your question to the organisation"))


class RevokeForm(FlaskForm):
    reason = SelectField(_l("Reason"), choices=options(REVOKE_REASONS.items()))


class FindMemberForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search that changes nothing

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=128)])


class MemberAccessForm(FlaskForm):
    checked = BooleanField(
        _l("The member asked for this, and I have made sure it is really them."),
        validators=[DataRequired(message=_l("Tick the box to confirm the member asked."))])


class StaffLabelForm(FlaskForm):
    label = StringField(_l("Display name"), validators=[Length(max=MAX_LABEL_CHARS)],
                        render_kw={"maxlength": MAX_LABEL_CHARS, "autocomplete": "off"})


class DisableStaffForm(FlaskForm):
    reason = RadioField(_l("Why"), choices=options(DISABLE_REASONS),
                        validators=[DataRequired(message=_l("Choose a reason."))])
    confirm = BooleanField(
        _l("Disable this login now: its sessions end and any key it unlocked is locked."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))])


class EnableStaffForm(FlaskForm):
    reason = RadioField(_l("Why"), choices=options(ENABLE_REASONS),
                        validators=[DataRequired(message=_l("Choose a reason."))])
    confirm = BooleanField(_l("Let this login sign in again."),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])
