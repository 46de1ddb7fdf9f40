"""A coordinator's work from the record, in Chromium with JavaScript off on a 320 px phone:
a disclosure and an alert started from a report, the alert published and edited with
members notified again, the version history read, and the auditor filtering by the short
id a table shows. Each page keeps Quick exit in view and does not scroll sideways.

Set UGLYMUGS_SCREENSHOTS=/some/dir to keep a screenshot of each step.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.browser.conftest import sign_in, skip_without_chromium
from tests.people import make_member, make_report, make_staff

skip_without_chromium()

SHOTS = os.environ.get("UGLYMUGS_SCREENSHOTS")
WIDTH, HEIGHT = 320, 568


def _check(page, name: str) -> None:
    box = page.locator("#quick-exit").bounding_box()
    assert box is not None and box["x"] + box["width"] <= WIDTH and box["y"] >= 0, name
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, name
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS, f"records-{name}.png")), full_page=True)


def test_work_from_the_record_on_a_phone_without_javascript(live, browser) -> None:
    base, app = live
    reporter = make_member(app, email="records.reporter@example.org")
    report_id = make_report(app, reporter, area="sco", categories=["robbery"],
                            identifiers=(("phone", "07700 900456"),))
    coordinator = make_staff(app, "coordinator")
    context = browser.new_context(java_script_enabled=False,
                                  viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    sign_in(app, page, base, coordinator)

    page.goto(f"{base}/coordinator/reports/{report_id}")
    _check(page, "report")
    page.click("text=Record a disclosure request about this report")
    assert page.input_value("#record_ids") == report_id
    assert page.is_checked("input[name=subject_table][value=reports]")
    _check(page, "disclosure-from-report")

    page.goto(f"{base}/coordinator/reports/{report_id}")
    page.click("text=Ask the reporter whether they may be contacted about this report")
    assert page.input_value("#report_id") == report_id
    _check(page, "intermediary-from-report")

    page.goto(f"{base}/coordinator/reports/{report_id}")
    page.click("text=Start an alert from this report")
    assert page.is_checked("input[name=areas][value=sco]")
    assert page.is_checked("input[name=categories][value=robbery]")
    _check(page, "alert-from-report")
    page.fill("#title", "Robbery after a booking")
    page.fill("#description", "Took the money back by force.")
    page.fill("#identifiers-0-value", "07700 900456")
    page.check("#identifiers-0-publish")
    page.click("button[value=preview]")
    assert "+447700900456" in page.inner_text(".alert-card")
    _check(page, "alert-preview")
    page.click("button[value=publish]")
    assert "Published." in page.inner_text("main")

    page.fill("#title", "Robbery after a booking, Glasgow")
    page.click("button[value=save]")
    assert "Say whether members should be notified again" in page.inner_text("main")
    _check(page, "alert-edit-asks")
    page.check("input[name=notify_again][value=yes]")
    page.click("button[value=save]")
    assert "will be notified again" in page.inner_text("main")
    page.click("text=Every saved version")
    history = page.inner_text("main")
    assert "was: Robbery after a booking" in history
    assert "GMT" in history or "BST" in history
    _check(page, "alert-versions")
    context.close()

    auditor = make_staff(app, "auditor")
    context = browser.new_context(java_script_enabled=False,
                                  viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    sign_in(app, page, base, auditor)
    page.goto(f"{base}/audit/")
    page.fill("#record", report_id[:8])
    page.click("main form button[type=submit]")
    assert f"reports/{report_id}" in page.inner_text("main")
    _check(page, "audit-short-id")
    page.fill("#record", "Zz9Zz9Zz")
    page.click("main form button[type=submit]")
    assert "No record with id Zz9Zz9Zz." in page.inner_text("main")
    _check(page, "audit-unknown-id")
    context.close()
