"""Choosing a language in real Chromium with JavaScript turned off.

The chooser in every page's footer is a plain form: a select and a button. Skipped where
Chromium or Playwright is missing, except in CI, as the membership journey is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from werkzeug.serving import make_server

from app import create_app
from app.vault import db
from tests.browser.conftest import signed_out_page as _page
from tests.browser.conftest import skip_without_chromium
from tests.conftest import install_holders

skip_without_chromium()


@pytest.fixture
def live_translated(config, database_key, translations_dir) -> Iterator[str]:
    plain_http = replace(config, secure_cookies=False, translations_path=translations_dir)
    db.init_database(plain_http.database_path, database_key, plain_http.schema_path)
    install_holders(plain_http, database_key)
    server = make_server("127.0.0.1", 0, create_app(plain_http), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def test_switching_to_romanian_with_javascript_off_sticks_across_pages(
        live_translated, browser) -> None:
    page = _page(browser)
    page.goto(live_translated + "/apply")
    assert page.get_attribute("html", "lang") == "en"
    page.select_option("#language-choice", "ro")
    page.click("footer button:has-text('Change language')")
    assert page.url == live_translated + "/apply", "back on the page it was chosen on"
    assert page.get_attribute("html", "lang") == "ro"
    assert page.get_attribute("html", "dir") == "ltr"
    assert "Ieșire rapidă" in page.inner_text("header")
    assert "Quick exit" not in page.content()
    page.click("a[href='/login']")
    assert page.get_attribute("html", "lang") == "ro", "the cookie keeps the choice"
    assert page.input_value("#language-choice") == "ro"
    assert page.inner_text("footer label[for='language-choice']") == "Limba"
