"""Every role's pages on a phone, in Chromium: Quick exit in view, no sideways scroll, axe.

At 320, 375 and 414 px with JavaScript off (Romanian at 320 px: below), each page a
member, an organisation's key contact, a coordinator, an auditor and someone signed out
can reach must show Quick exit inside the first viewport (and still after scrolling to
the bottom: the bar is sticky) and must not scroll sideways; it has one h1 and no id
twice (axe's WCAG rules no longer check duplicate ids, which break labels and error
links), and it is in the language asked for (html lang). axe-core (axe-playwright-python)
then checks each English page for WCAG 2.2 AA; a translation changes no structure, name
or colour axe reads, so the Romanian sweep is the layout's (longer words that no longer
fit), at the narrowest width, as the three widths share one phone rule in style.css (a
test below holds that). axe runs as script, so it runs in a second context with
JavaScript on, on the same server-rendered pages (quick-exit.js adds listeners and
changes nothing drawn).

The cases only read pages, so each worker serves one world to all of them and signs each
role in once (phone_site, session_cookies); each case still opens its own two contexts.

Set UGLYMUGS_SCREENSHOTS=/some/dir to keep a 320 px screenshot of every page.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser.conftest import serving, sign_in, skip_without_chromium
from tests.conftest import config_in
from tests.people import (
    Person,
    make_member,
    make_published_alert,
    make_report,
    make_staff,
)

skip_without_chromium()

WIDTHS = (320, 375, 414)
HEIGHTS = {320: 568, 375: 667, 414: 736}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_LANGUAGE = "en"
SHOTS = os.environ.get("UGLYMUGS_SCREENSHOTS")


def _world(app) -> dict[str, tuple[Person | None, list[str]]]:
    """The people and records the pages need, and each role's pages."""
    from tests.test_disclosures import make_contact_request, make_disclosure_request

    member = make_member(app, alert_channel="email", email="phone.member@example.org")
    own_report = make_report(app, member)
    alert_id = make_published_alert(app)
    applicant = make_member(app, status="pending", work_name="Phone Applicant")
    project = make_member(app, role="org_contact", kind="project", status="pending",
                          email="office@applying-project.example.org")
    organisation = make_member(app, role="org_contact", kind="project",
                               email="office@phone-project.example.org")
    coordinator = make_staff(app, "coordinator")
    auditor = make_staff(app, "auditor")
    request_id = make_disclosure_request(app, coordinator, applicant.member_id)
    contact_id, message_id = make_contact_request(app, coordinator, own_report)
    support_id, support_message_id = _support_written(
        app, coordinator, make_report(app, member, wants_support=True))
    return {
        "anonymous": (None, ["/", "/apply", "/apply/individual", "/apply/project",
                             "/apply/site", "/login", "/reset", "/reset/code"]),
        "member": (member, [
            "/account", "/account/welcome", "/account/contact", "/account/two-step",
            "/alerts", f"/alerts/{alert_id}", "/alerts/areas", "/reports", "/reports/new",
            f"/reports/{own_report}/add", f"/reports/{own_report}/withdraw", "/check",
            "/account/messages", f"/account/messages/{message_id}",
            f"/account/messages/{support_message_id}"]),
        "org_contact": (organisation, [
            "/account", "/account/contact", "/account/welcome", "/organisation/staff",
            "/alerts", "/reports", "/reports/new", "/check", "/account/messages"]),
        "coordinator": (coordinator, [
            "/coordinator/", "/coordinator/unlock",
            f"/coordinator/applications/{applicant.member_id}",
            f"/coordinator/applications/{project.member_id}", "/coordinator/members",
            f"/coordinator/members/{member.member_id}", "/coordinator/reports",
            f"/coordinator/reports/{own_report}", "/coordinator/alerts/",
            f"/coordinator/alerts/{alert_id}", f"/coordinator/alerts/{alert_id}/versions",
            "/coordinator/disclosures/", "/coordinator/disclosures/new",
            f"/coordinator/disclosures/{request_id}", "/coordinator/disclosures/contact/new",
            f"/coordinator/disclosures/contact/{contact_id}",
            "/coordinator/disclosures/export", "/coordinator/support/",
            f"/coordinator/support/{support_id}", "/statistics/", "/account",
            # The confirmation pages of irreversible steps (confirm.html).
            f"/coordinator/reports/{own_report}/malicious",
            f"/coordinator/members/{member.member_id}/revoke",
            f"/coordinator/members/{member.member_id}/leave",
            f"/coordinator/alerts/{alert_id}/withdraw",
            f"/coordinator/disclosures/{request_id}/disclose"]),
        "auditor": (auditor, ["/audit/", "/audit/checkpoints", "/statistics/", "/account"]),
    }


def _support_written(app, coordinator: Person, report_id: str) -> tuple[str, str]:
    """A report's support request, its reporter written to: (request id, message id)."""
    from app.support import service
    from app.vault import db
    from app.web.state import state
    from tests.people import _conn

    conn = _conn(app)
    try:
        support_id = service.for_report(conn, report_id)
        assert support_id is not None
        service.message_member(conn, coordinator.account_id, support_id, state(app).clock())
        message_id = db.scalar(conn, "SELECT id FROM member_messages "
                                     "WHERE support_request_id = ?", (support_id,))
    finally:
        conn.close()
    return support_id, message_id


@pytest.fixture(scope="module")
def phone_site(tmp_path_factory, keys_dir, template_database):
    """One server and one world for every case of the sweep on this worker.

    The sweep only reads pages (GET), so the cases can share what they read; making the
    world and a server again for each role and language was a fifth of the sweep's cost.
    """
    config = config_in(tmp_path_factory.mktemp("phone"), keys_dir)
    with serving(config, template_database) as (base, app):
        yield base, app, _world(app)


@pytest.fixture(scope="module")
def session_cookies(phone_site, chromium):
    """Each role's signed-in cookies, signing in through the pages once per module."""
    base, app, world = phone_site
    signed_in: dict[str, list] = {}

    def of(role: str) -> list:
        if role not in signed_in:
            person = world[role][0]
            context = chromium.new_context(java_script_enabled=False)
            if person is not None:
                sign_in(app, context.new_page(), base, person)
            signed_in[role] = context.cookies()
            context.close()
        return signed_in[role]

    return of


# One round trip per width: where Quick exit is at the top and scrolled to the bottom,
# and how wide the document is. Quick exit with no box (missing, display: none) is null.
LAYOUT_AT_THIS_WIDTH = """() => {
  const exit = document.getElementById('quick-exit');
  const box = () => {
    if (exit === null || exit.getClientRects().length === 0) return null;
    const r = exit.getBoundingClientRect();
    return {x: r.x, y: r.y, width: r.width, height: r.height};
  };
  window.scrollTo(0, 0);
  const top = box();
  window.scrollTo(0, document.documentElement.scrollHeight);
  const bottom = box();
  return {top: top, bottom: bottom, scrollWidth: document.documentElement.scrollWidth};
}"""
STRUCTURE = """() => ({ids: Array.from(document.querySelectorAll('[id]'), e => e.id),
                       h1s: document.querySelectorAll('h1').length,
                       lang: document.documentElement.lang})"""


def _layout_problems(page, url: str, lang: str, shots: Path | None,
                     widths: tuple[int, ...] = WIDTHS) -> list[str]:
    """Load the page once, then check it at each phone width (the layout reflows)."""
    problems = []
    page.set_viewport_size({"width": widths[0], "height": HEIGHTS[widths[0]]})
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    structure = page.evaluate(STRUCTURE)
    assert structure["lang"] == lang, (url, structure["lang"])
    ids = structure["ids"]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        problems.append(f"{url}: the same id twice: {repeated}")
    if structure["h1s"] != 1:
        problems.append(f"{url}: {structure['h1s']} h1 headings, not one")
    for width in widths:
        height = HEIGHTS[width]
        if width != widths[0]:
            page.set_viewport_size({"width": width, "height": height})
        layout = page.evaluate(LAYOUT_AT_THIS_WIDTH)
        for moment, box in (("at the top", layout["top"]),
                            ("scrolled to the bottom", layout["bottom"])):
            if box is None or box["x"] < 0 or box["y"] < 0 or \
                    box["x"] + box["width"] > width or box["y"] + box["height"] > height:
                problems.append(f"{url} at {width}px {moment}: Quick exit not in view ({box})")
        wide = layout["scrollWidth"]
        if wide > width:
            problems.append(f"{url} at {width}px: scrolls sideways ({wide}px wide)")
        if shots is not None and width == WIDTHS[0]:
            page.evaluate("window.scrollTo(0, 0)")
            name = re.sub(r"[^a-z0-9]+", "-", url.split("/", 3)[-1].lower()).strip("-")
            page.screenshot(path=str(shots / f"{width}-{name or 'home'}.png"))
    return problems


# axe is injected by the context into every document (add_init_script), not sent over
# with each page; resultTypes keeps the passes out of the answer (violations are whole).
AXE_RUN = """options => axe.run(document, options).then(results => ({
  lang: document.documentElement.lang, violations: results.violations}))"""


def _axe_problems(page, url: str, lang: str) -> list[str]:
    page.goto(url)
    results = page.evaluate(AXE_RUN, {"runOnly": {"type": "tag", "values": AXE_TAGS},
                                      "resultTypes": ["violations"]})
    assert results["lang"] == lang, (url, results["lang"])
    return [f"{url}: {v['id']} ({v['impact']}): "
            + "; ".join(n["target"][0] for n in v["nodes"][:3])
            for v in results["violations"]]


@pytest.mark.parametrize("lang", ["en", "ro"])
@pytest.mark.parametrize("role", ["anonymous", "member", "org_contact", "coordinator",
                                  "auditor"])
def test_every_page_keeps_quick_exit_in_view_fits_a_phone_and_passes_axe(
        phone_site, session_cookies, browser, role, lang) -> None:
    from axe_playwright_python.base import AXE_FILE_PATH

    base, _app, world = phone_site
    _person, paths = world[role]
    shots = Path(SHOTS, role) if SHOTS else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    # The role's session, and the language chooser's cookie (app/web/language.py): every
    # page in Romanian too.
    cookies = [*session_cookies(role), {"name": "lang", "value": lang, "url": base}]
    axe_page = None
    if lang == AXE_LANGUAGE:
        scripted = browser.new_context()
        scripted.add_cookies(cookies)
        scripted.add_init_script(path=str(AXE_FILE_PATH))
        axe_page = scripted.new_page()
    # The same session, with JavaScript off, for the layout checks.
    plain = browser.new_context(java_script_enabled=False)
    plain.add_cookies(cookies)
    page = plain.new_page()
    layout: list[str] = []
    axe: list[str] = []
    for path in paths:
        if lang == AXE_LANGUAGE:
            layout += _layout_problems(page, base + path, lang, shots)
        else:
            # A translation's risk is longer text. style.css has one phone rule, up to
            # 30rem, so 320, 375 and 414 px lay out by the same rules and 320 px, the
            # narrowest and shortest, is where text overflows or pushes Quick exit first.
            layout += _layout_problems(page, base + path, lang, None, widths=WIDTHS[:1])
        # axe's rules read the page's structure, names and colours, which a translation
        # leaves as they are (tests/test_languages.py checks that no string is left
        # empty or in English): run in English, they cover Romanian, whose own risk, text
        # that no longer fits a phone, the layout checks above catch.
        if axe_page is not None:
            axe += _axe_problems(axe_page, base + path, lang)
    plain.close()
    assert layout == []
    assert axe == []


def test_the_phone_widths_share_one_layout_rule_so_320_px_is_the_hardest() -> None:
    """What lets the Romanian sweep check 320 px alone: no rule starts or stops between
    the widths, so each wider one has the same layout with more room and a taller view."""
    css = (Path(__file__).resolve().parents[2] / "app" / "static" / "style.css").read_text()
    for query in re.findall(r"@media\s*([^{]+)\{", css):
        for bound, size, unit in re.findall(r"(min|max)-width:\s*([\d.]+)(px|rem|em)", query):
            px = float(size) * (16 if unit != "px" else 1)
            # min-width: N holds from N up; max-width: N up to N.
            splits = (WIDTHS[0] < px <= WIDTHS[-1] if bound == "min"
                      else WIDTHS[0] <= px < WIDTHS[-1])
            assert not splits, \
                f"@media {query.strip()} splits the phone widths: sweep Romanian at each"


def test_quick_exit_then_back_shows_no_signed_in_page(live, browser) -> None:
    from dataclasses import replace

    from app.web.state import state

    base, app = live
    # The neutral page is elsewhere on the internet; here a page of the test server.
    neutral = base + "/static/favicon.svg"
    state(app).config = replace(state(app).config, quick_exit_url=neutral)
    member = make_member(app)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(app, page, base, member)
    page.goto(base + "/reports")
    assert "Your reports" in page.inner_text("h1")
    page.click("#quick-exit")
    assert page.url == neutral
    page.go_back()
    assert "Your reports" not in page.content()
    assert page.locator("nav button:has-text('Sign out')").count() == 0, \
        "Back shows no signed-in page"
    assert "/login" in page.url
    page.goto(base + "/account")
    assert "/login" in page.url, "the session is over, not just hidden"
    context.close()
