from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest

from app import create_app
from app.vault import log as disclosure_log
from app.web.state import state
from tests import canary
from tests.flows import (
    INDIVIDUAL,
    ORGANISATION,
    applicant,
    apply,
    coordinator_client,
    decide,
    member_id_of,
    unlock,
    unseal,
)
from tests.people import Person, make_staff, sign_in, signed_in_client
from tests.webtools import post_form, text


def _move_clock(app, by: timedelta) -> None:
    start = state(app).clock()
    state(app).clock = lambda: start + by


@pytest.mark.parametrize("kind", ["individual", "project", "site"])
def test_full_flow_from_apply_to_a_signed_in_member(app, conn, keys_dir, kind: str) -> None:
    username = apply(app, kind)
    person = applicant(username)
    assert "waiting for a coordinator" in text(sign_in(app, app.test_client(), person))

    coordinator, _ = coordinator_client(app)
    member_id = member_id_of(conn, username)
    assert member_id[:8] in text(coordinator.get("/coordinator/"))
    assert unlock(coordinator, keys_dir).status_code == 302
    opened = unseal(coordinator, member_id)
    assert opened.status_code == 200
    shown = INDIVIDUAL["work_name"] if kind == "individual" else ORGANISATION["org_name"]
    assert shown in text(opened)
    assert decide(coordinator, member_id, "approve").status_code == 302
    assert member_id[:8] not in text(coordinator.get("/coordinator/"))

    member = app.test_client()
    assert sign_in(app, member, person).status_code == 302
    assert username in text(member.get("/account"))


def test_organisation_key_contact_manages_staff_logins(app, conn, keys_dir) -> None:
    username = apply(app, "site")
    coordinator, _ = coordinator_client(app)
    decide(coordinator, member_id_of(conn, username), "approve")
    contact = signed_in_client(app, applicant(username))
    added = post_form(contact, "/organisation/staff/add", {}, form_url="/organisation/staff")
    page = added.get_data(as_text=True)
    staff_name, staff_password = re.findall(r'<code class="secret">([^<]+)</code>', page)
    assert staff_name != username
    staff_person = Person(staff_name, staff_password, "org_staff", "")
    staff_client = signed_in_client(app, staff_person)
    assert staff_client.get("/organisation/staff").status_code == 403
    staff_id = conn.execute("SELECT id FROM accounts WHERE username = ?",
                            (staff_name,)).fetchone()[0]
    removed = post_form(contact, f"/organisation/staff/{staff_id}/remove", {},
                        form_url="/organisation/staff")
    assert removed.status_code == 302
    assert staff_client.get("/account").status_code == 302, "their session ended at once"
    assert sign_in(app, app.test_client(), staff_person).status_code == 403


def test_unseal_without_an_unlocked_key_says_how_to_unlock(app, conn) -> None:
    member_id = member_id_of(conn, apply(app))
    coordinator, _ = coordinator_client(app)
    response = unseal(coordinator, member_id)
    assert response.status_code == 423
    assert "Unlock the vetting key" in text(response)
    assert INDIVIDUAL["work_name"] not in text(response)
    assert disclosure_log.entries(conn) == []


def test_auditor_cannot_unseal_or_unlock(app, conn, keys_dir) -> None:
    member_id = member_id_of(conn, apply(app))
    auditor = signed_in_client(app, make_staff(app, "auditor"))
    assert auditor.post(f"/coordinator/applications/{member_id}/unseal").status_code == 403
    assert auditor.get("/coordinator/unlock").status_code == 403
    assert disclosure_log.entries(conn) == []


def test_unlock_and_each_unseal_are_logged_before_anything_is_shown(app, conn,
                                                                   keys_dir) -> None:
    member_id = member_id_of(conn, apply(app))
    coordinator, person = coordinator_client(app)
    unlock(coordinator, keys_dir)
    unseal(coordinator, member_id)
    entries = disclosure_log.entries(conn)
    # The application page indexed the contact first (a logged unseal of the contact).
    assert [e.body.get("event") or e.body["purpose"] for e in entries] == [
        "vetting_key_unlocked", "contact_index_key_created", "vetting", "vetting"]
    assert entries[2].body["use"] == "duplicate_check"
    assert entries[3].body["actor"] == person.account_id
    assert entries[3].body["records"] == [f"members/{member_id}"]
    assert disclosure_log.verify(conn).ok


def test_unlocked_key_is_gone_after_fifteen_minutes(app, conn, keys_dir) -> None:
    member_id = member_id_of(conn, apply(app))
    coordinator, _ = coordinator_client(app)
    unlock(coordinator, keys_dir)
    _move_clock(app, timedelta(minutes=14))
    assert unseal(coordinator, member_id).status_code == 200
    _move_clock(app, timedelta(minutes=15, seconds=1))
    assert unseal(coordinator, member_id).status_code == 423


def test_unlocked_key_is_gone_after_a_restart(app, conn, config, keys_dir) -> None:
    member_id = member_id_of(conn, apply(app))
    coordinator, _ = coordinator_client(app)
    unlock(coordinator, keys_dir)
    restarted = create_app(config).test_client()
    cookie = coordinator.get_cookie("__Host-session")
    restarted.set_cookie("__Host-session", cookie.value)
    assert restarted.get("/coordinator/").status_code == 200, "still signed in"
    assert unseal(restarted, member_id).status_code == 423


def test_unlocked_key_is_forgotten_on_sign_out(app, conn, keys_dir) -> None:
    member_id = member_id_of(conn, apply(app))
    coordinator, person = coordinator_client(app)
    unlock(coordinator, keys_dir)
    post_form(coordinator, "/logout", {}, form_url="/coordinator/")
    assert len(state(app).unlocks) == 0
    _move_clock(app, timedelta(seconds=31))  # a fresh TOTP step for the next sign-in
    again = signed_in_client(app, person)
    assert unseal(again, member_id).status_code == 423


def test_unlocked_key_serves_only_the_coordinator_who_unlocked_it(app, conn,
                                                                   keys_dir) -> None:
    member_id = member_id_of(conn, apply(app))
    first, _ = coordinator_client(app)
    second, _ = coordinator_client(app)
    unlock(first, keys_dir)
    assert unseal(second, member_id).status_code == 423


def test_unlocked_key_is_never_written_to_disk_or_database(app, conn, config, keys_dir,
                                                          vetting_key, database_key,
                                                          all_logs) -> None:
    member_id = member_id_of(conn, apply(app))
    coordinator, _ = coordinator_client(app)
    unlock(coordinator, keys_dir)
    unseal(coordinator, member_id)
    secret = vetting_key.raw
    needles = [secret, secret.hex().encode(), base64.b64encode(secret),
               base64.urlsafe_b64encode(secret)]
    stored = [p.read_bytes() for p in canary.database_files(config.database_path)]
    stored.append(canary.decrypted_dump(config.database_path, database_key))
    stored.append(all_logs.text.encode())
    stored.append(coordinator.get_cookie("__Host-session").value.encode())
    for blob in stored:
        for needle in needles:
            assert needle not in blob


@pytest.mark.parametrize("problem, file_name, passphrase, message", [
    ("wrong passphrase", "own", "not the passphrase at all", "passphrase does not open"),
    ("another key", "delivery.key", None, "a key, but not this scheme"),
    ("not a key", "index.key", None, "not a vetting key file"),
])
def test_unlock_problems_get_a_clear_400(app, keys_dir, problem, file_name, passphrase,
                                         message) -> None:
    coordinator, person = coordinator_client(app)
    from tests.conftest import DELIVERY_PASSPHRASE, VETTING_PASSPHRASE

    phrase = passphrase or (DELIVERY_PASSPHRASE if file_name == "delivery.key"
                            else VETTING_PASSPHRASE)
    path = person.key_file if file_name == "own" else keys_dir / file_name
    response = unlock(coordinator, keys_dir, phrase, path)
    assert response.status_code == 400, problem
    assert message in text(response)
    assert len(state(app).unlocks) == 0


def test_duplicate_is_flagged_and_shown_side_by_side(app, conn, keys_dir) -> None:
    first = apply(app, work_name="First Canary", mobile="07700 900123")
    second = apply(app, work_name="Second Canary", mobile="+44 7700 900123",
                   email="other.canary@example.org")
    coordinator, _ = coordinator_client(app)
    locked = text(coordinator.get("/coordinator/"))
    assert locked.count("Not checked for duplicates yet: unlock to check") == 2
    assert "possible duplicate" not in locked
    unlock(coordinator, keys_dir)
    queue = text(coordinator.get("/coordinator/"))
    assert queue.count("possible duplicate (1 candidate)") == 2
    assert "Not checked for duplicates yet" not in queue
    page = text(unseal(coordinator, member_id_of(conn, second)))
    assert "First Canary" in page and "Second Canary" in page
    [_unlocked, _key_made, checked, entry] = disclosure_log.entries(conn)
    assert checked.body["fields"] == ["contact.email", "contact.mobile", "contact.org_email"]
    assert entry.body["records"] == [f"members/{member_id_of(conn, second)}",
                                     f"members/{member_id_of(conn, first)}"]


def test_reject_with_a_reason_closes_the_application(app, conn) -> None:
    username = apply(app)
    member_id = member_id_of(conn, username)
    coordinator, person = coordinator_client(app)
    assert decide(coordinator, member_id, "reject", reason="unverifiable").status_code == 302
    status = conn.execute("SELECT status FROM members WHERE id = ?", (member_id,)).fetchone()
    assert status == ("rejected",)
    decision = conn.execute("SELECT action, reason, actor_id FROM membership_decisions "
                            "WHERE member_id = ?", (member_id,)).fetchone()
    assert decision == ("reject", "unverifiable", person.account_id)
    assert sign_in(app, app.test_client(), applicant(username)).status_code == 403


def test_more_information_is_asked_of_organisations_only(app, conn) -> None:
    organisation = member_id_of(conn, apply(app, "project"))
    individual = member_id_of(conn, apply(app))
    coordinator, _ = coordinator_client(app)
    decide(coordinator, organisation, "request-info", reason="website", question="Which page?")
    assert conn.execute("SELECT status FROM members WHERE id = ?",
                        (organisation,)).fetchone() == ("info_requested",)
    decide(coordinator, individual, "request-info", reason="website", question="Which page?")
    assert conn.execute("SELECT status FROM members WHERE id = ?",
                        (individual,)).fetchone() == ("pending",)


def test_decisions_refuse_unknown_reasons(app, conn) -> None:
    member_id = member_id_of(conn, apply(app))
    coordinator, _ = coordinator_client(app)
    assert decide(coordinator, member_id, "reject", reason="dislike").status_code == 400
    assert conn.execute("SELECT count(*) FROM membership_decisions").fetchone() == (0,)


def test_member_leaves_and_their_details_are_deleted(app, conn, config, database_key) -> None:
    username = apply(app)
    member_id = member_id_of(conn, username)
    sealed = conn.execute("SELECT identity FROM members WHERE id = ?", (member_id,)).fetchone()
    coordinator, _ = coordinator_client(app)
    decide(coordinator, member_id, "approve")
    member = signed_in_client(app, applicant(username))
    refused = post_form(member, "/account/leave", {}, form_url="/account")
    assert refused.status_code == 400 and "Tick the box" in text(refused)
    left = post_form(member, "/account/leave", {"understood": "y"}, form_url="/account")
    assert left.status_code == 302
    row = conn.execute("SELECT status, identity, contact FROM members WHERE id = ?",
                       (member_id,)).fetchone()
    assert row == ("left", None, None)
    assert conn.execute("SELECT count(*) FROM member_contact_index WHERE member_id = ?",
                        (member_id,)).fetchone() == (0,)
    assert member.get("/account").status_code == 302
    assert sign_in(app, app.test_client(), applicant(username)).status_code == 403
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert bytes(sealed[0]) not in canary.decrypted_dump(config.database_path, database_key)


def test_coordinator_records_a_leave_request_by_username(app, conn) -> None:
    username = apply(app)
    member_id = member_id_of(conn, username)
    coordinator, _ = coordinator_client(app)
    decide(coordinator, member_id, "approve")
    found = coordinator.get(f"/coordinator/members?username={username}")
    assert found.headers["Location"].endswith(f"/coordinator/members/{member_id}")
    post_form(coordinator, f"/coordinator/members/{member_id}/leave",
              {"reason": "asked_by_email", "confirm": "y"},
              form_url=f"/coordinator/members/{member_id}/leave")
    assert conn.execute("SELECT action FROM membership_decisions WHERE member_id = ? "
                        "ORDER BY id DESC", (member_id,)).fetchone() == ("leave_recorded",)


def test_revoking_a_membership_ends_its_sessions_at_once(app, conn) -> None:
    username = apply(app)
    member_id = member_id_of(conn, username)
    coordinator, _ = coordinator_client(app)
    decide(coordinator, member_id, "approve")
    member = signed_in_client(app, applicant(username))
    response = post_form(coordinator, f"/coordinator/members/{member_id}/revoke",
                         {"reason": "malicious_reporting", "confirm": "y"},
                         form_url=f"/coordinator/members/{member_id}")
    assert response.status_code == 302
    assert member.get("/account").status_code == 302
    assert conn.execute("SELECT status FROM members WHERE id = ?",
                        (member_id,)).fetchone() == ("revoked",)
    assert conn.execute("SELECT identity IS NOT NULL FROM members WHERE id = ?",
                        (member_id,)).fetchone() == (1,), "kept: it may go to the police"


def test_canaries_absent_after_the_whole_membership_flow(app, conn, config, keys_dir,
                                                         database_key, all_logs) -> None:
    individual = apply(app)
    organisation = apply(app, "project")
    coordinator, _ = coordinator_client(app)
    unlock(coordinator, keys_dir)
    for username in (individual, organisation):
        member_id = member_id_of(conn, username)
        unseal(coordinator, member_id)
        decide(coordinator, member_id, "approve")
        signed_in_client(app, applicant(username)).get("/account")
    values = [v for k, v in {**INDIVIDUAL, **ORGANISATION}.items()
              if k not in ("alert_channel", "alert_area", "gender", "sector", "area", "agree_terms",
                           "password", "password_again", "real_name")]
    values += ["+447700900123", "canary-project.org"]
    for path in canary.database_files(config.database_path):
        assert canary.find(path.read_bytes(), values) == [], path.name
    assert canary.find(canary.decrypted_dump(config.database_path, database_key), values) == []
    assert canary.find(all_logs.text.encode(), values) == []
