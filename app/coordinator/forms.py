from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.common.choices import options
from app.common.labels import KIND_LABELS
from app.membership.decisions import INFO_REASONS, REJECT_REASONS, REVOKE_REASONS


class UnlockForm(FlaskForm):
    key_file = FileField(_l("Vetting key file"), validators=[FileRequired()])
    passphrase = PasswordField(_l("Passphrase"), validators=[DataRequired(), Length(max=1024)],
                               render_kw={"autocomplete": "off"})


class RejectForm(FlaskForm):
    reason = SelectField(_l("Reason"), choices=options(REJECT_REASONS.items()))


class InfoForm(FlaskForm):
    reason = SelectField(_l("What we need"), choices=options(INFO_REASONS.items()))


class RevokeForm(FlaskForm):
    reason = SelectField(_l("Reason"), choices=options(REVOKE_REASONS.items()))


class FindMemberForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search that changes nothing

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=128)])


class QueueFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter that changes nothing

    kind = SelectField(_l("Type"), default="", choices=options([("", _l("Every type")),
                                                    *KIND_LABELS.items()]))
    applied_from = DateField(_l("Applied on or after (UK date)"), validators=[Optional()])
    applied_to = DateField(_l("Applied on or before (UK date)"), validators=[Optional()])


class RejectManyForm(FlaskForm):
    """Several applications rejected with one reason; the ids come as posted lists."""

    all_shown = BooleanField(_l("Select every application shown"))
    reason = SelectField(_l("Reason for rejecting the selected applications"),
                         choices=options([("", _l("Choose a reason")),
                                          *REJECT_REASONS.items()]),
                         validators=[DataRequired(message=_l("Choose a reason."))])
