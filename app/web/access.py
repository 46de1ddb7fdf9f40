"""Who may reach which route.

Every view states its roles with `@allow(...)`; a request to a view that states none is
refused (fail closed), and tests/test_routes_by_role.py checks every route against every
role. The role comes from the signed-in account (app/auth/current.py); without one, anonymous.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, abort, current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

ANONYMOUS = "anonymous"
PENDING = "pending"
MEMBER = "member"
ORG_CONTACT = "org_contact"
ORG_STAFF = "org_staff"
COORDINATOR = "coordinator"
AUDITOR = "auditor"

ROLES: tuple[str, ...] = (
    ANONYMOUS, PENDING, MEMBER, ORG_CONTACT, ORG_STAFF, COORDINATOR, AUDITOR,
)
EVERYONE: frozenset[str] = frozenset(ROLES)
SIGNED_IN: frozenset[str] = frozenset({MEMBER, ORG_CONTACT, ORG_STAFF, COORDINATOR, AUDITOR})
MEMBERS: frozenset[str] = frozenset({MEMBER, ORG_CONTACT, ORG_STAFF})

F = TypeVar("F", bound=Callable[..., object])

# GET /healthz, for monitors and the proxy: answered with no session, no readiness page
# and no request-log line (a line every few seconds would bury the ones that matter).
HEALTH_ENDPOINT = "public.healthz"


def allow(*roles: str) -> Callable[[F], F]:
    """Declare the roles that reach a view."""
    unknown = set(roles) - EVERYONE
    if unknown or not roles:
        raise ValueError(f"unknown or missing roles: {sorted(unknown)}")

    def mark(view: F) -> F:
        view.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return mark


def allowed_roles(app: Flask, endpoint: str) -> frozenset[str] | None:
    if endpoint == "static":
        return EVERYONE
    view = app.view_functions.get(endpoint)
    return getattr(view, "allowed_roles", None)


def current_role() -> str:
    return g.get("role", ANONYMOUS)


def enforce_roles() -> Response | None:
    """before_request: refuse a role the view does not allow, or a view with no statement.

    Someone not signed in who follows a link to a signed-in page is sent to sign in;
    everyone else gets a 403.
    """
    if request.endpoint is None:
        return None  # 404/405 are Flask's to answer
    roles = allowed_roles(current_app, request.endpoint)
    if roles is None:
        abort(403)
    role = current_role()
    if role in roles:
        return None
    if role == ANONYMOUS and request.method == "GET" and roles & SIGNED_IN:
        return redirect(url_for("auth.login", required=1))
    abort(403)
