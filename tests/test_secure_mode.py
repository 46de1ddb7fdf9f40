"""Secure mode, as a real deployment runs it: UGLYMUGS_INSECURE_COOKIES unset.

Every cookie the service sets then carries the __Host- prefix (Secure, Path=/, no Domain:
only this exact HTTPS origin may set or read it), and every response asks for HTTPS.
"""

from __future__ import annotations

from dataclasses import replace
from http.cookies import SimpleCookie

from flask import Flask

from app import create_app
from app.vault import db
from app.web.config import Config
from tests.people import make_member

HTTPS = "https://uglymugs.example"


def _secure_app(config: Config, database_key: bytes, environ: dict[str, str]) -> Flask:
    from_env = Config.from_env(environ)
    built = replace(config, secure_cookies=from_env.secure_cookies)
    db.init_database(built.database_path, database_key, built.schema_path)
    return create_app(built)


def _set_cookies(response) -> dict[str, str]:
    """Each Set-Cookie header by cookie name."""
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        name = next(iter(SimpleCookie(header).keys()), header.split("=", 1)[0])
        found[name] = header
    return found


def _sign_in_over_https(app: Flask):
    person = make_member(app)
    client = app.test_client()
    page = client.get("/login", base_url=HTTPS)
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
    token = token.split('"', 1)[0]
    return client.post("/login", base_url=HTTPS, headers={"Referer": f"{HTTPS}/login"},
                       data={"csrf_token": token, "username": person.username,
                             "password": person.password})


def test_with_insecure_cookies_unset_every_cookie_is_host_prefixed_and_secure(
        config, database_key) -> None:
    app = _secure_app(config, database_key, {})
    response = _sign_in_over_https(app)
    assert response.status_code == 302, response.status_code
    cookies = _set_cookies(response)
    assert set(cookies) == {"__Host-session", "__Host-device"}
    for name, header in cookies.items():
        attributes = [part.strip().lower() for part in header.split(";")]
        assert "secure" in attributes, name
        assert "httponly" in attributes, name
        assert "path=/" in attributes, name
        assert "samesite=strict" in attributes, name
        assert not any(a.startswith("domain=") for a in attributes), name


def test_with_insecure_cookies_unset_every_response_asks_for_https(config,
                                                                  database_key) -> None:
    app = _secure_app(config, database_key, {"UGLYMUGS_INSECURE_COOKIES": ""})
    for path in ("/", "/login", "/no-such-page"):
        response = app.test_client().get(path, base_url=HTTPS)
        assert response.headers["Strict-Transport-Security"] == "max-age=63072000", path


def test_a_post_from_another_origin_is_refused_in_secure_mode(config, database_key) -> None:
    app = _secure_app(config, database_key, {})
    client = app.test_client()
    page = client.get("/login", base_url=HTTPS).get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"', 1)[0]
    refused = client.post("/login", base_url=HTTPS,
                          headers={"Referer": "https://evil.example/login"},
                          data={"csrf_token": token, "username": "x", "password": "y" * 12})
    assert refused.status_code == 400


def test_only_insecure_cookies_1_drops_the_prefix(config, database_key) -> None:
    app = _secure_app(config, database_key, {"UGLYMUGS_INSECURE_COOKIES": "1"})
    person = make_member(app)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"', 1)[0]
    response = client.post("/login", data={"csrf_token": token, "username": person.username,
                                           "password": person.password})
    cookies = _set_cookies(response)
    assert set(cookies) == {"session", "device"}
    assert all("secure" not in h.lower().split("; ") for h in cookies.values())
