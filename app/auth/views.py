from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
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
from werkzeug.wrappers import Response

from app.auth import device_cookie, sessions
from app.auth import reset as reset_codes
from app.auth.current import SESSION_TOKEN
from app.auth.forms import CodeForm, ResetCodeForm, ResetRequestForm, SignInForm
from app.auth.signin import (
    Attempt,
    Outcome,
    ask_for_code,
    attempt_code,
    attempt_password,
    remember_browser,
)
from app.vault.db import transaction
from app.web.access import EVERYONE, SIGNED_IN, allow
from app.web.limits import Verdict
from app.web.state import get_db, load_keys, now, state

bp = Blueprint("auth", __name__)
# A page, a page with its status, or a 429 with its Retry-After header.
Page = Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]

_CODE_FOR = "code_for"
_CODE_UNTIL = "code_until"
CODE_WINDOW = timedelta(minutes=5)


def _landing(role: str) -> str:
    if role == "coordinator":
        return url_for("coordinator.queue")
    return url_for("account.settings")


def begin_session(account_id: str, role: str) -> Response:
    """A brand-new session token (never reuse one from before sign-in)."""
    conn = get_db()
    with transaction(conn):
        token = sessions.create(conn, account_id, now())
    session.clear()
    session[SESSION_TOKEN] = token
    return redirect(_landing(role))


def _signed_in(attempt: Attempt) -> Response:
    """The session, and a device token if this browser was not yet known to the account."""
    assert attempt.account is not None
    new_token = remember_browser(get_db(), attempt, now())
    return device_cookie.remember(begin_session(attempt.account.id, attempt.account.role),
                                  new_token)


def _too_many(wait: Verdict | Attempt) -> tuple[str, int, dict[str, str]]:
    """429 with how long to wait; the same page for every username, known or not."""
    verdict = wait if isinstance(wait, Verdict) else Verdict(False, wait.retry_after)
    return (render_template("auth/too_many.html", minutes=verdict.minutes), 429,
            {"Retry-After": str(max(1, int(verdict.retry_after.total_seconds())))})


@bp.route("/login", methods=["GET", "POST"])
@allow(*EVERYONE)
def login() -> Page:
    if g.get("account") is not None:
        return redirect(_landing(g.account.role))
    form = SignInForm()
    if not form.is_submitted():
        return render_template("auth/login.html", form=form,
                               required=request.args.get("required") == "1")
    if not form.validate():
        return render_template("auth/login.html", form=form), 400
    attempt = attempt_password(get_db(), state().passwords, state().throttle,
                               form.username.data or "", form.password.data or "", now(),
                               device_cookie.held_tokens())
    if attempt.outcome is Outcome.THROTTLED:
        return _too_many(attempt)
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
    return _signed_in(attempt)


@bp.route("/login/code", methods=["GET", "POST"])
@allow(*EVERYONE)
def code() -> Page:
    account_id = session.get(_CODE_FOR)
    if not account_id or now().timestamp() > session.get(_CODE_UNTIL, 0):
        session.pop(_CODE_FOR, None)
        flash(_("Please sign in again."))
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if not form.is_submitted():
        return render_template("auth/code.html", form=form)
    if not form.validate():
        return render_template("auth/code.html", form=form), 400
    attempt = attempt_code(get_db(), state().throttle, account_id, form.code.data or "", now(),
                           device_cookie.held_tokens())
    if attempt.outcome is Outcome.THROTTLED:
        return _too_many(attempt)
    if attempt.outcome is not Outcome.SIGNED_IN or attempt.account is None:
        return render_template("auth/code.html", form=form, failed=True), 401
    return _signed_in(attempt)


@bp.post("/logout")
@allow(*SIGNED_IN)
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
def reset() -> Page:
    form = ResetRequestForm()
    if not form.is_submitted():
        return render_template("auth/reset.html", form=form)
    if not form.validate():
        return render_template("auth/reset.html", form=form), 400
    # Its own limit, per typed username and overall: never a sign-in failure.
    verdict = ask_for_code(get_db(), load_keys(current_app), state().reset_limiter,
                           form.username.data or "", now())
    if not verdict.allowed:
        return _too_many(verdict)
    # The same page whether or not the username exists or can receive a code.
    return render_template("auth/reset_sent.html")


@bp.route("/reset/code", methods=["GET", "POST"])
@allow(*EVERYONE)
def reset_code() -> Page:
    form = ResetCodeForm()
    if not form.is_submitted():
        return render_template("auth/reset_code.html", form=form)
    if not form.validate():
        return render_template("auth/reset_code.html", form=form), 400
    verdict = state().reset_limiter.allow_code_try(form.username.data or "", now())
    if not verdict.allowed:
        return _too_many(verdict)
    problem = reset_codes.use_code(get_db(), load_keys(current_app), state().passwords,
                                   form.username.data or "", form.code.data or "",
                                   form.new.data or "", now())
    if problem:
        return render_template("auth/reset_code.html", form=form, problem=str(problem)), 400
    flash(_("Your password is changed, and every session was signed out. Sign in now."))
    return redirect(url_for("auth.login"))
