"""The check form: it renders the fields and collects what was typed, nothing more.

Checks live in app/checker/service.py; CSRF is checked by CSRFProtect before the view runs.
The value field is never filled back in: the form is always shown empty, so what was typed
is not shown again (someone else may see the screen).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2, not yet in types-WTForms

from app.checker.service import MAX_VALUE_CHARS
from app.common import identifiers

DEFAULT_KIND = "phone"


class CheckForm(FlaskForm):
    kind = RadioField(
        _l("What are you checking?"),
        choices=[SelectChoice(kind, identifiers.KINDS[kind]) for kind in identifiers.CHECKABLE],
        default=DEFAULT_KIND, validate_choice=False)
    # autocomplete off: a browser's remembered entries would show the next person on a
    # shared device what was checked.
    value = StringField(
        _l("Phone number, email address, registration or username"),
        render_kw={"maxlength": MAX_VALUE_CHARS, "autocomplete": "off",
                   "spellcheck": "false", "autocapitalize": "none"})

    field_order = ("kind", "value")

    def show_problem(self, field: str, message: object) -> None:
        self[field].errors = [message]

    def forget_value(self) -> None:
        """Never render what was typed back into the page."""
        self.value.data = ""
        self.value.raw_data = []

    def problem_list(self) -> list[tuple[str, object]]:
        """(field id, message) for the summary at the top of the form, in page order."""
        return [(self[name].id, self[name].errors[0]) for name in self.field_order
                if self[name].errors]
