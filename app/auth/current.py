"""Who is asking: the signed-in account for this request, from the server-side session."""

from __future__ import annotations

from flask import g, request, session

from app.auth import accounts, sessions
from app.web.access import HEALTH_ENDPOINT
from app.web.state import get_db, now

SESSION_TOKEN = "token"  # noqa: S105 (the session key name)


def load_current_account() -> None:
    """before_request: set g.account and g.role from a live session, else stay anonymous."""
    if request.endpoint in ("static", HEALTH_ENDPOINT):
        return
    token = session.get(SESSION_TOKEN)
    if not isinstance(token, str):
        return
    conn = get_db()
    account_id = sessions.resolve(conn, token, now())
    account = accounts.by_id(conn, account_id) if account_id else None
    if account is None or account.status != "active":
        if account_id:
            sessions.end(conn, token)
        session.pop(SESSION_TOKEN, None)
        return
    g.account = account
    g.role = account.role
    g.session_token = token


def current_account() -> accounts.Account:
    """The signed-in account; views reachable only by signed-in roles may rely on it."""
    return g.account
