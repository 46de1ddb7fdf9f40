"""Key holders in the web: each coordinator unlocks with their own key file, and only that."""

from __future__ import annotations

from datetime import UTC, datetime

from nacl.pwhash import argon2id

from app.auth import accounts
from app.vault import holders, rotation
from app.vault import log as disclosure_log
from app.web.state import state
from crypto.keyfile import encode_private_key_file
from tests.conftest import HOLDER_COUNT, holder_file, holder_passphrase
from tests.flows import coordinator_client, unlock
from tests.people import PASSWORD, Person, signed_in_client
from tests.webtools import text


def test_two_coordinators_each_unlock_with_their_own_file(app, conn, keys_dir) -> None:
    first, alice = coordinator_client(app)
    second, bob = coordinator_client(app)
    assert alice.key_file != bob.key_file
    assert unlock(first, keys_dir).status_code == 302
    assert unlock(second, keys_dir).status_code == 302
    assert len(state(app).unlocks) == 2
    entries = [e.body for e in disclosure_log.entries(conn)
               if e.body["event"] != "contact_index_key_created"]
    assert [e["actor"] for e in entries] == [alice.account_id, bob.account_id]
    assert {e["event"] for e in entries} == {"vetting_key_unlocked"}


def test_a_coordinator_cannot_unlock_with_another_coordinators_file(app, keys_dir) -> None:
    first, alice = coordinator_client(app)
    second, bob = coordinator_client(app)
    for client, other in ((second, alice), (first, bob)):
        response = unlock(client, keys_dir, other.key_passphrase, other.key_file)
        assert response.status_code == 400
        assert "belongs to another coordinator" in text(response)
    assert len(state(app).unlocks) == 0


def test_a_removed_holders_file_unlocks_nothing(app, conn, keys_dir) -> None:
    client, alice = coordinator_client(app)
    assert holders.remove_for_account(conn, alice.account_id, "operator",
                                      datetime.now(UTC))
    assert conn.execute("SELECT count(*) FROM holder_wraps AS w JOIN key_holders AS h "
                        "ON h.id = w.holder_id WHERE h.account_id = ?",
                        (alice.account_id,)).fetchone()[0] == 0, "wraps deleted at once"
    response = unlock(client, keys_dir)
    assert response.status_code == 400
    assert "not, or no longer, a key holder" in text(response)
    assert len(state(app).unlocks) == 0
    [removed] = [e.body for e in disclosure_log.entries(conn)]
    assert removed["event"] == "key_holder_removed" and removed["account"] == alice.account_id


def test_a_disabled_coordinators_file_unlocks_nothing_even_for_another_login(
        app, conn, keys_dir) -> None:
    _client, alice = coordinator_client(app)
    other, _bob = coordinator_client(app)
    # What part 2's `staff disable` does: the holder goes with the login.
    holders.remove_for_account(conn, alice.account_id, "operator", datetime.now(UTC))
    response = unlock(other, keys_dir, alice.key_passphrase, alice.key_file)
    assert response.status_code == 400
    assert len(state(app).unlocks) == 0


def test_a_holder_enrolled_before_a_login_is_bound_at_first_unlock(app, conn, keys_dir) -> None:
    st = state(app)
    new = accounts.create_staff(conn, st.passwords, role="coordinator", password=PASSWORD,
                                now=st.clock())
    person = Person(new.account.username, PASSWORD, "coordinator", new.account.id,
                    totp_secret=new.totp_secret)
    client = signed_in_client(app, person)
    unbound = holder_file(keys_dir, HOLDER_COUNT)
    assert unlock(client, keys_dir, holder_passphrase(HOLDER_COUNT), unbound).status_code == 302
    holder = holders.live_holder_for_account(conn, new.account.id)
    assert holder is not None and holder.public.fingerprint in unbound.read_text()
    events = [e.body["event"] for e in disclosure_log.entries(conn)]
    assert events == ["key_holder_bound", "vetting_key_unlocked", "contact_index_key_created"]
    # Bound now: another coordinator cannot take it over.
    other, _ = coordinator_client(app)
    response = unlock(other, keys_dir, holder_passphrase(HOLDER_COUNT), unbound)
    assert response.status_code == 400 and "another coordinator" in text(response)


def test_the_old_shared_vetting_key_file_is_refused_with_a_clear_message(
        app, keys_dir, tmp_path, vetting_key) -> None:
    shared = tmp_path / "vetting.key"
    shared.write_bytes(encode_private_key_file(
        vetting_key, "the old shared passphrase", opslimit=argon2id.OPSLIMIT_INTERACTIVE,
        memlimit=argon2id.MEMLIMIT_INTERACTIVE))
    client, _ = coordinator_client(app)
    response = unlock(client, keys_dir, "the old shared passphrase", shared)
    assert response.status_code == 400
    assert "old shared vetting key file" in text(response)
    assert len(state(app).unlocks) == 0


def test_coordinator_pages_say_a_holder_was_removed_until_a_rotation_finishes(
        app, conn, keys_dir, vetting_key) -> None:
    client, alice = coordinator_client(app)
    _other, bob = coordinator_client(app)
    assert "A key holder was removed" not in text(client.get("/coordinator/"))
    holders.remove_for_account(conn, bob.account_id, "operator", datetime.now(UTC))
    page = text(client.get("/coordinator/"))
    assert f"A key holder was removed on {datetime.now(UTC).date().isoformat()}" in page
    assert "rotate the vetting key" in page
    holder_key = holders.open_holder_key(alice.key_file.read_bytes(), alice.key_passphrase)
    rotation.rotate(conn, holder_key, lambda: datetime.now(UTC))
    assert "A key holder was removed" not in text(client.get("/coordinator/"))
    # And the rotated key is what the remaining holder now unlocks.
    assert unlock(client, keys_dir).status_code == 302
    assert holders.current_vetting_public(conn) != vetting_key.public


def test_while_a_rotation_runs_pages_seal_to_the_new_key_and_the_banner_stays_until_it_ends(
        app, conn, keys_dir) -> None:
    from crypto import envelope
    from tests.flows import applicant, apply, decide, member_id_of
    from tests.people import make_member, make_report, sign_in
    from tests.webtools import post_form

    client, alice = coordinator_client(app)
    _other, bob = coordinator_client(app)
    holders.remove_for_account(conn, bob.account_id, "operator", datetime.now(UTC))
    holder_key = holders.open_holder_key(alice.key_file.read_bytes(), alice.key_passphrase)
    current = holders.open_vetting_keys(conn, holder_key)[holders.VettingKeyState.CURRENT]
    started = rotation.start(conn, current, datetime.now(UTC))
    assert rotation.running(conn) is not None
    # Mid-rotation: the banner stays, and every page that seals seals to the new key.
    assert "A key holder was removed" in text(client.get("/coordinator/"))
    username = apply(app, "project")
    member_id = member_id_of(conn, username)
    assert decide(client, member_id, "request-info", reason="website",
                  question="Which page of the website shows the outreach work?"
                  ).status_code == 302
    org = app.test_client()
    sign_in(app, org, applicant(username))
    (question_id,) = [row["id"] for row in conn.execute(
        "SELECT id FROM application_questions WHERE member_id = ?", (member_id,))]
    assert post_form(org, f"/account/messages/questions/{question_id}/answer",
                     {"answer": "The projects page."},
                     form_url=f"/account/messages/questions/{question_id}").status_code == 302
    member = make_member(app)
    report_id = make_report(app, member)
    reporter = signed_in_client(app, member)
    assert post_form(reporter, f"/reports/{report_id}/add",
                     {"text": "He drives a blue estate now."}).status_code == 302
    from app.membership import records
    from crypto.keystore import load_server_keys

    with holders.transaction(conn):
        records.record_identity_change(conn, load_server_keys(keys_dir), member_id,
                                       {"key_contact": "Robin Newcontact"})
    sealed = {
        "identity_change": conn.execute("SELECT identity_change FROM members WHERE id = ?",
                                        (member_id,)).fetchone()["identity_change"],
        "identity": conn.execute("SELECT identity FROM members WHERE id = ?",
                                 (member_id,)).fetchone()["identity"],
        "answer": conn.execute("SELECT answer FROM application_questions WHERE id = ?",
                               (question_id,)).fetchone()["answer"],
        "narrative": conn.execute("SELECT narrative FROM reports WHERE id = ?",
                                  (report_id,)).fetchone()["narrative"],
        "addition": conn.execute("SELECT body FROM report_additions WHERE report_id = ?",
                                 (report_id,)).fetchone()["body"],
    }
    for name, blob in sealed.items():
        assert envelope.recipients_of(bytes(blob)) == [started.new.key_id], name
    # The coordinator unlocks mid-rotation with her own file (her wrap of the new key).
    assert unlock(client, keys_dir).status_code == 302
    rotation.rotate(conn, holder_key, lambda: datetime.now(UTC))
    assert rotation.running(conn) is None
    assert "A key holder was removed" not in text(client.get("/coordinator/"))
