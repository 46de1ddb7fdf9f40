from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from app.audit.browse import NO_LEGAL_BASIS
from app.audit.labels import LEGAL_BASIS_LABELS, PURPOSE_LABELS
from app.common.choices import options

ANY = ("", _l("Any"))


class LogFilterForm(FlaskForm):
    """Narrowing the log: a GET form that changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    date_from = DateField(_l("From (UTC date)"), validators=[Optional()])
    date_to = DateField(_l("To (UTC date)"), validators=[Optional()])
    who = StringField(_l("Who acted or approved"), validators=[Optional(), Length(max=128)])
    record = StringField(_l("Record id"), validators=[Optional(), Length(max=200)])
    purpose = SelectField(_l("Purpose"), default="",
                          choices=options([ANY, *PURPOSE_LABELS.items()]))
    legal_basis = SelectField(_l("Legal basis"), default="",
                              choices=options([ANY, (NO_LEGAL_BASIS, _l("None recorded")),
                                               *LEGAL_BASIS_LABELS.items()]))
    event = SelectField(_l("Event"), default="", choices=options([ANY]))  # set from the log

    FILTER_FIELDS = ("date_from", "date_to", "who", "record", "purpose", "legal_basis",
                     "event")


class KeptCheckpointForm(FlaskForm):
    kept = FileField(_l("A checkpoint file you kept (one checkpoint, or the list of all)"),
                     validators=[FileRequired()])
