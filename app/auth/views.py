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
from flask_babel import ngettext
from werkzeug.wrappers import Response

from app.auth import device_cookie, recovery, sessions
from app.auth import reset as reset_codes
from app.auth import staff as staff_logins
from app.auth.accounts import STAFF_ROLES
from app.auth.current import SESSION_TOKEN
from app.auth.forms import (
    ResetCodeForm,
    ResetRequestForm,
    SignInCodeForm,
    SignInForm,
    forget_typed,
)
from app.auth.signin import (
    Attempt,
    Outcome,
    ask_for_code,
    attempt_code,
    attempt_password,
    remember_browser,
)
from app.membership import records as member_records
from app.vault.db import transaction
from app.web.access import EVERYONE, PENDING, SIGNED_IN, allow
from app.web.limits import Verdict
from app.web.state import AppState, get_db, load_keys, now, state

bp = Blueprint("auth", __name__)
# A page, a page with its status, or a 429 with its Retry-After header.
Page = Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]

_CODE_FOR = "code_for"
_CODE_UNTIL = "code_until"
CODE_WINDOW = timedelta(minutes=5)


def _landing(role: str, status: str = "active", member_id: str | None = None) -> str:
    if role == "coordinator":
        return url_for("coordinator.queue")
    if status == "pending":  # an organisation asked a question: straight to it
        return url_for("messages.messages_index")
    # A member's first sign-in asks them to confirm where and how they get alerts, so an
    # approved member never goes without notices because nobody asked.
    if role in ("member", "org_contact") and member_id is not None and \
            not member_records.settings_confirmed(get_db(), member_id):
        return url_for("account.welcome")
    return url_for("account.settings")


def begin_session(account_id: str, role: str, status: str = "active",
                  member_id: str | None = None) -> Response:
    """A brand-new session token (never reuse one from before sign-in)."""
    conn = get_db()
    with transaction(conn):
        token = sessions.create(conn, account_id, now())
        if role in STAFF_ROLES:
            staff_logins.record_sign_in(conn, account_id, now())
    session.clear()
    session[SESSION_TOKEN] = token
    return redirect(_landing(role, status, member_id))


def _signed_in(attempt: Attempt) -> Response:
    """The session, and a device token if this browser was not yet known to the account."""
    account = attempt.account
    assert account is not None
    new_token = remember_browser(get_db(), attempt, now())
    signed_in = begin_session(account.id, account.role, account.status, account.member_id)
    if attempt.used_recovery_code:
        left = recovery.remaining(get_db(), account.id)
        flash(ngettext("You signed in with a recovery code. It cannot be used again: you "
                       "have %(num)d recovery code left.",
                       "You signed in with a recovery code. It cannot be used again: you "
                       "have %(num)d recovery codes left.", left))
        if left <= 3:
            flash(_("Turn two-step sign-in off and on again in Your account to get new "
                    "codes, or set up your authenticator app again."))
    return device_cookie.remember(signed_in, new_token)


def _too_many(wait: Verdict | Attempt) -> tuple[str, int, dict[str, str]]:
    """429 with how long to wait; the same page for every username, known or not."""
    verdict = wait if isinstance(wait, Verdict) else Verdict(False, wait.retry_after)
    return (render_template("auth/too_many.html", minutes=verdict.minutes), 429,
            {"Retry-After": str(max(1, int(verdict.retry_after.total_seconds())))})


@bp.route("/login", methods=["GET", "POST"])
@allow(*EVERYONE)
def login() -> Page:
    if g.get("account") is not None:
        return redirect(_landing(g.account.role, g.account.status))
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
    form = SignInCodeForm()
    if not form.is_submitted():
        return render_template("auth/code.html", form=form)
    if not form.validate():
        return render_template("auth/code.html", form=form), 400
    attempt = attempt_code(get_db(), state().throttle, account_id, form.code.data or "", now(),
                           device_cookie.held_tokens(), keys=load_keys(current_app))
    if attempt.outcome is Outcome.THROTTLED:
        return _too_many(attempt)
    if attempt.outcome is not Outcome.SIGNED_IN or attempt.account is None:
        forget_typed(form.code)
        return render_template("auth/code.html", form=form, failed=True), 401
    return _signed_in(attempt)


@bp.post("/logout")
@allow(*SIGNED_IN, PENDING)
def logout() -> Response:
    _end_this_session()
    flash(_("You are signed out."))
    return redirect(url_for("public.index"))


def _end_this_session() -> None:
    """End the request's session and whatever the process holds for it (an unlocked key)."""
    token = session.get(SESSION_TOKEN)
    if isinstance(token, str) and token:
        conn = get_db()
        with transaction(conn):
            sessions.end(conn, token)
        state().forget_session(token)
    session.clear()


@bp.get("/exit")
@allow(*EVERYONE)
def quick_exit() -> Response:
    """Quick exit: end this session, then leave for the neutral page.

    A GET, so that it is a plain link that works without script and in one tap. It is
    safe without a CSRF token because all it can do is end the session of whoever sends
    it: the session cookie is SameSite=Strict, so a request another site starts carries no
    session and ends nothing, and ending one's own session reveals nothing and loses no
    data. It never signs anyone in or changes anything else. Pages are no-store, so Back
    asks the server again and finds no session.
    """
    _end_this_session()
    return redirect(state().config.quick_exit_url)


def _resolve_waiting(st: AppState) -> None:
    """The background job: waiting reset requests and wrong-code counts, in one batch."""
    assert st.keys is not None  # a request loaded them before anything was queued
    pool = st.connection_pool()
    conn = pool.acquire()
    try:
        reset_codes.record_failed_tries(conn, st.reset_failures)
        reset_codes.resolve_requests(conn, st.keys, st.reset_requests, st.clock())
    finally:
        pool.release(conn)


def _resolving() -> AppState:
    """The app state, with the job that resolves waiting resets started on first use."""
    st = state()
    st.start_periodic("reset-requests", st.config.reset_queue_seconds,
                      lambda: _resolve_waiting(st))
    return st


@bp.route("/reset", methods=["GET", "POST"])
@allow(*EVERYONE)
def reset() -> Page:
    form = ResetRequestForm()
    if not form.is_submitted():
        return render_template("auth/reset.html", form=form)
    if not form.validate():
        return render_template("auth/reset.html", form=form), 400
    # Its own limit, per typed username and overall: never a sign-in failure. Only
    # queued here; _resolving() looks it up later, off every request.
    st = _resolving()
    verdict = ask_for_code(st.reset_requests, st.reset_limiter, form.username.data or "",
                           now())
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
    st = _resolving()
    problem = reset_codes.use_code(get_db(), load_keys(current_app), st.passwords,
                                   form.username.data or "", form.code.data or "",
                                   form.new.data or "", now(), failed=st.reset_failures)
    if problem:
        return render_template("auth/reset_code.html", form=form, problem=str(problem)), 400
    flash(_("Your password is changed, and every session was signed out. Sign in now."))
    return redirect(url_for("auth.login"))
