from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from app.auth.staff import DISABLE_REASONS, ENABLE_REASONS, MAX_LABEL_CHARS
from app.common.choices import (
    LEAVE_REASONS,
    MALICIOUS_REASONS,
    MALICIOUS_UNDO_REASONS,
    options,
)
from app.common.labels import KIND_LABELS
from app.membership.decisions import (
    APPROVE_UNREAD_REASONS,
    INFO_REASONS,
    REJECT_REASONS,
    REVOKE_REASONS,
)
from app.web.forms import ConfirmForm, note_field, reason_field


class UnlockForm(FlaskForm):
    key_file = FileField(_l("Your key file"), validators=[FileRequired()])
    passphrase = PasswordField(_l("Passphrase"), validators=[DataRequired(), Length(max=1024)],
                               render_kw={"autocomplete": "off"})


class RejectForm(FlaskForm):
    # Each decision form on a page has its own ids (both forms show on one application).
    reason = SelectField(_l("Reason"), choices=options(REJECT_REASONS.items()),
                         id="reject_reason")


class ApproveUnreadForm(FlaskForm):
    reason = SelectField(_l("Why you approve it without opening it"),
                         choices=options(APPROVE_UNREAD_REASONS.items()))


class InfoForm(FlaskForm):
    reason = SelectField(_l("What we need"), choices=options(INFO_REASONS.items()),
                         id="info_reason")
    # Length is checked by the service, with a message, as every other rule on it.
    question = TextAreaField(_l("Your question to the organisation"))


class RevokeForm(ConfirmForm):
    # No reason is chosen for the coordinator: each revocation says its own.
    reason = reason_field(_l("Why the membership is revoked"), REVOKE_REASONS.items())


class LeaveForm(ConfirmForm):
    reason = reason_field(_l("How the member asked to leave"), LEAVE_REASONS)
    # No note: the member's details are deleted, and a note could name them and outlive
    # that (app/membership/decisions.leave).
    note = None  # type: ignore[assignment]


class MaliciousForm(ConfirmForm):
    reason = reason_field(_l("Why the report is malicious or false"), MALICIOUS_REASONS)


class UndoMaliciousForm(ConfirmForm):
    reason = reason_field(_l("Why the mark is taken off"), MALICIOUS_UNDO_REASONS)


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
    note = note_field()
    confirm = BooleanField(
        _l("Disable this login now: its sessions end and any key it unlocked is locked."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))])


class EnableStaffForm(FlaskForm):
    reason = RadioField(_l("Why"), choices=options(ENABLE_REASONS),
                        validators=[DataRequired(message=_l("Choose a reason."))])
    note = note_field()
    confirm = BooleanField(_l("Let this login sign in again."),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])


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
