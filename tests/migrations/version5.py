"""A populated version-5 database: what an install made before migrations existed.

Rows go in through plain INSERTs of the version-5 columns, not through the services,
which follow the current schema; envelopes are sealed with the real sealing code and the
test key ceremony's keys, and the disclosure log is appended through app.vault.log, so
the upgrade is tested on the bytes a real install holds. Every table gets rows.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import nacl.signing

from app.common import identifiers
from app.vault import db, log, sealing
from crypto import audit_chain, normalise
from crypto.blind_index import BlindIndexer
from crypto.keystore import ServerKeys
from tests.migrations.databases import SCHEMAS, build_database

SCHEMA_V5 = SCHEMAS / "schema_v5.sql"

# (table, column, row id) -> the values sealed there, to check they still open to them.
Sealed = dict[tuple[str, str, str], dict[str, str]]

AT = "2026-02-10T09:30:00+00:00"
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"


# Version 5 to 13 kept member contact indexes 20-bit truncated, under the server's
# index.key: computed here as those versions did (the app no longer can: migration 0014).
OLD_CONTACT_INDEX_BITS = 20


def old_contact_indexes(indexer: BlindIndexer,
                        contact: dict[str, str]) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    bits = OLD_CONTACT_INDEX_BITS
    mobile = contact.get("mobile")
    email = contact.get("email") or contact.get("org_email")
    if mobile:
        found.append(("mobile_e164", indexer.compute(
            "members", "mobile", "e164", normalise.normalise_phone(mobile), bits)))
    if email:
        found.append(("email_exact", indexer.compute(
            "members", "email", "exact", normalise.normalise_email(email), bits)))
        found.append(("email_canonical", indexer.compute(
            "members", "email", "canonical", normalise.canonical_email(email), bits)))
    return found


def build_v5(path: Path, key: bytes) -> None:
    build_database(path, key, SCHEMA_V5.read_text(encoding="utf-8"))


class _Filler:
    def __init__(self, conn: db.Connection, keys: ServerKeys) -> None:
        self.conn = conn
        self.keys = keys
        self.indexer = BlindIndexer(keys.index_key)
        self.sealed: Sealed = {}

    def seal(self, table: str, column: str, row_id: str, values: dict[str, str], *,
             delivery: bool = False, vetting: bool = True) -> bytes:
        recipients = ([self.keys.vetting_public] if vetting else []) + (
            [self.keys.delivery_public] if delivery else [])
        self.sealed[(table, column, row_id)] = dict(values)
        return sealing.seal_group(table, column, row_id, values, recipients)

    def insert(self, table: str, **values: object) -> None:
        columns = ", ".join(values)
        marks = ", ".join("?" * len(values))
        self.conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                          tuple(values.values()))

    def member(self, member_id: str, kind: str, status: str, channel: str,
               identity: dict[str, str] | None, contact: dict[str, str] | None) -> None:
        push = channel in ("email", "sms")
        self.insert(
            "members", id=member_id, kind=kind, status=status, created_at=AT,
            identity=None if identity is None else
            self.seal("members", "identity", member_id, identity),
            contact=None if contact is None else
            self.seal("members", "contact", member_id, contact, delivery=push),
            alert_channel=channel, duplicate_candidates=0,
            decided_at=None if status == "pending" else AT)
        for name, value in old_contact_indexes(self.indexer, contact or {}):
            self.insert("member_contact_index", member_id=member_id, index_name=name,
                        value=value)

    def account(self, account_id: str, username: str, role: str, member_id: str | None,
                status: str = "active", totp: str | None = None) -> None:
        self.insert("accounts", id=account_id, username=username, password_hash=PASSWORD_HASH,
                    role=role, member_id=member_id, status=status, totp_secret=totp,
                    totp_last_step=None if totp is None else 59_000_000, created_at=AT)

    def report(self, report_id: str, account: str | None, member: str | None, area: str,
               categories: list[str], status: str, identifier: tuple[str, str]) -> None:
        kind, value = identifier
        self.insert(
            "reports", id=report_id, reporter_account_id=account, reporter_member_id=member,
            created_at=AT, incident_date="2026-02-08", incident_time="evening", area=area,
            late=0, third_party=int(member is None), consent_alert=1,
            consent_police_anonymous=1, consent_police_details=0, wants_support=1,
            status=status, malicious=0,
            narrative=self.seal("reports", "narrative", report_id, {
                "narrative": f"Test narrative for {report_id}: refused to pay, then threats.",
                "place": "Test place near a station"}),
            offender=self.seal("reports", "offender", report_id, {
                "description": "Test description, tall, grey coat",
                "identifiers": json.dumps([{"kind": kind, "value": value}])}))
        for category in categories:
            self.insert("report_categories", report_id=report_id, category=category)
        for name, index in identifiers.index_values(self.indexer, kind, value):
            self.insert("report_identifier_index", report_id=report_id, index_name=name,
                        value=index)


def populate_v5(conn: db.Connection, keys: ServerKeys,
                signing_key: nacl.signing.SigningKey) -> Sealed:
    """Fill every version-5 table with rows a running service would have written."""
    fill = _Filler(conn, keys)
    ins = fill.insert
    with db.transaction(conn):
        fill.member("m-active", "individual", "active", "email",
                    {"work_name": "Test Workname", "real_name": "Test Realname"},
                    {"email": "test.member@example.org", "mobile": "07700 900001"})
        fill.member("m-sms", "individual", "active", "sms",
                    {"work_name": "Second Workname"}, {"mobile": "07700 900002"})
        fill.member("m-org", "project", "active", "email",
                    {"org_name": "Test Project", "org_website": "https://example.org",
                     "key_contact": "Test Contact"}, {"org_email": "project@example.org"})
        fill.member("m-pending", "individual", "pending", "none",
                    {"work_name": "Pending Workname"}, {"email": "pending@example.org"})
        fill.member("m-left", "individual", "left", "none", None, None)

        fill.account("c1", "coordinator-one", "coordinator", None, totp="JBSWY3DPEHPK3PXP")
        fill.account("c2", "coordinator-two", "coordinator", None, totp="KRSXG5CTMVRXEZLU")
        fill.account("au", "auditor-one", "auditor", None, totp="MFRGGZDFMZTWQ2LK")
        fill.account("a-active", "amber-otter-17", "member", "m-active")
        fill.account("a-sms", "brisk-heron-42", "member", "m-sms")
        fill.account("a-org", "calm-finch-08", "org_contact", "m-org")
        fill.account("a-staff", "deft-wren-63", "org_staff", "m-org")
        fill.account("a-pending", "eager-newt-25", "member", "m-pending", status="pending")
        fill.account("a-left", "fair-stoat-91", "member", "m-left", status="disabled")

        ins("sessions", token_hash=hashlib.sha256(os.urandom(32)).digest(), account_id="c1",
            created_at=AT, last_seen_at=AT)
        for member, action in (("m-active", "approve"), ("m-sms", "approve"),
                               ("m-org", "approve"), ("m-left", "approve"),
                               ("m-left", "leave")):
            ins("membership_decisions", member_id=member, action=action, reason=None,
                actor_id="c1" if action == "approve" else None, at=AT)
        ins("membership_decisions", member_id="m-pending", action="request_info",
            reason="need_contact", actor_id="c2", at=AT)
        for question, answer, count in (("gender", "woman", 3), ("area", "ldn", 2),
                                        ("sector", "indep", 1)):
            ins("monitoring_counts", question=question, answer=answer, count=count)

        phone = ("phone", "07700 900123")
        fill.report("r-1", "a-active", "m-active", "ldn", ["threats", "non_payment"],
                    "alert_published", phone)
        fill.report("r-2", "a-sms", "m-sms", "nw", ["assault"], "under_review", phone)
        fill.report("r-3", None, None, "sco", ["other", "stealthing"], "closed",
                    ("plate", "AB12 CDE"))
        for report, action, actor in (("r-1", "review", "c1"), ("r-1", "alert_draft", "c1"),
                                      ("r-2", "review", "c2"), ("r-3", "close", "c2")):
            ins("report_events", report_id=report, action=action, actor_id=actor, at=AT)

        ins("alerts", id="al-1", report_id="r-1", status="published", current_version=2,
            created_at=AT, created_by="c1", published_at=AT, withdrawn_at=None)
        ins("alerts", id="al-2", report_id="r-2", status="draft", current_version=1,
            created_at=AT, created_by="c2", published_at=None, withdrawn_at=None)
        ins("alerts", id="al-3", report_id=None, status="withdrawn", current_version=1,
            created_at=AT, created_by="c1", published_at=AT, withdrawn_at=AT)
        idents = json.dumps([{"kind": "phone", "value": "07700 900123"}])
        for alert, version, national, areas in (("al-1", 1, 0, "ldn"), ("al-1", 2, 0, "ldn,se"),
                                                ("al-2", 1, 0, "nw"), ("al-3", 1, 1, "")):
            ins("alert_versions", alert_id=alert, version=version, title=f"Alert {alert}",
                national=national, areas=areas, categories="threats,non_payment",
                incident_date="2026-02-08", description="A man who refused to pay.",
                identifiers=idents, edited_by="c1", edited_at=AT)
        for alert, area in (("al-1", "ldn"), ("al-1", "se"), ("al-2", "nw")):
            ins("alert_areas", alert_id=alert, area=area)
        for member, area in (("m-active", "ldn"), ("m-active", "se"), ("m-sms", "nw"),
                             ("m-org", "ldn")):
            ins("member_alert_areas", member_id=member, area=area)
        for name, index in identifiers.index_values(fill.indexer, *phone):
            ins("alert_identifier_index", alert_id="al-1", index_name=name, value=index)
        ins("check_counts", day="2026-02-09", count=4)

        for row, kind, member, alert, channel, status in (
                (1, "alert", "m-active", "al-1", "email", "sent"),
                (2, "alert", "m-sms", "al-1", "sms", "pending"),
                (3, "approval", "m-org", None, "email", "sent")):
            ins("outbox", id=row, dedupe_key=f"{kind}:{alert or 'approval'}:{member}",
                kind=kind, member_id=member, alert_id=alert, channel=channel, payload=None,
                status=status, attempts=1, next_attempt_at=AT, created_at=AT,
                sent_at=AT if status == "sent" else None, last_error=None)
        ins("outbox", id=4, dedupe_key="reset:a-active", kind="reset", member_id="m-active",
            alert_id=None, channel="email",
            payload=fill.seal("outbox", "payload", "4", {"code": "483920"}, delivery=True,
                              vetting=False),
            status="failed", attempts=8, next_attempt_at=AT, created_at=AT, sent_at=None,
            last_error="smtp 451")
        ins("password_resets", account_id="a-active", code_hash=os.urandom(32),
            expires_at="2026-02-10T10:00:00+00:00", attempts=1)

        ins("contact_requests", id="cr-1", member_id="m-active", report_id="r-1",
            authority="met", reason="statement", fields=json.dumps({"contact": ["email"]}),
            details=fill.seal("contact_requests", "details", "cr-1", {
                "requester": "DC Test Officer", "reference": "TEST/0001",
                "note": "Test note"}),
            status="accepted", created_by="c1", created_at=AT, answered_by="a-active",
            answered_at=AT)
        ins("disclosure_requests", id="dr-1", authority="met", legal_basis="consent",
            subject_table="members", fields=json.dumps({"contact": ["email"]}),
            details=fill.seal("disclosure_requests", "details", "dr-1", {
                "requester": "DC Test Officer", "reference": "TEST/0001",
                "justification": "The member agreed to be contacted."}),
            contact_request_id="cr-1", status="disclosed", requested_by="c1",
            requested_at=AT, decided_by="c2", decided_at=AT, disclosed_by="c1",
            disclosed_at=AT, notified_at=AT, notice_outcome="notified")
        ins("disclosure_requests", id="dr-2", authority="cumbria",
            legal_basis="preventing_crime", subject_table="reports",
            fields=json.dumps({"offender": ["description"]}),
            details=fill.seal("disclosure_requests", "details", "dr-2", {
                "requester": "DS Test Sergeant", "reference": "TEST/0002",
                "justification": "Test justification"}),
            status="refused", requested_by="c2", requested_at=AT, decided_by="c1",
            decided_at=AT, refusal_reason="too_broad",
            decision=fill.seal("disclosure_requests", "decision", "dr-2",
                               {"note": "Test refusal note"}),
            notice_delay_reason="prejudice_investigation", notice_review_on="2026-05-01")
        ins("disclosure_requests", id="dr-3", authority="durham", legal_basis="risk_to_life",
            subject_table="members", fields=json.dumps({"identity": ["work_name"]}),
            details=fill.seal("disclosure_requests", "details", "dr-3", {
                "requester": "Test Inspector", "reference": "TEST/0003",
                "justification": "Test justification"}),
            requested_by="c1", requested_at=AT)
        for request, row_id in (("dr-1", "m-active"), ("dr-2", "r-2"), ("dr-3", "m-sms")):
            ins("disclosure_request_records", request_id=request, row_id=row_id)
        ins("member_messages", id="mm-1", member_id="m-active", kind="contact",
            contact_request_id="cr-1", created_at=AT, read_at=AT)
        ins("member_messages", id="mm-2", member_id="m-active", kind="disclosure",
            disclosure_request_id="dr-1", created_at=AT, read_at=None)

        at = datetime(2026, 2, 10, 9, 30, tzinfo=UTC)
        log.append(conn, log.key_unlocked(at=at, actor="c1",
                                          key_fingerprint=keys.vetting_public.fingerprint))
        log.append(conn, log.unsealed(at=at, actor="c1", purpose=log.Purpose.VETTING,
                                      records=["members/m-active"],
                                      fields=["identity.work_name", "identity.real_name"]))
        log.append(conn, log.unsealed(at=at, actor="c2", purpose=log.Purpose.REPORT_REVIEW,
                                      records=["reports/r-1", "reports/r-2"],
                                      fields=["offender.description", "narrative.narrative"]))
        head = log.head(conn)
        assert head is not None
        checkpoint = audit_chain.sign_checkpoint(signing_key, head.seq, head.entry_hash, AT)
        ins("audit_checkpoints", seq=checkpoint.seq, head_hash=checkpoint.head_hash,
            created_at=checkpoint.created_at, key_id=checkpoint.key_id,
            signature=checkpoint.signature)
    return fill.sealed
