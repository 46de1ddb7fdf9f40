"""Behind the TLS proxy, Flask-WTF's strict mode refuses a POST whose Referer is missing or
from another origin. That only works if the browser sends a same-origin Referer on the
service's own forms, which the page's Referrer-Policy decides: with "no-referrer" Chromium
sends none (and an Origin of "null"), so every form would be refused in production.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.browser.conftest import signed_out_page as _page
from tests.browser.conftest import skip_without_chromium

skip_without_chromium()


def test_chromium_sends_a_same_origin_referer_and_origin_on_the_services_forms(
        live, browser) -> None:
    base, _app = live
    page = _page(browser)
    sent: list[dict[str, str]] = []
    page.on("request", lambda request: sent.append(request.all_headers())
            if request.method == "POST" else None)
    page.goto(base + "/login")
    page.fill("#username", "nobody-here-0000")
    page.fill("#password", "not a password at all")
    page.click("main button[type=submit]")
    assert sent, "the form was posted"
    headers = sent[0]
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(base))
    assert headers.get("origin") == origin
    assert headers.get("referer", "").startswith(origin + "/login")


def test_a_link_to_another_site_would_carry_no_referer(live, browser) -> None:
    base, _app = live
    page = _page(browser)
    response = page.goto(base + "/login")
    # same-origin: the full URL to ourselves, nothing at all to any other site.
    assert response.headers["referrer-policy"] == "same-origin"
