"""One populated service per threat module, canaries in every sealed field.

Each threat module builds one of these (module-scoped: planting costs a few seconds) and
plays its adversary against it. Every value goes in through the flow a real person uses:
applying through /apply, a member's report and its addition, an organisation's answer to
a coordinator's question, disclosure requests, a refusal note and an intermediary note
through the coordinators' pages. `Planted.records` says which record holds each canary, so
a test can ask whether the log names the record before a page shows its value.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask

from app import create_app
from app.vault import db, decision_notes, holders
from app.vault import log as disclosure_log
from app.web.config import Config
from app.web.state import load_keys, state
from crypto import keystore
from tests.conftest import install_holders
from tests.flows import apply, decide, member_id_of, unlock
from tests.people import (
    Person,
    make_member,
    make_published_alert,
    make_report,
    make_staff,
    sign_in,
    signed_in_client,
)
from tests.test_disclosures import (
    JUSTIFICATION,
    REFERENCE,
    REQUESTER,
    make_contact_request,
    make_disclosure_request,
)
from tests.webtools import post_form

APPLICANT = {"work_name": "Canaryzx Velvet Workname", "real_name": "Canaryzx Bronwen Realname",
             "email": "canaryzx.applicant@example.org", "mobile": "07700 900417"}
ORGANISATION = {"org_name": "Canaryzx Orgname Project", "key_contact": "Canaryzx Keycontact",
                "org_email": "office@canaryzx-project.org",
                "org_website": "https://www.canaryzx-project.org",
                "org_description": "Canaryzx outreach and drop-in description"}
MEMBER = {"work_name": "Canaryzx Reporter Workname", "email": "canaryzx.reporter@example.org"}
REPORT = {"narrative": "Canaryzx narrative: he took the money back and threatened me.",
          "place": "Canaryzx Hotel, back entrance",
          "description": "Canaryzx description: tall, grey van",
          "identifiers": (("phone", "07700 900733"),
                          ("email", "canaryzx.offender@example.net"),
                          ("handle", "CanaryzxHandle77"))}
ADDITION = "Canaryzx addition: he drives a blue estate now."
QUESTION = "Canaryzx question: which page of the website shows the outreach work?"
ANSWER = "Canaryzx answer: ask Jo Canaryzxbloggs at the Tuesday drop-in."
REFUSAL_NOTE = "Canaryzx refusal note about the officer"
CONTACT_NOTE = "Canaryzx intermediary note"
DECISION_NOTE = "Canaryzx decision note about the reporter's neighbour"
# Phone numbers are also searched for in the forms the normaliser gives them.
PHONE_FORMS = {"07700 900417": ("+447700900417", "7700900417"),
               "07700 900733": ("+447700900733", "7700900733")}


def _with_forms(values: list[str]) -> list[str]:
    return [*values, *(form for value in values for form in PHONE_FORMS.get(value, ()))]


@dataclass
class Planted:
    app: Flask
    keys_dir: Path
    database_key: bytes
    ids: dict[str, str]
    # record ("members/<id>") -> the canaries sealed in it
    records: dict[str, list[str]]
    # Private text kept under the database key only (a coordinator's question): not sealed,
    # so a coordinator reads it without an unseal, but nobody else may.
    unsealed_private: list[str]
    member: Person
    coordinators: list[Person] = field(default_factory=list)
    # How far the app's clock runs ahead of the real one (see `signed_in`).
    offset: list[timedelta] = field(default_factory=lambda: [timedelta(0)])

    def signed_in(self, person: Person):
        """A browser signed in as `person`, the clock moved on 31 s first: a fresh TOTP
        step for staff, and the sign-in limit's overall bucket refilled."""
        self.offset[0] += timedelta(seconds=31)
        return signed_in_client(self.app, person)

    @property
    def sealed(self) -> list[str]:
        return sorted({value for values in self.records.values() for value in values})

    def holders_of(self, canary: str) -> set[str]:
        """The records a canary is sealed in."""
        return {record for record, values in self.records.items() if canary in values}

    @property
    def canaries(self) -> list[str]:
        return [*self.sealed, *self.unsealed_private]

    def connect(self) -> db.Connection:
        return db.connect(state(self.app).config.database_path, self.database_key)

    def log_bodies(self) -> list[dict]:
        conn = self.connect()
        try:
            return [dict(entry.body) for entry in disclosure_log.entries(conn)]
        finally:
            conn.close()


# Ends the session (or the membership) a sweep needs: asked after every other route.
SIGN_OUT = ("coordinator.lock", "auth.logout", "account.sign_out_everywhere",
            "auth.quick_exit", "account.leave")


def every_route(app: Flask, variants: Sequence[dict[str, str]]
                ) -> Iterator[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule the app serves, GET and POST, its arguments
    filled from each of `variants` in turn (each distinct url once); sign-outs last.

    From the URL map, so a route added tomorrow is swept too; a new argument name this
    cannot fill fails loudly instead of being skipped.
    """
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint in SIGN_OUT, r.rule))
    for rule in rules:
        urls: dict[str, None] = {}
        for variant in variants:
            values = {"seq": "1", "filename": "style.css", **variant}
            missing = set(rule.arguments) - set(values)
            assert not missing, f"{rule.rule}: give the sweep a value for {sorted(missing)}"
            urls[rule.build({a: values[a] for a in rule.arguments})[1]] = None
        for url in urls:
            for method in sorted(set(rule.methods or ()) & {"GET", "POST"}):
                yield rule.endpoint, method, url


def build_app(root: Path, keys_dir: Path) -> tuple[Flask, bytes]:
    """What tests/conftest.py's `app` fixture makes, in a folder a module can share."""
    config = Config(keys_dir=keys_dir, database_path=root / "var" / "uglymugs.db",
                    testing=True, cheap_password_hashing=True, text_alerts=True,
                    checkpoint_seconds=None)
    database_key = keystore.load_server_keys(keys_dir).database_key
    db.init_database(config.database_path, database_key, config.schema_path)
    install_holders(config, database_key)
    return create_app(config), database_key


def plant(root: Path, keys_dir: Path) -> Planted:
    app, database_key = build_app(root, keys_dir)
    offset = [timedelta(0)]
    state(app).clock = lambda: datetime.now(UTC) + offset[0]

    def staff_client(person: Person):
        offset[0] += timedelta(seconds=31)
        return signed_in_client(app, person)

    conn = db.connect(state(app).config.database_path, database_key)
    try:
        applicant_id = member_id_of(conn, apply(app, **APPLICANT))
        org_username = apply(app, "project", **ORGANISATION)
        org_id = member_id_of(conn, org_username)
        member = make_member(app, alert_channel="email", **MEMBER)
        # Consented to the police export, so that route opens something too.
        report_id = make_report(app, member, consent_police_details=True, **REPORT)
        member_client = signed_in_client(app, member)
        added = post_form(member_client, f"/reports/{report_id}/add", {"text": ADDITION})
        assert added.status_code == 302, added.status_code
        addition_id = conn.execute("SELECT id FROM report_additions").fetchone()[0]

        first, second = make_staff(app, "coordinator"), make_staff(app, "coordinator")
        first_client, second_client = staff_client(first), staff_client(second)
        asked = decide(first_client, org_id, "request-info", reason="website",
                       question=QUESTION)
        assert asked.status_code == 302, asked.status_code
        question_id = conn.execute("SELECT id FROM application_questions").fetchone()[0]
        org_client = app.test_client()
        assert sign_in(app, org_client, Person(org_username, "applicant password 42",
                                               "member", "")).status_code == 302
        answered = post_form(org_client, f"/account/messages/questions/{question_id}/answer",
                             {"answer": ANSWER},
                             form_url=f"/account/messages/questions/{question_id}")
        assert answered.status_code == 302, answered.status_code

        # Who asked, their reference and why: the makers' canaries (tests/test_disclosures).
        request_id = make_disclosure_request(app, first, member.member_id)
        refused_id = make_disclosure_request(app, first, member.member_id,
                                             legal_basis="court_order")
        assert unlock(second_client, keys_dir).status_code == 302
        refused = post_form(second_client, f"/coordinator/disclosures/{refused_id}/refuse",
                            {"reason": "other", "note": REFUSAL_NOTE},
                            form_url=f"/coordinator/disclosures/{refused_id}")
        assert refused.status_code == 302, refused.status_code
        approved = post_form(second_client, f"/coordinator/disclosures/{request_id}/approve",
                             {"read_it": "y"}, form_url=f"/coordinator/disclosures/{request_id}")
        assert approved.status_code == 302, approved.status_code
        contact_form = {"report_id": report_id, "authority": "met", "reason": "statement",
                        "fields": ["identity.work_name", "contact.email"],
                        "requester": REQUESTER, "reference": REFERENCE, "note": CONTACT_NOTE}
        sent = post_form(second_client, "/coordinator/disclosures/contact/new", contact_form)
        assert sent.status_code == 302, sent.status_code
        contact_id = sent.headers["Location"].rsplit("/", 1)[-1]
        message_id = conn.execute("SELECT id FROM member_messages WHERE contact_request_id "
                                  "= ?", (contact_id,)).fetchone()[0]
        post_form(second_client, "/coordinator/lock", {}, form_url="/coordinator/unlock")
        # A second contact request, by the service, for the routes that take one.
        make_contact_request(app, first, report_id)
        alert_id = make_published_alert(app)
        # A decision's sealed note, for the route that reads one.
        with db.transaction(conn):
            note_id = decision_notes.add(
                conn, holders.vetting_recipient(conn, load_keys(app)),
                event="report_marked_malicious", record=f"reports/{report_id}",
                actor_id=first.account_id, text=DECISION_NOTE, now=state(app).clock())
        ids = {"member_id": applicant_id, "org_id": org_id, "report_id": report_id,
               "addition_id": addition_id, "question_id": question_id,
               "request_id": request_id, "refused_id": refused_id, "contact_id": contact_id,
               "message_id": message_id, "alert_id": alert_id, "kind": "project",
               "account_id": second.account_id, "member_member_id": member.member_id or "",
               "note_id": note_id}
    finally:
        conn.close()
    records = {
        f"members/{applicant_id}": _with_forms(list(APPLICANT.values())),
        f"members/{org_id}": _with_forms([*ORGANISATION.values(), "canaryzx-project.org"]),
        f"members/{member.member_id}": list(MEMBER.values()),
        f"reports/{report_id}": _with_forms([REPORT["narrative"], REPORT["place"],
                                             REPORT["description"],
                                             *(v for _k, v in REPORT["identifiers"])]),
        f"report_additions/{addition_id}": [ADDITION],
        f"application_questions/{question_id}": [ANSWER],
        f"disclosure_requests/{request_id}": [REQUESTER, REFERENCE, JUSTIFICATION],
        f"disclosure_requests/{refused_id}": [REQUESTER, REFERENCE, JUSTIFICATION,
                                              REFUSAL_NOTE],
        f"contact_requests/{contact_id}": [REQUESTER, REFERENCE, CONTACT_NOTE],
        f"decision_notes/{note_id}": [DECISION_NOTE],
    }
    return Planted(app, keys_dir, database_key, ids, records, [QUESTION], member,
                   [first, second], offset)
