from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from app.common.choices import options
from app.membership.decisions import INFO_REASONS, REJECT_REASONS, REVOKE_REASONS


class UnlockForm(FlaskForm):
    key_file = FileField(_l("Vetting key file"), validators=[FileRequired()])
    passphrase = PasswordField(_l("Passphrase"), validators=[DataRequired(), Length(max=1024)],
                               render_kw={"autocomplete": "off"})


class RejectForm(FlaskForm):
    # Each decision form on a page has its own ids (both forms show on one application).
    reason = SelectField(_l("Reason"), choices=options(REJECT_REASONS.items()),
                         id="reject_reason")


class InfoForm(FlaskForm):
    reason = SelectField(_l("What we need"), choices=options(INFO_REASONS.items()),
                         id="info_reason")


class RevokeForm(FlaskForm):
    reason = SelectField(_l("Reason"), choices=options(REVOKE_REASONS.items()),
                         id="revoke_reason")


class FindMemberForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search that changes nothing

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=128)])
