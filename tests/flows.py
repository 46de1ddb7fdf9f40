"""Whole journeys through the real pages: apply, unlock, vet, decide."""

from __future__ import annotations

import io
import re
from pathlib import Path

from flask import Flask

from tests.conftest import VETTING_PASSPHRASE, holder_file
from tests.people import Person, make_staff, signed_in_client
from tests.webtools import csrf_token, post_form

USERNAME = re.compile(r"\b([a-z]+-[a-z]+-\d{4})\b")
APPLICANT_PASSWORD = "applicant password 42"

INDIVIDUAL = {
    "work_name": "Ruby Canarywork", "real_name": "", "email": "ruby.canary@example.org",
    "mobile": "07700 900123", "alert_channel": "email", "gender": "unsaid",
    "sector": "unsaid", "area": "unsaid", "alert_area": "ldn", "agree_terms": "y",
    "password": APPLICANT_PASSWORD, "password_again": APPLICANT_PASSWORD,
}
ORGANISATION = {
    "org_name": "Canary Support Project", "org_website": "https://www.canary-project.org",
    "org_email": "office@canary-project.org", "key_contact": "Alex Canarycontact",
    "org_description": "Outreach and drop-in support for sex workers.",
    "alert_channel": "email", "alert_area": "all", "agree_terms": "y",
    "password": APPLICANT_PASSWORD, "password_again": APPLICANT_PASSWORD,
}


def apply(app: Flask, kind: str = "individual", **changes: str) -> str:
    """Apply through /apply; returns the username the confirmation page shows."""
    data = {**(INDIVIDUAL if kind == "individual" else ORGANISATION), **changes}
    response = post_form(app.test_client(), f"/apply/{kind}", data)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    found = USERNAME.search(response.get_data(as_text=True))
    assert found, "the confirmation page shows the username"
    return found.group(1)


def applicant(username: str) -> Person:
    return Person(username, APPLICANT_PASSWORD, "member", account_id="")


def coordinator_client(app: Flask):
    coordinator = make_staff(app, "coordinator")
    return signed_in_client(app, coordinator), coordinator


def unlock(client, keys_dir: Path, passphrase: str | None = None,
           key_file: Path | None = None):
    """Unlock through the page with the signed-in coordinator's own key holder file.

    Without `key_file`, the file tests/people.make_staff bound to this client's
    coordinator (or the first holder's, for a client that has none, such as an auditor).
    """
    own_file = getattr(client, "key_file", None)
    default_file = own_file or holder_file(keys_dir, 1)
    path = key_file or default_file
    if passphrase is None:
        passphrase = (getattr(client, "key_passphrase", None) if own_file and path == own_file
                      else VETTING_PASSPHRASE)
    return client.post("/coordinator/unlock", data={
        "csrf_token": csrf_token(client, "/coordinator/unlock"),
        "key_file": (io.BytesIO(path.read_bytes()), path.name),
        "passphrase": passphrase,
    }, content_type="multipart/form-data")


def member_id_of(conn, username: str) -> str:
    return conn.execute("SELECT member_id FROM accounts WHERE username = ?",
                        (username,)).fetchone()[0]


def decide(client, member_id: str, action: str, **data: str):
    """Post a decision. An approval without an opened application (most tests do not
    unlock) says why, as a coordinator would; tests of that rule post their own."""
    if action == "approve":
        data.setdefault("reason", "vetted_by_colleague")
    return post_form(client, f"/coordinator/applications/{member_id}/{action}", data,
                     form_url=f"/coordinator/applications/{member_id}")


def unseal(client, member_id: str):
    return post_form(client, f"/coordinator/applications/{member_id}/unseal", {},
                     form_url=f"/coordinator/applications/{member_id}")


def resolve_waiting_resets(app: Flask) -> None:
    """Run the background job that resolves waiting reset requests (app/auth/reset.py) now."""
    from app.web.state import state

    state(app).periodic["reset-requests"].run_once()
