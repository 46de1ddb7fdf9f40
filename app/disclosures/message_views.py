"""Members' messages (/account/messages): what was disclosed about them, and requests to
put them in touch with the police, which they answer here.

The member, or an organisation's key contact for the organisation.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.auth.current import current_account
from app.common import validation
from app.disclosures import codes, contact, service
from app.disclosures.forms import AnswerForm, QuestionAnswerForm
from app.disclosures.records import ContactStatus
from app.membership import questions
from app.support import service as support
from app.support.forms import ReplyForm
from app.web.access import MEMBER, ORG_CONTACT, PENDING, allow
from app.web.state import get_db, load_keys, now

bp = Blueprint("messages", __name__, url_prefix="/account/messages")
bp.context_processor(codes.page_labels)


def _member_id() -> str:
    member_id = current_account().member_id
    assert member_id is not None
    return member_id


@bp.get("")
@allow(MEMBER, ORG_CONTACT, PENDING)
def messages_index() -> str:
    return render_template("disclosures/messages.html",
                           messages=contact.messages(get_db(), _member_id()),
                           questions=questions.for_application(get_db(), _member_id()))


def _question_or_404(question_id: str) -> questions.Question:
    found = questions.find(get_db(), _member_id(), question_id)
    if found is None:
        abort(404)
    return found


def _question_page(found: questions.Question, form: QuestionAnswerForm | None = None,
                   status: int = 200) -> tuple[str, int]:
    return render_template("disclosures/question.html", q=found,
                           form=form or QuestionAnswerForm()), status


@bp.get("/questions/<question_id>")
@allow(ORG_CONTACT, PENDING)
def question(question_id: str) -> tuple[str, int]:
    return _question_page(_question_or_404(question_id))


@bp.post("/questions/<question_id>/answer")
@allow(PENDING)
def answer_question(question_id: str) -> Response | tuple[str, int]:
    found = _question_or_404(question_id)
    form = QuestionAnswerForm()
    if not form.validate():
        abort(400)
    try:
        questions.answer(get_db(), load_keys(current_app).vetting_public, _member_id(),
                         current_account().id, question_id, form.answer.data or "", now())
    except questions.QuestionInvalid as invalid:
        form.answer.errors = [str(invalid.message)]
        return _question_page(found, form, 400)
    flash(_("Thank you. Your answer is sealed, and a coordinator will read it."))
    return redirect(url_for("messages.question", question_id=question_id))


def _message_page(found: contact.Message, form: AnswerForm | None = None,
                  status: int = 200, support_form: ReplyForm | None = None) -> tuple[str, int]:
    answered_at = None
    if found.kind == "support":
        request_id = support.request_of_message(get_db(), _member_id(), found.id)
        request = None if request_id is None else support.find(get_db(), request_id, now())
        answered_at = None if request is None else request.answered_at
        support_form = support_form or ReplyForm()
    return render_template("disclosures/message.html", m=found,
                           form=form or AnswerForm(), support_form=support_form,
                           support_answered_at=answered_at), status


@bp.get("/<message_id>")
@allow(MEMBER, ORG_CONTACT)
def message(message_id: str) -> tuple[str, int]:
    found = contact.message(get_db(), _member_id(), message_id, now())
    if found is None:
        abort(404)
    return _message_page(found)


@bp.post("/<message_id>/answer")
@allow(MEMBER, ORG_CONTACT)
def answer(message_id: str) -> Response | tuple[str, int]:
    found = contact.message(get_db(), _member_id(), message_id)
    if found is None:
        abort(404)
    form = AnswerForm()
    if not form.validate():
        abort(400)
    account = current_account()
    try:
        status = contact.answer(get_db(), _member_id(), account.id, message_id,
                                form.answer.data or "", now())
    except service.RequestInvalid as invalid:
        form.answer.errors = [str(invalid.problems["answer"])]
        return _message_page(found, form, 400)
    except service.NotAllowed as error:
        flash(str(error.message))
        return redirect(url_for("messages.message", message_id=message_id))
    except LookupError:
        abort(404)
    flash(_("Thank you. We will pass on your details as you agreed.")
          if status == ContactStatus.ACCEPTED
          else _("Thank you. Nothing about you will be passed on."))
    return redirect(url_for("messages.message", message_id=message_id))


@bp.post("/<message_id>/support-answer")
@allow(MEMBER, ORG_CONTACT)
def answer_support(message_id: str) -> Response | tuple[str, int]:
    found = contact.message(get_db(), _member_id(), message_id)
    if found is None or found.kind != "support":
        abort(404)
    form = ReplyForm()
    if not form.validate():
        abort(400)
    try:
        support.answer(get_db(), load_keys(current_app), _member_id(), current_account().id,
                       message_id, form.answer.data or "", now())
    except validation.Invalid as invalid:
        form.answer.errors = [str(invalid.message)]
        return _message_page(found, status=400, support_form=form)
    except LookupError:
        abort(404)
    flash(_("Thank you. Your answer is sealed, and a coordinator will read it."))
    return redirect(url_for("messages.message", message_id=message_id))
