"""Putting a service's per-field problems back on the form that collected the input.

Services check input without a request and return {field name: message}; views show each
message next to its field. Names the form does not have (an identifier row, say) are left
for the template's problem summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2, not yet in types-WTForms
from wtforms.validators import DataRequired, Length

from app.common.validation import MAX_DECISION_NOTE_CHARS


def show_problems(form: FlaskForm, problems: Mapping[str, object] | None) -> None:
    for name, message in (problems or {}).items():
        if name in form:
            form[name].errors = [message]


def note_field() -> TextAreaField:
    return TextAreaField(_l("Note (optional)"),
                         validators=[Length(max=MAX_DECISION_NOTE_CHARS)])


class ConfirmForm(FlaskForm):
    """An irreversible step's confirmation: a tick, a reason (each step adds its own
    `reason` field from its list in app/common/choices.py) and an optional note, which the
    service seals. The service checks all of it again: the form only shows the problems."""

    note = note_field()
    confirm = BooleanField(_l("I have read what will happen, and I want to go ahead."),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])


def reason_field(label: str, choices: Iterable[tuple[str, object]]) -> RadioField:
    return RadioField(label, choices=[SelectChoice(value, text) for value, text in choices],
                      validators=[DataRequired(message=_l("Choose a reason."))])


@dataclass(frozen=True)
class ConfirmPage:
    """What a confirmation page says (templates/confirm.html); every text already
    translated by the view that builds it."""

    title: str
    happens: Sequence[str]
    action: str
    button: str
    back: str
    # Set when the step cannot be taken yet: why, and a POST that puts it right.
    blocked: str | None = None
    blocked_detail: str | None = None
    fix_action: str | None = None
    fix_button: str | None = None
