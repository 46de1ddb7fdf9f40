"""What every browser test shares: a live server on 127.0.0.1 and Debian's Chromium.

Each test module skips itself where Chromium or Playwright is missing, except in CI
(.ci/run installs Debian's chromium), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from tests.conftest import new_database

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def skip_without_chromium() -> None:
    """Call at the top of a browser test module."""
    if not os.environ.get("CI"):
        pytest.importorskip("playwright.sync_api")
        if CHROMIUM is None:
            pytest.skip("Chromium is not installed", allow_module_level=True)


@contextmanager
def serving(config, template_database: bytes) -> Iterator[tuple[str, object]]:
    """A fresh database from the template, served over plain http on a free port."""
    plain_http = replace(config, secure_cookies=False)
    new_database(plain_http.database_path, template_database)
    app = create_app(plain_http)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()


@pytest.fixture
def live(config, template_database) -> Iterator[tuple[str, object]]:
    with serving(config, template_database) as site:
        yield site


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """One Chromium per worker: launching it costs about a second of CPU a test."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "CI must have Chromium (.ci/run installs it)"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        new_context = launched.new_context

        def settling_context(*args: object, **kwargs: object) -> object:
            context = new_context(*args, **kwargs)
            new_page = context.new_page

            def settling_page(*page_args: object, **page_kwargs: object) -> object:
                return _settle_after_clicks(new_page(*page_args, **page_kwargs))

            context.new_page = settling_page
            return context

        launched.new_context = settling_context
        yield launched
        launched.close()


def _settle_after_clicks(page):
    """Make page.click return only once the page it led to has loaded.

    With script off, a click on a link or a submit button is a navigation. Playwright's
    click returns once that navigation has begun to arrive, and on a busy machine (CI, at
    the end of a parallel run) the next line could read a page still being parsed: a walk
    failed so, finding none of the rows its post-back had added. Waiting for the load
    event after every click closes that gap; a click that navigates nowhere finds the
    page already loaded and waits for nothing.
    """
    click = page.click

    def click_then_settle(selector: str, **kwargs: object) -> None:
        click(selector, **kwargs)
        page.wait_for_load_state("load")

    page.click = click_then_settle
    return page


@pytest.fixture
def browser(chromium) -> Iterator[object]:
    """The worker's Chromium; every context a test opened is closed after it.

    Contexts share no cookies, storage or cache, so a test still starts from a browser
    that has never seen the service.
    """
    yield chromium
    for context in list(chromium.contexts):
        context.close()


def signed_out_page(browser):
    return browser.new_context(java_script_enabled=False).new_page()


def sign_in(app, page, base: str, person) -> None:
    """Sign `person` in through the login page (and the two-step page, for staff)."""
    from tests.people import current_code

    page.goto(base + "/login")
    page.fill("#username", person.username)
    page.fill("#password", person.password)
    page.click("main button[type=submit]")
    if person.totp_secret:
        page.fill("#code", current_code(app, person.totp_secret))
        page.click("main button[type=submit]")
    assert "/login" not in page.url, (person.role, page.url)


def unlock_in(page, base: str, staff) -> None:
    """Unlock the vetting key with the coordinator's own holder file, through the page."""
    page.goto(f"{base}/coordinator/unlock")
    page.set_input_files("#key_file", str(staff.key_file))
    page.fill("#passphrase", staff.key_passphrase)
    page.click("main button[type=submit]")


def looked_at(page, name: str) -> None:
    """A walk's page on a 320 px phone: Quick exit in view and no sideways scroll; with
    UGLYMUGS_SCREENSHOTS=/some/dir, a full-page screenshot kept there as 320-NAME.png."""
    box = page.locator("#quick-exit").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320, (name, box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320, name
    shots = os.environ.get("UGLYMUGS_SCREENSHOTS")
    if shots:
        page.screenshot(path=str(Path(shots) / f"320-{name}.png"), full_page=True)
