"""Who is asking: the signed-in account for this request, from the server-side session."""

from __future__ import annotations

from flask import flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.auth import accounts, sessions
from app.auth import staff as staff_logins
from app.auth.accounts import STAFF_ROLES
from app.membership import questions
from app.vault import keyring
from app.vault.db import Connection
from app.web.access import HEALTH_ENDPOINT, PENDING
from app.web.state import get_db, now, state

SESSION_TOKEN = "token"  # noqa: S105 (the session key name)


def load_current_account() -> None:
    """before_request: set g.account and g.role from a live session, else stay anonymous."""
    if request.endpoint in ("static", HEALTH_ENDPOINT):
        return
    # A session ended elsewhere (a staff login disabled from the command line) takes the
    # key it unlocked with it at the next request of anyone, not when its 15 minutes end.
    # No query while no key is held.
    if len(state().unlocks):
        keyring.forget_ended(get_db(), state().unlocks)
    token = session.get(SESSION_TOKEN)
    if not isinstance(token, str):
        return
    conn = get_db()
    account_id = sessions.resolve(conn, token, now())
    account = accounts.by_id(conn, account_id) if account_id else None
    if account is not None and account.status == "pending" and not answering(conn, account):
        account = None
    if account is None or account.status not in ("active", "pending"):
        if account_id:
            sessions.end(conn, token)
        state().forget_session(token)
        session.pop(SESSION_TOKEN, None)
        return
    g.account = account
    # An applicant signed in to answer a question has that role only, whatever its login.
    g.role = PENDING if account.status == "pending" else account.role
    g.session_token = token
    g.password_must_change = (account.role in STAFF_ROLES
                              and staff_logins.password_must_change(conn, account.id))


# While a given password must still be changed, only these pages answer.
_WHILE_CHANGING = frozenset({"account.settings", "account.change_password", "auth.logout",
                             "static"})


def require_password_change() -> Response | None:
    """before_request: a staff member given a password chooses their own before anything else.

    Whoever handed the password over (an operator, or the command's output) knows it; until
    it is changed, the login is theirs as much as its owner's.
    """
    if not g.get("password_must_change") or request.endpoint in _WHILE_CHANGING:
        return None
    flash(_("Choose your own password before you go on: the one you were given must be "
            "changed."))
    return redirect(url_for("account.settings"))


def answering(conn: Connection, account: accounts.Account) -> bool:
    """A login not yet approved works only for an organisation asked a question."""
    return account.role == "org_contact" and questions.may_sign_in_to_answer(
        conn, account.member_id)


def current_account() -> accounts.Account:
    """The signed-in account; views reachable only by signed-in roles may rely on it."""
    return g.account
