from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, RadioField, StringField, TextAreaField

from app.alerts.service import Alert, AlertDraft
from app.common import choices
from app.reports.forms import CheckboxList, read_identifier_rows
from app.web.forms import ConfirmForm, reason_field


class AlertForm(FlaskForm):
    title = StringField(_l("Title"))
    national = BooleanField(_l("All of the UK and Ireland"))
    areas = CheckboxList(_l("Areas"), choices=choices.options(choices.AREAS),
                         validate_choice=False)
    categories = CheckboxList(_l("What happened"), choices=choices.options(
        choices.REPORT_CATEGORIES), validate_choice=False)
    incident_date = DateField(_l("Date of the incident"))
    description = TextAreaField(_l("What members need to know"))
    # Asked only when a published alert is saved: an edit must not go live unnoticed, nor
    # send every member a second notice without the coordinator choosing to.
    notify_again = RadioField(_l("Notify members again?"), validate_choice=False,
                              choices=choices.options([
                                  ("yes", _l("Yes: members in its areas get a notice again, "
                                             "as when it was published")),
                                  ("no", _l("No: just record the change (members see "
                                            "\"Updated\" on the alert)"))]))


class WithdrawForm(ConfirmForm):
    reason = reason_field(_l("Why the alert is withdrawn"), choices.ALERT_WITHDRAW_REASONS)


class UndoWithdrawForm(ConfirmForm):
    reason = reason_field(_l("Why the alert is published again"), choices.ALERT_UNDO_REASONS)


class AreasForm(FlaskForm):
    areas = CheckboxList(_l("Areas you want alerts for"), choices=choices.options(choices.AREAS),
                         validate_choice=False)


ALERT_ROW_FIELDS = ("kind", "value", "publish")


def rows_with_choice(form_data: Mapping[str, object]) -> list[tuple[str, str, bool]]:
    """(kind, value, publish?) for every posted identifier row, each tick matched by row number.

    Matched by number, never by position: an unticked box is not posted at all, and a gap
    in the numbering must not move a tick onto another identifier.
    """
    rows = read_identifier_rows(form_data, ALERT_ROW_FIELDS)
    return [(kind, value, publish == "y")
            for kind, value, publish in rows.values("kind", "value", "publish")]


def identifier_problem(form_data: Mapping[str, object]) -> object | None:
    """A message when a row key is malformed (the post is refused whole), else None."""
    return read_identifier_rows(form_data, ALERT_ROW_FIELDS).problem


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
