from __future__ import annotations

import pytest
from flask import Flask, abort

from app.web.access import EVERYONE, allow

SECRET_DETAIL = "CANARY-internal-detail-7f3a"


@pytest.fixture
def app_with_faults(app: Flask) -> Flask:
    @app.route("/_fail", methods=["GET"])
    @allow(*EVERYONE)
    def fail() -> str:
        raise ValueError(f"database said {SECRET_DETAIL}")

    @app.route("/_limited")
    @allow(*EVERYONE)
    def limited() -> str:
        abort(429)

    @app.route("/_form", methods=["GET", "POST"])
    @allow(*EVERYONE)
    def form() -> str:
        return "accepted"

    @app.route("/_unstated")
    def unstated() -> str:
        return "should never be served"

    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


@pytest.fixture
def faulty(app_with_faults: Flask):
    return app_with_faults.test_client()


def _assert_plain_error_page(response, code: int) -> str:
    assert response.status_code == code
    body = response.get_data(as_text=True)
    assert "<title>" in body and "Quick exit" in body, "error pages use the site layout"
    for leak in ("Traceback", SECRET_DETAIL, "File \"", "werkzeug", "sqlcipher"):
        assert leak not in body
    assert response.headers["Content-Security-Policy"]
    return body


def test_404_page_shows_no_internals(faulty) -> None:
    _assert_plain_error_page(faulty.get("/nothing-here"), 404)


def test_405_page(faulty) -> None:
    _assert_plain_error_page(faulty.delete("/"), 405)


def test_500_page_shows_no_internals_and_log_omits_message(faulty, all_logs) -> None:
    _assert_plain_error_page(faulty.get("/_fail"), 500)
    assert SECRET_DETAIL not in all_logs.text
    assert "ValueError" in all_logs.text, "the log still says what kind of failure it was"


def test_429_page(faulty) -> None:
    _assert_plain_error_page(faulty.get("/_limited"), 429)


def test_post_without_csrf_token_is_refused_with_a_clear_400(faulty) -> None:
    body = _assert_plain_error_page(faulty.post("/_form", data={"x": "1"}), 400)
    assert "reload the page" in body


def test_oversized_request_gets_413(faulty) -> None:
    big = "x" * (300 * 1024)
    _assert_plain_error_page(faulty.post("/_form", data={"narrative": big}), 413)


def test_view_that_states_no_roles_is_refused(faulty) -> None:
    _assert_plain_error_page(faulty.get("/_unstated"), 403)


def test_400_page_for_a_bad_request(app_with_faults: Flask) -> None:
    @app_with_faults.route("/_bad")
    @allow(*EVERYONE)
    def bad() -> str:
        abort(400)

    _assert_plain_error_page(app_with_faults.test_client().get("/_bad"), 400)


def test_403_page(faulty) -> None:
    _assert_plain_error_page(faulty.get("/_unstated"), 403)
