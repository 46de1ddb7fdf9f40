"""Members' messages (/account/messages): what was disclosed about them, and requests to
put them in touch with the police, which they answer here.

The member, or an organisation's key contact for the organisation.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.auth.current import current_account
from app.disclosures import codes, contact, service
from app.disclosures.forms import AnswerForm
from app.disclosures.records import ContactStatus
from app.web.access import MEMBER, ORG_CONTACT, allow
from app.web.state import get_db, now

bp = Blueprint("messages", __name__, url_prefix="/account/messages")
bp.context_processor(codes.page_labels)


def _member_id() -> str:
    member_id = current_account().member_id
    assert member_id is not None
    return member_id


@bp.get("")
@allow(MEMBER, ORG_CONTACT)
def messages_index() -> str:
    return render_template("disclosures/messages.html",
                           messages=contact.messages(get_db(), _member_id()))


def _message_page(found: contact.Message, form: AnswerForm | None = None,
                  status: int = 200) -> tuple[str, int]:
    return render_template("disclosures/message.html", m=found,
                           form=form or AnswerForm()), status


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
