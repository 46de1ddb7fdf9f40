"""Forms of the disclosure pages. The service modules check every value; these only carry
them (choices are not validated here, so a bad value gets the service's message)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget

from app.common import choices
from app.common.choices import options
from app.disclosures import codes
from app.web.forms import ConfirmForm, reason_field


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


_ALL_FIELDS = [pair for table in ("members", "reports") for pair in codes.FIELDS[table]]


class RequestForm(FlaskForm):
    authority = SelectField(_l("Who is asking"), validate_choice=False, choices=options(
        [("", _l("Choose the force or authority")), *codes.AUTHORITIES]))
    requester = StringField(_l("Name and role of the person asking"),
                            render_kw={"autocomplete": "off"})
    reference = StringField(_l("Their reference"), render_kw={"autocomplete": "off"})
    legal_basis = RadioField(_l("Legal basis"), validate_choice=False,
                             choices=options(codes.LEGAL_BASES))
    contact_request_id = StringField(
        _l("For consent only: the request to contact the member that they said yes to"),
        render_kw={"autocomplete": "off"})
    subject_table = RadioField(_l("What the request is about"), validate_choice=False,
                               choices=options(codes.SUBJECT_TABLES))
    record_ids = StringField(_l("Record ids"), render_kw={"autocomplete": "off"})
    fields = CheckboxList(_l("Details requested"), validate_choice=False,
                          choices=options(_ALL_FIELDS))
    justification = TextAreaField(_l("Justification"))
    delay = BooleanField(_l("The legal basis demands that the member is not told yet"))
    delay_reason = SelectField(_l("Why the member cannot be told now"), validate_choice=False,
                               choices=options([("", _l("Not delayed")),
                                                *codes.DELAY_REASONS]))
    review_on = StringField(_l("Review the delay on (UTC date, YYYY-MM-DD)"),
                            render_kw={"type": "date"})


class DecisionForm(FlaskForm):
    """Approve: the approver confirms they read the request."""

    read_it = BooleanField(_l("I have read who is asking, the legal basis and the "
                              "justification, and the details asked for are no more than "
                              "needed"))


class DiscloseForm(ConfirmForm):
    reason = reason_field(_l("Before you disclose"), choices.DISCLOSE_REASONS)


class RefuseForm(FlaskForm):
    reason = SelectField(_l("Reason"), validate_choice=False, choices=options(
        [("", _l("Choose a reason")), *codes.REFUSAL_REASONS]))
    note = TextAreaField(_l("Note (optional; sealed like the request)"))


class DelayForm(FlaskForm):
    delay_reason = SelectField(_l("Why the member still cannot be told"),
                               validate_choice=False,
                               choices=options([("", _l("Choose a reason")),
                                                *codes.DELAY_REASONS]))
    review_on = StringField(_l("New review date (UTC, YYYY-MM-DD)"),
                            render_kw={"type": "date"})


class ContactForm(FlaskForm):
    report_id = StringField(_l("Report id"), render_kw={"autocomplete": "off"})
    authority = SelectField(_l("Who is asking"), validate_choice=False, choices=options(
        [("", _l("Choose the force or authority")), *codes.AUTHORITIES]))
    reason = RadioField(_l("They would like to"), validate_choice=False,
                        choices=options(codes.CONTACT_REASONS))
    fields = CheckboxList(_l("If the member says yes, they would be given"),
                          validate_choice=False, choices=options(codes.CONTACT_FIELDS))
    requester = StringField(_l("Name and role of the person asking"),
                            render_kw={"autocomplete": "off"})
    reference = StringField(_l("Their reference"), render_kw={"autocomplete": "off"})
    note = TextAreaField(_l("Note for coordinators (optional; sealed, never shown to the "
                            "member)"))


class AnswerForm(FlaskForm):
    answer = RadioField(_l("Your answer"), validate_choice=False, choices=options([
        ("yes", _l("Yes: pass on the details listed so they can contact me")),
        ("no", _l("No: do not pass on anything about me"))]))


class ExportForm(FlaskForm):
    report_ids = CheckboxList(_l("Reports"), validate_choice=False, choices=[])
    offender = BooleanField(_l("The offender's identifiers and description"), default=True)
    narrative = BooleanField(_l("The narrative and place, in the reporter's words (read them "
                                "first: they can identify the reporter)"))
    reporter_details = BooleanField(_l("The reporter's details, only for reports whose "
                                       "reporter consented to that"))


class QuestionAnswerForm(FlaskForm):
    # Length and emptiness are the service's to check, with its messages.
    answer = TextAreaField(_l("Your answer"))
