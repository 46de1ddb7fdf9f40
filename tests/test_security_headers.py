from __future__ import annotations

import pytest
from flask import Flask, session

from app.web.access import EVERYONE, allow
from app.web.security import BASE_HEADERS

PAGES = ["/", "/static/style.css", "/static/quick-exit.js", "/no-such-page"]


@pytest.mark.parametrize("path", PAGES)
def test_every_response_carries_the_hardening_headers(client, path: str) -> None:
    response = client.get(path)
    for name, value in BASE_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    # Each once: ours replace what Flask or a view set (a static file's Cache-Control).
    for name in (*BASE_HEADERS, "Content-Type"):
        assert len(response.headers.getlist(name)) == 1, name


def test_csp_forbids_inline_script_and_style(client) -> None:
    csp = client.get("/").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in directives[directive]
        assert "'unsafe-eval'" not in directives[directive]
    assert directives["frame-ancestors"] == "'none'"


def test_hsts_is_sent_when_cookies_are_secure(client) -> None:
    assert client.get("/").headers["Strict-Transport-Security"].startswith("max-age=")


def _app_with_session_route(app: Flask) -> Flask:
    @app.get("/_touch-session")
    @allow(*EVERYONE)
    def touch_session() -> str:
        session["seen"] = True
        return "ok"

    return app


def test_session_cookie_is_httponly_samesite_strict_and_secure(app) -> None:
    client = _app_with_session_route(app).test_client()
    cookie = client.get("/_touch-session", base_url="https://localhost").headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" in cookie


def test_insecure_cookies_only_when_configured(config, database_key) -> None:
    from dataclasses import replace

    from app import create_app
    from app.vault import db

    plain = replace(config, secure_cookies=False)
    db.init_database(plain.database_path, database_key, plain.schema_path)
    app = create_app(plain)
    cookie = _app_with_session_route(app).test_client().get("/_touch-session")
    header = cookie.headers["Set-Cookie"]
    assert "Secure" not in header
    assert "HttpOnly" in header and "SameSite=Strict" in header
    assert "Strict-Transport-Security" not in cookie.headers
