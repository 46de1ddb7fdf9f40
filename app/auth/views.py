from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from app.auth import recovery, sessions
from app.auth import reset as reset_codes
from app.auth import staff as staff_logins
from app.auth.accounts import STAFF_ROLES
from app.auth.current import SESSION_TOKEN
from app.auth.forms import ResetCodeForm, ResetRequestForm, SignInCodeForm, SignInForm
from app.auth.signin import Outcome, attempt_code, attempt_password
from app.vault.db import transaction
from app.web.access import EVERYONE, PENDING, SIGNED_IN, allow
from app.web.state import get_db, load_keys, now, state

bp = Blueprint("auth", __name__)

_CODE_FOR = "code_for"
_CODE_UNTIL = "code_until"
CODE_WINDOW = timedelta(minutes=5)


def _landing(role: str, status: str = "active") -> str:
    if role == "coordinator":
        return url_for("coordinator.queue")
    if status == "pending":  # an organisation asked a question: straight to it
        return url_for("messages.messages_index")
    return url_for("account.settings")


def begin_session(account_id: str, role: str, status: str = "active") -> Response:
    """A brand-new session token (never reuse one from before sign-in)."""
    conn = get_db()
    with transaction(conn):
        token = sessions.create(conn, account_id, now())
        if role in STAFF_ROLES:
            staff_logins.record_sign_in(conn, account_id, now())
    session.clear()
    session[SESSION_TOKEN] = token
    return redirect(_landing(role, status))


@bp.route("/login", methods=["GET", "POST"])
@allow(*EVERYONE)
def login() -> Response | str | tuple[str, int]:
    if g.get("account") is not None:
        return redirect(_landing(g.account.role, g.account.status))
    form = SignInForm()
    if not form.is_submitted():
        return render_template("auth/login.html", form=form,
                               required=request.args.get("required") == "1")
    if not form.validate():
        return render_template("auth/login.html", form=form), 400
    attempt = attempt_password(get_db(), state().passwords, state().throttle,
                               form.username.data or "", form.password.data or "")
    if attempt.outcome is Outcome.THROTTLED:
        abort(429)
    if attempt.outcome is Outcome.FAILED:
        return render_template("auth/login.html", form=form, failed=True), 401
    assert attempt.account is not None
    if attempt.outcome is Outcome.PENDING:
        return render_template("auth/pending.html")
    if attempt.outcome is Outcome.CLOSED:
        return render_template("auth/closed.html"), 403
    if attempt.outcome is Outcome.NEEDS_CODE:
        session.clear()
        session[_CODE_FOR] = attempt.account.id
        session[_CODE_UNTIL] = (now() + CODE_WINDOW).timestamp()
        return redirect(url_for("auth.code"))
    return begin_session(attempt.account.id, attempt.account.role, attempt.account.status)


@bp.route("/login/code", methods=["GET", "POST"])
@allow(*EVERYONE)
def code() -> Response | str | tuple[str, int]:
    account_id = session.get(_CODE_FOR)
    if not account_id or now().timestamp() > session.get(_CODE_UNTIL, 0):
        session.pop(_CODE_FOR, None)
        flash(_("Please sign in again."))
        return redirect(url_for("auth.login"))
    form = SignInCodeForm()
    if not form.is_submitted():
        return render_template("auth/code.html", form=form)
    if not form.validate():
        return render_template("auth/code.html", form=form), 400
    attempt = attempt_code(get_db(), state().throttle, account_id, form.code.data or "", now(),
                           keys=load_keys(current_app))
    if attempt.outcome is Outcome.THROTTLED:
        abort(429)
    if attempt.outcome is not Outcome.SIGNED_IN or attempt.account is None:
        return render_template("auth/code.html", form=form, failed=True), 401
    signed_in = begin_session(attempt.account.id, attempt.account.role,
                              attempt.account.status)
    if attempt.used_recovery_code:
        left = recovery.remaining(get_db(), attempt.account.id)
        flash(ngettext("You signed in with a recovery code. It cannot be used again: you "
                       "have %(num)d recovery code left.",
                       "You signed in with a recovery code. It cannot be used again: you "
                       "have %(num)d recovery codes left.", left))
        if left <= 3:
            flash(_("Turn two-step sign-in off and on again in Your account to get new "
                    "codes, or set up your authenticator app again."))
    return signed_in


@bp.post("/logout")
@allow(*SIGNED_IN, PENDING)
def logout() -> Response:
    token = session.get(SESSION_TOKEN)
    if token:
        conn = get_db()
        with transaction(conn):
            sessions.end(conn, token)
        state().forget_session(token)
    session.clear()
    flash(_("You are signed out."))
    return redirect(url_for("public.index"))


@bp.route("/reset", methods=["GET", "POST"])
@allow(*EVERYONE)
def reset() -> str | tuple[str, int]:
    form = ResetRequestForm()
    if not form.is_submitted():
        return render_template("auth/reset.html", form=form)
    if not form.validate():
        return render_template("auth/reset.html", form=form), 400
    username = form.username.data or ""
    if not state().throttle.allow_attempt(username):
        abort(429)
    # Every request counts against the account's limit, so codes cannot be sprayed.
    state().throttle.record_failure(username)
    reset_codes.request_code(get_db(), load_keys(current_app), username, now())
    # The same page whether or not the username exists or can receive a code.
    return render_template("auth/reset_sent.html")


@bp.route("/reset/code", methods=["GET", "POST"])
@allow(*EVERYONE)
def reset_code() -> Response | str | tuple[str, int]:
    form = ResetCodeForm()
    if not form.is_submitted():
        return render_template("auth/reset_code.html", form=form)
    if not form.validate():
        return render_template("auth/reset_code.html", form=form), 400
    if not state().throttle.allow_attempt(form.username.data or ""):
        abort(429)
    problem = reset_codes.use_code(get_db(), load_keys(current_app), state().passwords,
                                   form.username.data or "", form.code.data or "",
                                   form.new.data or "", now())
    if problem:
        state().throttle.record_failure(form.username.data or "")
        return render_template("auth/reset_code.html", form=form, problem=str(problem)), 400
    flash(_("Your password is changed, and every session was signed out. Sign in now."))
    return redirect(url_for("auth.login"))
