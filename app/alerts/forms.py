from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, DateField, StringField, TextAreaField

from app.alerts.service import Alert, AlertDraft
from app.common import choices
from app.reports.forms import CheckboxList, identifier_rows


class AlertForm(FlaskForm):
    title = StringField(_l("Title"))
    national = BooleanField(_l("All of the UK and Ireland"))
    areas = CheckboxList(_l("Areas"), choices=choices.options(choices.AREAS),
                         validate_choice=False)
    categories = CheckboxList(_l("What happened"), choices=choices.options(
        choices.REPORT_CATEGORIES), validate_choice=False)
    incident_date = DateField(_l("Date of the incident"))
    description = TextAreaField(_l("What members need to know"))


class AreasForm(FlaskForm):
    areas = CheckboxList(_l("Areas you want alerts for"), choices=choices.options(choices.AREAS),
                         validate_choice=False)


def rows_with_choice(form_data: MultiDict) -> list[tuple[str, str, bool]]:
    """(kind, value, publish?) for every posted identifier row."""
    rows = identifier_rows(form_data)
    return [(kind, value, form_data.get(f"identifiers-{i}-publish") == "y")
            for i, (kind, value) in enumerate(rows)]


def draft_from(form: AlertForm, rows: list[tuple[str, str, bool]], raw_date: str) -> AlertDraft:
    return AlertDraft(
        title=form.title.data or "", national=bool(form.national.data),
        areas=list(form.areas.data or []), categories=list(form.categories.data or []),
        incident_date=raw_date, description=form.description.data or "",
        identifiers=[(kind, value) for kind, value, publish in rows if publish])


def fill_form(form: AlertForm, alert: Alert) -> None:
    form.title.data = alert.title
    form.national.data = alert.national
    form.areas.data = list(alert.areas)
    form.categories.data = list(alert.categories)
    form.description.data = alert.description
