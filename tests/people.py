"""Making the people of a test: members, organisations, staff, and signing them in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyotp
from flask import Flask

from app.auth import accounts
from app.membership.records import grant_delivery, insert_member
from app.vault import db
from app.web.state import state
from crypto.keys import BoxPrivateKey
from crypto.keystore import load_server_keys
from tests.webtools import post_form

PASSWORD = "a long test password"


@dataclass(frozen=True)
class Person:
    username: str
    password: str
    role: str
    account_id: str
    member_id: str | None = None
    totp_secret: str | None = None
    # A coordinator's own key holder file and its passphrase (tests/flows.unlock uses them).
    key_file: Path | None = None
    key_passphrase: str | None = None


def _conn(app: Flask) -> db.Connection:
    st = state(app)
    return db.connect(st.config.database_path, load_server_keys(st.config.keys_dir).database_key)


def vetting_private_key(app: Flask) -> BoxPrivateKey:
    """The vetting key, as a coordinator's unlock gives it to the server."""
    from tests.conftest import vetting_private_key_in

    return vetting_private_key_in(state(app).config.keys_dir)


def make_member(app: Flask, *, role: str = "member", kind: str = "individual",
                status: str = "active", member_id: str | None = None,
                work_name: str = "Test Work Name", alert_channel: str = "none",
                email: str = "test@example.org", confirmed: bool = True) -> Person:
    """A member (or organisation contact/staff) account, by default already approved.

    `confirmed`: they have answered the first sign-in question about their alerts, so
    signing in lands on their account as it does every time after.
    """
    st = state(app)
    keys = load_server_keys(st.config.keys_dir)
    conn = _conn(app)
    try:
        with db.transaction(conn):
            if member_id is None:
                identity = ({"work_name": work_name} if kind == "individual"
                            else {"org_name": work_name, "key_contact": "Test Contact"})
                member_id = insert_member(conn, keys, kind=kind, identity=identity,
                                          contact={"email": email},
                                          alert_channel=alert_channel)
                member_status = "active" if status == "active" else "pending"
                conn.execute("UPDATE members SET status = ?, settings_confirmed_at = ? "
                             "WHERE id = ?",
                             (member_status, st.clock().isoformat() if confirmed else None,
                              member_id))
                if member_status == "active":
                    # What approval does with the unlocked key: push alerts get a wrap.
                    grant_delivery(conn, keys, member_id, vetting_private_key(app))
            account = accounts.create_login(conn, role=role,
                                            password_hash=st.passwords.hash(PASSWORD),
                                            now=st.clock(), member_id=member_id, status=status)
    finally:
        conn.close()
    return Person(account.username, PASSWORD, role, account.id, member_id)


def _bind_next_holder(conn: db.Connection, keys_dir: Path,
                      account_id: str) -> tuple[Path, str] | None:
    """Give a new coordinator the next unbound ceremony holder, as if enrolled for them.

    Set up directly (no log entry), so tests that count disclosure-log entries see only
    what they do themselves; binding through the first unlock has its own tests.
    """
    from crypto.keyfile import read_private_key_header
    from tests.conftest import HOLDER_COUNT, holder_file, holder_passphrase

    for number in range(1, HOLDER_COUNT + 1):
        path = holder_file(keys_dir, number)
        kid = read_private_key_header(path).public.key_id
        bound = conn.execute("UPDATE key_holders SET account_id = ? WHERE key_id = ? "
                             "AND account_id IS NULL AND removed_at IS NULL",
                             (account_id, kid)).rowcount
        if bound:
            return path, holder_passphrase(number)
    return None


def make_staff(app: Flask, role: str) -> Person:
    st = state(app)
    conn = _conn(app)
    try:
        new = accounts.create_staff(conn, st.passwords, role=role, password=PASSWORD,
                                    now=st.clock())
        holder = (_bind_next_holder(conn, st.config.keys_dir, new.account.id)
                  if role == "coordinator" else None)
    finally:
        conn.close()
    return Person(new.account.username, PASSWORD, role, new.account.id,
                  totp_secret=new.totp_secret, key_file=holder[0] if holder else None,
                  key_passphrase=holder[1] if holder else None)


def current_code(app: Flask, secret: str) -> str:
    return pyotp.TOTP(secret).at(state(app).clock())


def sign_in(app: Flask, client, person: Person):
    """Sign in through the real pages; returns the last response."""
    response = post_form(client, "/login", {"username": person.username,
                                            "password": person.password})
    if person.totp_secret and response.status_code == 302 and \
            response.headers["Location"].endswith("/login/code"):
        response = post_form(client, "/login/code",
                             {"code": current_code(app, person.totp_secret)})
    return response


def signed_in_client(app: Flask, person: Person):
    client = app.test_client()
    response = sign_in(app, client, person)
    assert response.status_code == 302, (person.role, response.status_code)
    # So that tests/flows.unlock(client, ...) unlocks with this coordinator's own file.
    client.key_file, client.key_passphrase = person.key_file, person.key_passphrase
    return client


def make_report(app: Flask, reporter: Person | None = None, *,
                identifiers: tuple[tuple[str, str], ...] = (("phone", "07700 900999"),),
                narrative: str = "A test narrative.", **changes: object) -> str:
    """A report stored through the real service (sealed and indexed)."""
    from app.reports.service import ReportSubmission, submit_report

    reporter = reporter or make_member(app)
    st = state(app)
    submission = ReportSubmission(**{
        "incident_date": st.clock().date().isoformat(), "incident_time": "evening",
        "area": "ldn", "place": "", "categories": ["threats"], "identifiers": identifiers,
        "description": "", "narrative": narrative, **changes})
    conn = _conn(app)
    try:
        return submit_report(conn, load_server_keys(st.config.keys_dir),
                             account_id=reporter.account_id, member_id=reporter.member_id,
                             submission=submission, now=st.clock()).id
    finally:
        conn.close()


def make_published_alert(app: Flask, *, areas: tuple[str, ...] = ("ldn",),
                         identifiers: tuple[tuple[str, str], ...] = ()) -> str:
    """An alert published through the real service (versions, areas, index, notices)."""
    from app.alerts import service
    from crypto.blind_index import BlindIndexer

    st = state(app)
    keys = load_server_keys(st.config.keys_dir)
    conn = _conn(app)
    try:
        alert_id = service.create(conn, None, st.clock())
        draft = service.AlertDraft(
            title="A test alert", national=not areas, areas=areas, categories=["threats"],
            incident_date=st.clock().date().isoformat(), description="Test description.",
            identifiers=identifiers)
        indexer = BlindIndexer(keys.index_key)
        service.save(conn, indexer, alert_id, draft, None, st.clock())
        service.publish(conn, indexer, alert_id, None, st.clock())
    finally:
        conn.close()
    return alert_id
