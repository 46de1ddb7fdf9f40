from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget

from app.common import choices, identifiers
from app.common.rows import IndexedRows, indexed_rows
from app.reports.service import MAX_IDENTIFIERS, ReportSubmission

START_ROWS = 3
ADD_ROWS = 3


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AdditionForm(FlaskForm):
    text = TextAreaField(_l("What you want to add"),
                         render_kw={"rows": 8, "autocomplete": "off"})


class WithdrawForm(FlaskForm):
    """No fields: the button, and the CSRF token every POST carries."""


class ReportForm(FlaskForm):
    incident_date = DateField(_l("Date it happened"), validators=[])
    incident_time = SelectField(_l("Roughly when"), choices=choices.options(choices.TIMES_OF_DAY),
                                validate_choice=False)
    area = SelectField(_l("Area"),
                       choices=choices.options([("", _l("Choose an area")), *choices.AREAS]),
                       validate_choice=False)
    place = StringField(_l("Where, in a few words (optional)"))
    categories = CheckboxList(_l("What happened (choose all that apply)"),
                              choices=choices.options(choices.REPORT_CATEGORIES),
                              validate_choice=False)
    description = TextAreaField(_l("What he looks like, his vehicle, how he behaves (optional)"))
    narrative = TextAreaField(_l("What happened, in your own words"))
    consent_alert = BooleanField(_l("Yes: share an anonymised alert with other members"))
    consent_police_anonymous = BooleanField(
        _l("Yes: share this anonymously with police intelligence"))
    consent_police_details = BooleanField(
        _l("Yes: share this with the police including my details"))
    wants_support = BooleanField(_l("Yes: I would like support from a caseworker or ISVA"))
    third_party = BooleanField(_l("I am reporting for someone else"))


IDENTIFIER_FIELDS = ("kind", "value")


def read_identifier_rows(form_data: Mapping[str, object],
                         fields: tuple[str, ...] = IDENTIFIER_FIELDS) -> IndexedRows:
    """The identifiers-N-FIELD rows, matched by N; `.problem` is set for a malformed row key.

    Every posted row is read (not only the first MAX_IDENTIFIERS), so that too many is
    refused with a message rather than silently cut short.
    """
    return indexed_rows(form_data, "identifiers", fields)


def identifier_rows(form_data: Mapping[str, object]) -> list[tuple[str, str]]:
    """The (kind, value) rows posted as identifiers-N-kind / identifiers-N-value, by N."""
    return [(kind, value) for kind, value in read_identifier_rows(form_data).values(
        "kind", "value")]


def rows_to_show(rows: list[tuple[str, str]], add: bool) -> list[tuple[str, str]]:
    shown = list(rows)[:MAX_IDENTIFIERS]
    wanted = max(START_ROWS, len(shown) + (ADD_ROWS if add else 0))
    wanted = min(wanted, max(MAX_IDENTIFIERS, len(shown)))
    return shown + [("phone", "")] * (wanted - len(shown))


def submission(posted: Mapping[str, str], categories: list[str],
               rows: list[tuple[str, str]]) -> ReportSubmission:
    """What was posted, read as ReportForm's fields read it, without building the form.

    A report that is sent needs no form object: only one sent back with a problem does.
    The reading is WTForms' (tests/test_reports.py compares the two on many posts): a
    missing text is "", a checkbox is on unless missing, "" or "false".
    """
    def ticked(name: str) -> bool:
        return posted.get(name, "") not in ("", "false")

    return ReportSubmission(
        incident_date=posted.get("incident_date", ""),
        incident_time=posted.get("incident_time", ""),
        area=posted.get("area", ""),
        place=posted.get("place", ""),
        categories=categories,
        identifiers=rows,
        description=posted.get("description", ""),
        narrative=posted.get("narrative", ""),
        consent_alert=ticked("consent_alert"),
        consent_police_anonymous=ticked("consent_police_anonymous"),
        consent_police_details=ticked("consent_police_details"),
        wants_support=ticked("wants_support"),
        third_party=ticked("third_party"),
    )


IDENTIFIER_KINDS = list(identifiers.KINDS.items())
