"""The membership journey in real Chromium with JavaScript turned off.

Every page must work without script, so the browser here has it disabled. Runs against a
live server on 127.0.0.1. Skipped where Chromium or Playwright is missing, except in CI
(.ci/run installs Debian's chromium), where a missing browser is a failure.
"""

from __future__ import annotations

import re

from tests.browser.conftest import signed_out_page as _page
from tests.browser.conftest import skip_without_chromium
from tests.people import current_code, make_staff

skip_without_chromium()


def test_apply_vet_and_sign_in_with_javascript_off(live, browser, keys_dir) -> None:
    base, app = live
    applicant = _page(browser)
    applicant.goto(base + "/")
    applicant.click("text=Apply to join")
    applicant.click("a[href='/apply/individual']")
    applicant.click("main button[type=submit]")
    assert "Please check the form" in applicant.content(), "errors shown without script"
    applicant.fill("#work_name", "Browser Canary")
    applicant.fill("#mobile", "07700 900456")
    applicant.check("input[name=alert_channel][value=sms]")
    applicant.select_option("#alert_area", "ldn")
    applicant.check("#agree_terms")
    applicant.fill("#password", "browser password 99")
    applicant.fill("#password_again", "browser password 99")
    applicant.click("main button[type=submit]")
    username = re.search(r"\b([a-z]+-[a-z]+-\d{4})\b", applicant.inner_text("main")).group(1)

    staff = make_staff(app, "coordinator")
    coordinator = _page(browser)
    coordinator.goto(base + "/login")
    coordinator.fill("#username", staff.username)
    coordinator.fill("#password", staff.password)
    coordinator.click("main button[type=submit]")
    coordinator.fill("#code", current_code(app, staff.totp_secret))
    coordinator.click("main button[type=submit]")
    assert "Applications waiting" in coordinator.inner_text("h1")
    coordinator.click("text=Unlock it")
    coordinator.set_input_files("#key_file", str(staff.key_file))
    coordinator.fill("#passphrase", staff.key_passphrase)
    coordinator.click("main button[type=submit]")
    assert "unlocked" in coordinator.inner_text("main")
    coordinator.click("table.queue a")
    coordinator.click("text=Open the details to vet")
    assert "Browser Canary" in coordinator.inner_text("main")
    coordinator.click("main button:has-text('Approve')")
    assert "Approved" in coordinator.inner_text("main")

    member = _page(browser)
    member.goto(base + "/login")
    member.fill("#username", username)
    member.fill("#password", "browser password 99")
    member.click("main button[type=submit]")
    assert member.url.endswith("/account/welcome"), "the first sign-in asks about alerts"
    assert member.is_checked("input[name=areas][value=ldn]"), "the area given when applying"
    member.click("main button:has-text('These are right')")
    assert member.url.endswith("/alerts")
    member.click("nav button:has-text('Sign out')")
    assert "You are signed out" in member.inner_text("main")


def test_report_and_check_with_javascript_off(live, browser, keys_dir) -> None:
    from playwright.sync_api import expect

    from tests.people import PASSWORD, make_member, make_report

    base, app = live
    earlier = make_report(app, identifiers=(("phone", "+44 7700 900321"),))
    member = make_member(app)
    page = _page(browser)
    page.goto(base + "/login")
    page.fill("#username", member.username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.click("nav a:has-text('Reports')")
    page.click("main a:has-text('Report an incident')")
    page.fill("#incident_date", "2026-01-02")
    page.select_option("#area", "ldn")
    page.check("input[name=categories][value=threats]")
    page.fill("#narrative", "Browser canary narrative")
    page.fill("#identifiers-0-value", "07700 900321")
    # The button posts the form back; under load Playwright's click can return before the
    # new page has arrived, so wait on the rows rather than read the old page.
    page.click("text=Add more identifiers")
    expect(page.locator("#identifiers-5-value"), "rows added without script").to_have_count(1)
    assert page.input_value("#identifiers-0-value") == "07700 900321"
    page.select_option("#identifiers-3-kind", "plate")
    page.fill("#identifiers-3-value", "ab12 cde")
    page.click("main button:has-text('Send the report')")
    assert "has been received" in page.inner_text("main")
    page.click("nav a:has-text('Check a number')")
    page.fill("input[name=value]", "07700 900321")
    page.click("main button[type=submit]")
    assert "No published alert mentions this" in page.inner_text("main"), \
        "an unvetted report is never an answer"

    staff = make_staff(app, "coordinator")
    coordinator = _page(browser)
    coordinator.goto(base + "/login")
    coordinator.fill("#username", staff.username)
    coordinator.fill("#password", staff.password)
    coordinator.click("main button[type=submit]")
    coordinator.fill("#code", current_code(app, staff.totp_secret))
    coordinator.click("main button[type=submit]")
    coordinator.click("nav a:has-text('Reports')")
    coordinator.locator("table.queue a").filter(has_not_text=earlier[:8]).first.click()
    assert earlier[:8] in coordinator.inner_text("section:has-text('Linked reports')")
