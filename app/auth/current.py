"""Who is asking: the signed-in account for this request, from the server-side session."""

from __future__ import annotations

from flask import g, request, session

from app.auth import accounts, sessions
from app.membership import questions
from app.vault.db import Connection
from app.web.access import PENDING
from app.web.state import get_db, now

SESSION_TOKEN = "token"  # noqa: S105 (the session key name)


def load_current_account() -> None:
    """before_request: set g.account and g.role from a live session, else stay anonymous."""
    if request.endpoint == "static":
        return
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
        session.pop(SESSION_TOKEN, None)
        return
    g.account = account
    # An applicant signed in to answer a question has that role only, whatever its login.
    g.role = PENDING if account.status == "pending" else account.role
    g.session_token = token


def answering(conn: Connection, account: accounts.Account) -> bool:
    """A login not yet approved works only for an organisation asked a question."""
    return account.role == "org_contact" and questions.may_sign_in_to_answer(
        conn, account.member_id)


def current_account() -> accounts.Account:
    """The signed-in account; views reachable only by signed-in roles may rely on it."""
    return g.account
