from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField

from app.common.choices import options
from app.common.labels import SUPPORT_STATUS_LABELS


class StatusForm(FlaskForm):
    # The service says what is wrong with a status not offered; the form only carries it.
    status = SelectField(_l("Status"), validate_choice=False,
                         choices=options(SUPPORT_STATUS_LABELS.items()))


class NoteForm(FlaskForm):
    note = TextAreaField(_l("Note"), render_kw={"rows": 5, "autocomplete": "off"})


class ReplyForm(FlaskForm):
    """A reporter's answer to the scheme's message about their support."""

    # Length and emptiness are the service's to check, with its messages.
    answer = TextAreaField(_l("Your answer"), render_kw={"rows": 4, "autocomplete": "off"})


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token."""
