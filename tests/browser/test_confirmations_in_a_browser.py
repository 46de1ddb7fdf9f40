"""Marking a report malicious and undoing it, in Chromium with JavaScript off, at 320 px.

The confirmation page first says "Read the report first" (with the button that reads it),
then asks for a reason and the tick; the undo has its own page. Each page is looked at at
phone width: Quick exit in view, no sideways scroll. Set UGLYMUGS_SCREENSHOTS=/some/dir to
keep a screenshot of each step.
"""

from __future__ import annotations

from tests.browser.conftest import looked_at, sign_in, skip_without_chromium, unlock_in
from tests.people import make_report, make_staff

skip_without_chromium()



def test_mark_malicious_with_confirmation_and_undo_with_javascript_off(live, browser) -> None:
    base, app = live
    report_id = make_report(app)
    staff = make_staff(app, "coordinator")
    page = browser.new_context(java_script_enabled=False,
                               viewport={"width": 320, "height": 568}).new_page()
    sign_in(app, page, base, staff)
    unlock_in(page, base, staff)
    assert "unlocked" in page.inner_text("main")

    page.goto(f"{base}/coordinator/reports/{report_id}")
    page.click("main a:has-text('Mark as malicious or false')")
    assert "Read the report first" in page.inner_text("main")
    looked_at(page, "malicious-read-first")
    page.click("main button:has-text('Read the report')")
    page.click("main a:has-text('Mark as malicious or false')")
    assert "What will happen" in page.inner_text("main")
    page.click("main button[type=submit]:has-text('Mark as malicious or false')")
    assert "Please check the form" in page.inner_text("main"), "refused without the tick"
    looked_at(page, "malicious-refused")
    page.check("input[name=reason][value=invented]")
    page.fill("#note", "Checked with the reporter's support worker.")
    page.check("#confirm")
    page.click("main button[type=submit]:has-text('Mark as malicious or false')")
    assert "Marked as malicious or false" in page.inner_text("main")
    looked_at(page, "malicious-marked")

    page.click("main a:has-text('Undo the malicious mark')")
    assert "status it had before" in page.inner_text("main")
    looked_at(page, "malicious-undo")
    page.check("input[name=reason][value=marked_by_mistake]")
    page.check("#confirm")
    page.click("main button[type=submit]:has-text('Undo the mark')")
    assert "The malicious mark is taken off" in page.inner_text("main")
    assert "Undo the malicious mark" not in page.inner_text("main")
    looked_at(page, "malicious-undone")
