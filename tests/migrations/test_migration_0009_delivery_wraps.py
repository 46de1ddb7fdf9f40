"""0009: contacts of members who are not active lose their delivery wrap; sent codes go."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.vault import db, log, sealing
from crypto import envelope
from tests.migrations.databases import REPO, contents, upgrade_to
from tests.migrations.version5 import AT, Sealed

MIGRATIONS = REPO / "migrations"
NOT_ACTIVE = ("pending", "info_requested", "rejected", "revoked")


@pytest.fixture
def upgraded(v5_sealed: Sealed, v5_path: Path, database_key: bytes, server_keys):
    upgrade_to(v5_path, database_key, 8)
    conn = db.connect(v5_path, database_key)
    try:
        with db.transaction(conn):
            # Versions before 9 sealed an applicant's contact for delivery as soon as they asked
            # for email or text alerts, whatever became of the application.
            for status in NOT_ACTIVE:
                member_id = f"m-{status}-push"
                contact = {"email": f"{status}@example.org"}
                v5_sealed[("members", "contact", member_id)] = contact
                conn.execute(
                    "INSERT INTO members (id, kind, status, created_at, identity, contact, "
                    "alert_channel) VALUES (?, 'individual', ?, ?, ?, ?, 'email')",
                    (member_id, status, AT,
                     sealing.seal_group("members", "identity", member_id, {"work_name": "W"},
                                        [server_keys.vetting_public]),
                     sealing.seal_group("members", "contact", member_id, contact,
                                        [server_keys.vetting_public,
                                         server_keys.delivery_public])))
            conn.execute("UPDATE outbox SET status = 'sent' WHERE kind = 'reset'")
        before = contents(conn)
    finally:
        conn.close()
    upgrade_to(v5_path, database_key, 9)
    conn = db.connect(v5_path, database_key)
    assert db.schema_version(conn) == 9
    yield conn, before
    conn.close()


def _contacts(conn) -> dict[str, tuple[str, bytes]]:
    return {row["id"]: (row["status"], bytes(row["contact"])) for row in conn.execute(
        "SELECT id, status, contact FROM members WHERE contact IS NOT NULL")}


def test_only_active_members_keep_a_delivery_wrap(upgraded, server_keys) -> None:
    conn, _before = upgraded
    delivery = server_keys.delivery_public.key_id
    found = {member: delivery in envelope.recipients_of(sealed)
             for member, (_status, sealed) in _contacts(conn).items()}
    statuses = {member: status for member, (status, _sealed) in _contacts(conn).items()}
    assert {m for m, carried in found.items() if carried} == {
        m for m, s in statuses.items() if s == "active"
        and conn.execute("SELECT alert_channel FROM members WHERE id = ?",
                         (m,)).fetchone()["alert_channel"] in ("email", "sms")}
    for status in NOT_ACTIVE:
        assert found[f"m-{status}-push"] is False, status


def test_every_contact_still_opens_with_the_vetting_key_and_active_ones_with_delivery(
        upgraded, v5_sealed: Sealed, vetting_key, delivery_key) -> None:
    conn, _before = upgraded
    for member, (status, sealed) in _contacts(conn).items():
        ad = sealing.associated_data("members", "contact", member)
        assert envelope.open_envelope(sealed, vetting_key, ad).decode() and True
        expected = v5_sealed[("members", "contact", member)]
        import json

        assert json.loads(envelope.open_envelope(sealed, vetting_key, ad)) == expected
        if status == "active":
            assert json.loads(envelope.open_envelope(sealed, delivery_key, ad)) == expected


def test_no_row_is_lost_and_the_log_still_verifies(upgraded, keys_dir) -> None:
    conn, before = upgraded
    after = contents(conn)
    assert {t: len(rows) for t, (_cols, rows) in after.items()} == {
        t: len(rows) for t, (_cols, rows) in before.items()}
    assert log.verify(conn).ok


def test_a_sent_reset_code_is_erased(upgraded) -> None:
    conn, _before = upgraded
    assert conn.execute("SELECT count(*) FROM outbox WHERE payload IS NOT NULL "
                        "AND status != 'pending'").fetchone()[0] == 0
