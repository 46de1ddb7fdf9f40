"""Every route against every role: who gets what.

EXPECTED lists every endpoint the app serves, one request that reaches it, and the roles
that may. A new route not listed here fails `test_every_route_is_listed`, so nobody can add
one without saying who may reach it. Each role is a real account signed in through the real
pages (staff with a TOTP code), not a simulated role.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask

from app.web.access import (
    AUDITOR,
    COORDINATOR,
    EVERYONE,
    MEMBER,
    MEMBERS,
    ORG_CONTACT,
    PENDING,
    ROLES,
    SIGNED_IN,
    allowed_roles,
)
from tests.people import (
    make_member,
    make_published_alert,
    make_report,
    make_staff,
    signed_in_client,
)
from tests.test_disclosures import make_contact_request, make_disclosure_request

ONLY_COORDINATORS = frozenset({COORDINATOR})

# endpoint -> (method, url, roles that reach it); {member_id} is a real pending application
# (without a CSRF token, a POST that is let in stops at 400 and changes nothing).
EXPECTED: dict[str, tuple[str, str, frozenset[str]]] = {
    "public.index": ("GET", "/", EVERYONE),
    "public.healthz": ("GET", "/healthz", EVERYONE),
    "language.choose": ("POST", "/language", EVERYONE),
    "static": ("GET", "/static/style.css", EVERYONE),
    "audit.log": ("GET", "/audit/", frozenset({AUDITOR})),
    "audit.export_csv": ("GET", "/audit/log.csv", frozenset({AUDITOR})),
    "audit.checkpoints": ("GET", "/audit/checkpoints", frozenset({AUDITOR})),
    "audit.check_kept": ("POST", "/audit/checkpoints/check", frozenset({AUDITOR})),
    "audit.export_checkpoints": ("GET", "/audit/checkpoints.json", frozenset({AUDITOR})),
    "audit.export_checkpoint": ("GET", "/audit/checkpoints/1.json", frozenset({AUDITOR})),
    "statistics.index": ("GET", "/statistics/", frozenset({COORDINATOR, AUDITOR})),
    "membership.choose": ("GET", "/apply", EVERYONE),
    "membership.individual": ("GET", "/apply/individual", EVERYONE),
    "membership.organisation": ("GET", "/apply/project", EVERYONE),
    "auth.login": ("GET", "/login", EVERYONE),
    "auth.code": ("GET", "/login/code", EVERYONE),
    "auth.logout": ("POST", "/logout", SIGNED_IN | {PENDING}),
    "auth.reset": ("GET", "/reset", EVERYONE),
    "auth.quick_exit": ("GET", "/exit", EVERYONE),
    "auth.reset_code": ("GET", "/reset/code", EVERYONE),
    "account.settings": ("GET", "/account", SIGNED_IN),
    "account.change_password": ("POST", "/account/password", SIGNED_IN),
    "account.sign_out_everywhere": ("POST", "/account/sign-out-everywhere", SIGNED_IN),
    "account.two_step": ("GET", "/account/two-step", MEMBERS),
    "account.two_step_off": ("POST", "/account/two-step/off", MEMBERS),
    "account.leave": ("POST", "/account/leave", frozenset({MEMBER, ORG_CONTACT})),
    "account.contact": ("GET", "/account/contact", frozenset({MEMBER, ORG_CONTACT})),
    "account.welcome": ("GET", "/account/welcome", frozenset({MEMBER, ORG_CONTACT})),
    "organisation.staff": ("GET", "/organisation/staff", frozenset({ORG_CONTACT})),
    "organisation.add_staff": ("POST", "/organisation/staff/add", frozenset({ORG_CONTACT})),
    "organisation.remove_staff": ("POST", "/organisation/staff/{member_id}/remove",
                                  frozenset({ORG_CONTACT})),
    "checker.check": ("GET", "/check", MEMBERS),
    "coordinator.queue": ("GET", "/coordinator/", ONLY_COORDINATORS),
    "coordinator.unlock": ("GET", "/coordinator/unlock", ONLY_COORDINATORS),
    "coordinator.lock": ("POST", "/coordinator/lock", ONLY_COORDINATORS),
    "coordinator.application": ("GET", "/coordinator/applications/{member_id}",
                                ONLY_COORDINATORS),
    "coordinator.unseal": ("POST", "/coordinator/applications/{member_id}/unseal",
                           ONLY_COORDINATORS),
    "coordinator.approve": ("POST", "/coordinator/applications/{member_id}/approve",
                            ONLY_COORDINATORS),
    "coordinator.reject": ("POST", "/coordinator/applications/{member_id}/reject",
                           ONLY_COORDINATORS),
    "coordinator.request_info": ("POST", "/coordinator/applications/{member_id}/request-info",
                                 ONLY_COORDINATORS),
    "coordinator.answers": ("POST", "/coordinator/applications/{member_id}/answers",
                            ONLY_COORDINATORS),
    "coordinator.reject_many": ("POST", "/coordinator/reject-applications", ONLY_COORDINATORS),
    "coordinator.members": ("GET", "/coordinator/members", ONLY_COORDINATORS),
    "coordinator.read_note": ("POST", "/coordinator/notes/{note_id}", ONLY_COORDINATORS),
    "coordinator.member": ("GET", "/coordinator/members/{member_id}", ONLY_COORDINATORS),
    "coordinator.revoke": ("POST", "/coordinator/members/{member_id}/revoke",
                           ONLY_COORDINATORS),
    "coordinator.record_leave": ("POST", "/coordinator/members/{member_id}/leave",
                                 ONLY_COORDINATORS),
    "coordinator.confirm_revoke": ("GET", "/coordinator/members/{member_id}/revoke",
                                   ONLY_COORDINATORS),
    "coordinator.confirm_leave": ("GET", "/coordinator/members/{member_id}/leave",
                                  ONLY_COORDINATORS),
    "coordinator.reset_member_two_step": ("POST",
                                          "/coordinator/members/{member_id}/reset-two-step",
                                          ONLY_COORDINATORS),
    "coordinator.send_member_reset_code": ("POST",
                                           "/coordinator/members/{member_id}/send-reset-code",
                                           ONLY_COORDINATORS),
    # {account_id} is another coordinator's login.
    "staff_admin.index": ("GET", "/coordinator/staff/", ONLY_COORDINATORS),
    "staff_admin.person": ("GET", "/coordinator/staff/{account_id}", ONLY_COORDINATORS),
    "staff_admin.label": ("POST", "/coordinator/staff/{account_id}/label", ONLY_COORDINATORS),
    "staff_admin.disable": ("POST", "/coordinator/staff/{account_id}/disable",
                            ONLY_COORDINATORS),
    "staff_admin.enable": ("POST", "/coordinator/staff/{account_id}/enable",
                           ONLY_COORDINATORS),
    "alerts.index": ("GET", "/alerts", MEMBERS),
    "alerts.show": ("GET", "/alerts/{alert_id}", MEMBERS),
    "alerts.areas": ("GET", "/alerts/areas", MEMBERS),
    "alert_admin.index": ("GET", "/coordinator/alerts/", ONLY_COORDINATORS),
    "alert_admin.new": ("POST", "/coordinator/alerts/new", ONLY_COORDINATORS),
    "alert_admin.edit": ("GET", "/coordinator/alerts/{alert_id}", ONLY_COORDINATORS),
    "alert_admin.change": ("POST", "/coordinator/alerts/{alert_id}", ONLY_COORDINATORS),
    "alert_admin.withdraw": ("POST", "/coordinator/alerts/{alert_id}/withdraw",
                             ONLY_COORDINATORS),
    "alert_admin.confirm_withdraw": ("GET", "/coordinator/alerts/{alert_id}/withdraw",
                                     ONLY_COORDINATORS),
    "alert_admin.confirm_undo_withdraw": ("GET",
                                          "/coordinator/alerts/{alert_id}/withdraw/undo",
                                          ONLY_COORDINATORS),
    "alert_admin.undo_withdraw": ("POST", "/coordinator/alerts/{alert_id}/withdraw/undo",
                                  ONLY_COORDINATORS),
    "alert_admin.history": ("GET", "/coordinator/alerts/{alert_id}/versions",
                            ONLY_COORDINATORS),
    "reports.mine": ("GET", "/reports", MEMBERS),
    "reports.new": ("GET", "/reports/new", MEMBERS),
    # {report_id} is another member's report: those who may reach the route get a 404.
    "reports.add": ("GET", "/reports/{report_id}/add", MEMBERS),
    "reports.withdraw": ("GET", "/reports/{report_id}/withdraw", MEMBERS),
    "report_review.queue": ("GET", "/coordinator/reports", ONLY_COORDINATORS),
    "report_review.report": ("GET", "/coordinator/reports/{report_id}", ONLY_COORDINATORS),
    "report_review.unseal": ("POST", "/coordinator/reports/{report_id}/unseal",
                                  ONLY_COORDINATORS),
    "report_review.malicious": ("POST", "/coordinator/reports/{report_id}/malicious",
                                     ONLY_COORDINATORS),
    "report_review.confirm_malicious": ("GET", "/coordinator/reports/{report_id}/malicious",
                                        ONLY_COORDINATORS),
    "report_review.confirm_undo_malicious": ("GET",
                                             "/coordinator/reports/{report_id}/malicious/undo",
                                             ONLY_COORDINATORS),
    "report_review.undo_malicious": ("POST", "/coordinator/reports/{report_id}/malicious/undo",
                                     ONLY_COORDINATORS),
    "report_review.close": ("POST", "/coordinator/reports/{report_id}/close",
                                 ONLY_COORDINATORS),
    "report_review.alert": ("POST", "/coordinator/reports/{report_id}/alert",
                                 ONLY_COORDINATORS),
    # {support_id} is the support request of the report above (its reporter asked).
    "support.queue": ("GET", "/coordinator/support/", ONLY_COORDINATORS),
    "support.show": ("GET", "/coordinator/support/{support_id}", ONLY_COORDINATORS),
    "support.status": ("POST", "/coordinator/support/{support_id}/status", ONLY_COORDINATORS),
    "support.note": ("POST", "/coordinator/support/{support_id}/note", ONLY_COORDINATORS),
    "support.unseal": ("POST", "/coordinator/support/{support_id}/unseal", ONLY_COORDINATORS),
    "support.read_answer": ("POST", "/coordinator/support/{support_id}/answer",
                            ONLY_COORDINATORS),
    "support.message": ("POST", "/coordinator/support/{support_id}/message",
                        ONLY_COORDINATORS),
    "disclosures.index": ("GET", "/coordinator/disclosures/", ONLY_COORDINATORS),
    "disclosures.new": ("GET", "/coordinator/disclosures/new", ONLY_COORDINATORS),
    "disclosures.show": ("GET", "/coordinator/disclosures/{request_id}", ONLY_COORDINATORS),
    "disclosures.details": ("POST", "/coordinator/disclosures/{request_id}/details",
                            ONLY_COORDINATORS),
    "disclosures.approve": ("POST", "/coordinator/disclosures/{request_id}/approve",
                            ONLY_COORDINATORS),
    "disclosures.refuse": ("POST", "/coordinator/disclosures/{request_id}/refuse",
                           ONLY_COORDINATORS),
    "disclosures.disclose": ("POST", "/coordinator/disclosures/{request_id}/disclose",
                             ONLY_COORDINATORS),
    "disclosures.confirm_disclose": ("GET", "/coordinator/disclosures/{request_id}/disclose",
                                     ONLY_COORDINATORS),
    "disclosures.extend_delay": ("POST", "/coordinator/disclosures/{request_id}/delay",
                                 ONLY_COORDINATORS),
    "disclosures.notify_now": ("POST", "/coordinator/disclosures/{request_id}/notify",
                               ONLY_COORDINATORS),
    "disclosures.contact_new": ("GET", "/coordinator/disclosures/contact/new",
                                ONLY_COORDINATORS),
    "disclosures.contact_show": ("GET", "/coordinator/disclosures/contact/{contact_id}",
                                 ONLY_COORDINATORS),
    "disclosures.contact_details": ("POST",
                                    "/coordinator/disclosures/contact/{contact_id}/details",
                                    ONLY_COORDINATORS),
    "disclosures.police_export": ("GET", "/coordinator/disclosures/export", ONLY_COORDINATORS),
    # A member or an organisation's key contact; {message_id} is another member's message,
    # so those who may reach the route get a 404 for it.
    "messages.messages_index": ("GET", "/account/messages",
                                frozenset({MEMBER, ORG_CONTACT, PENDING})),
    # {question_id} is another application's question: a 404 for those who may reach it.
    "messages.question": ("GET", "/account/messages/questions/{question_id}",
                          frozenset({ORG_CONTACT, PENDING})),
    "messages.answer_question": ("POST", "/account/messages/questions/{question_id}/answer",
                                 frozenset({PENDING})),
    "messages.message": ("GET", "/account/messages/{message_id}",
                         frozenset({MEMBER, ORG_CONTACT})),
    "messages.answer": ("POST", "/account/messages/{message_id}/answer",
                        frozenset({MEMBER, ORG_CONTACT})),
    "messages.answer_support": ("POST", "/account/messages/{message_id}/support-answer",
                                frozenset({MEMBER, ORG_CONTACT})),
}


def test_every_route_is_listed(app: Flask) -> None:
    served = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert served == set(EXPECTED)


def test_every_route_states_its_roles(app: Flask) -> None:
    for rule in app.url_map.iter_rules():
        assert allowed_roles(app, rule.endpoint) is not None, rule.endpoint


def test_stated_roles_match_the_expectations(app: Flask) -> None:
    for endpoint, (_method, _url, roles) in EXPECTED.items():
        assert allowed_roles(app, endpoint) == roles, endpoint


def _client_for(app: Flask, role: str):
    if role == "anonymous":
        return app.test_client()
    if role == "pending":
        # An applicant awaiting vetting gets no session, unless it is an organisation a
        # coordinator asked a question: then it signs in to read and answer it only.
        make_member(app, status="pending")
        asked = make_member(app, role="org_contact", kind="project", status="pending")
        _ask(app, asked.member_id)
        return signed_in_client(app, asked)
    if role in (COORDINATOR, AUDITOR):
        return signed_in_client(app, make_staff(app, role))
    if role == "member":
        return signed_in_client(app, make_member(app))
    organisation = make_member(app, role="org_contact", kind="project")
    if role == "org_contact":
        return signed_in_client(app, organisation)
    return signed_in_client(app, make_member(app, role="org_staff", kind="project",
                                             member_id=organisation.member_id))


def _ask(app: Flask, member_id: str | None) -> str:
    from app.membership import decisions
    from app.web.state import state

    assert member_id is not None
    conn = _connect(app)
    try:
        return decisions.request_info(conn, member_id, "website", "Which page shows it?",
                                      make_staff(app, COORDINATOR).account_id,
                                      state(app).clock())
    finally:
        conn.close()


def _support_id(app: Flask, report_id: str) -> str:
    from app.support import service

    conn = _connect(app)
    try:
        found = service.for_report(conn, report_id)
    finally:
        conn.close()
    assert found is not None
    return found


def _connect(app: Flask):
    from app.vault import db
    from app.web.state import state
    from crypto.keystore import load_server_keys

    config = state(app).config
    return db.connect(config.database_path, load_server_keys(config.keys_dir).database_key)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_as_expected(app: Flask, role: str) -> None:
    client = _client_for(app, role)
    applicant = make_member(app, status="pending", work_name="Someone Applying")
    report_id = make_report(app, wants_support=True)
    support_id = _support_id(app, report_id)
    alert_id = make_published_alert(app)
    coordinator = make_staff(app, "coordinator")
    request_id = make_disclosure_request(app, coordinator, applicant.member_id)
    contact_id, message_id = make_contact_request(app, coordinator, report_id)
    question_id = _ask(app, make_member(app, role="org_contact", kind="project",
                                        status="pending").member_id)
    wrong = []
    # Sign-out routes last, so they do not end the session the others need.
    order = sorted(EXPECTED, key=lambda e: ("logout" in e or "everywhere" in e
                                            or e == "auth.quick_exit", e))
    for endpoint in order:
        method, url, roles = EXPECTED[endpoint]
        response = client.open(url.format(member_id=applicant.member_id, report_id=report_id,
                                          alert_id=alert_id, request_id=request_id,
                                          contact_id=contact_id, message_id=message_id,
                                          account_id=coordinator.account_id,
                                          question_id=question_id, support_id=support_id,
                                          note_id="0" * 22),
                               method=method)
        location = response.headers.get("Location", "")
        refused = response.status_code == 403 or (
            response.status_code == 302 and "/login?required=1" in location)
        if role in roles and refused:
            wrong.append(f"{method} {url}: {role} refused ({response.status_code})")
        if role not in roles and not refused:
            wrong.append(f"{method} {url}: {role} let in ({response.status_code})")
        if method == "POST" and role in roles and response.status_code != 400:
            wrong.append(f"{method} {url}: {role} got past CSRF ({response.status_code})")
        if response.status_code == 200 and response.mimetype == "text/html":
            title = re.search(r"<title>(.*?)</title>", response.get_data(as_text=True), re.S)
            if not title or "<" in title.group(1) or len(title.group(1)) > 120:
                wrong.append(f"{method} {url}: a broken <title>")
        if response.status_code >= 500:
            wrong.append(f"{method} {url}: {role} got {response.status_code}")
    assert wrong == []
