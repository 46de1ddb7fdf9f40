"""Reading a decision's note and a reporter's support answer, in Chromium with JavaScript
off, at 320 px: the decisions listed on the report, the note page, the reporter's reply
form and the coordinator's support request page. Set UGLYMUGS_SCREENSHOTS=/some/dir to keep
a screenshot of each step.
"""

from __future__ import annotations

from app.support import service as support
from app.vault import db
from app.web.state import state
from tests.browser.conftest import looked_at, sign_in, skip_without_chromium, unlock_in
from tests.people import _conn, make_member, make_report, make_staff

skip_without_chromium()

NOTE = "Checked with the reporter's support worker."
ANSWER = "Yes please, a caseworker near Leeds."


def _phone(browser):
    return browser.new_context(java_script_enabled=False,
                               viewport={"width": 320, "height": 568}).new_page()


def test_a_note_and_a_support_answer_are_read_with_javascript_off(live, browser) -> None:
    base, app = live
    reporter = make_member(app)
    report_id = make_report(app, reporter, wants_support=True)
    staff = make_staff(app, "coordinator")
    conn = _conn(app)
    request_id = support.for_report(conn, report_id)
    support.message_member(conn, staff.account_id, request_id, state(app).clock())
    message_id = db.scalar(conn, "SELECT id FROM member_messages WHERE support_request_id = ?",
                           (request_id,))
    conn.close()

    member = _phone(browser)
    member.goto(base + "/login")
    member.fill("#username", reporter.username)
    member.fill("#password", reporter.password)
    member.click("main button[type=submit]")
    member.goto(f"{base}/account/messages/{message_id}")
    looked_at(member, "support-reply-form")
    member.fill("#answer", ANSWER)
    member.click("main button:has-text('Send the answer')")
    assert "You answered on" in member.inner_text("main")
    looked_at(member, "support-replied")

    page = _phone(browser)
    sign_in(app, page, base, staff)
    unlock_in(page, base, staff)

    page.goto(f"{base}/coordinator/reports/{report_id}")
    page.click("main button:has-text('Read the report')")
    page.goto(f"{base}/coordinator/reports/{report_id}/malicious")
    page.check("input[name=reason][value=invented]")
    page.fill("#note", NOTE)
    page.check("#confirm")
    page.click("main button[type=submit]:has-text('Mark as malicious or false')")
    page.goto(f"{base}/coordinator/reports/{report_id}")
    assert "Report marked malicious or false" in page.inner_text("main")
    assert NOTE not in page.inner_text("main")
    looked_at(page, "report-decisions")
    page.click("main button:has-text('Read the note')")
    assert NOTE in page.inner_text("main")
    looked_at(page, "decision-note")

    page.goto(f"{base}/coordinator/support/")
    assert "The reporter answered" in page.inner_text("main")
    looked_at(page, "support-queue-answered")
    page.goto(f"{base}/coordinator/support/{request_id}")
    page.click("main button:has-text('Read the answer')")
    assert ANSWER in page.inner_text("main")
    looked_at(page, "support-answer-read")
