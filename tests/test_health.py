"""GET /healthz: a monitor's answer, with no session, no detail and no request-log line."""

from __future__ import annotations

import logging
from dataclasses import replace

from app import create_app
from tests.people import make_member, signed_in_client


def _request_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "uglymugs.request"]


def test_healthz_answers_ok_with_no_cookie_and_no_request_log_line(app, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert "Set-Cookie" not in response.headers
    assert _request_lines(caplog) == []
    client.get("/")
    assert len(_request_lines(caplog)) == 1, "other requests are still logged"


def test_healthz_sets_no_cookie_even_for_a_stale_session(app) -> None:
    client = signed_in_client(app, make_member(app))
    client.post("/logout")  # whatever its answer, the browser keeps a cookie
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_healthz_is_503_with_no_detail_when_the_database_is_gone(app, config,
                                                                  caplog) -> None:
    caplog.set_level(logging.DEBUG)
    config.database_path.unlink()
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_data() == b""
    assert "Set-Cookie" not in response.headers
    assert _request_lines(caplog) == []


def test_healthz_is_503_before_the_key_ceremony(config, tmp_path) -> None:
    bare = create_app(replace(config, keys_dir=tmp_path / "no-keys"))
    response = bare.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_data() == b""
