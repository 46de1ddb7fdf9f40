"""Threat: a coordinator leaves, keeping their key file, its passphrase, the vetting key
they could extract from it, and a copy of the database as it stood when they left.

After their removal and the rotation that follows it, what they hold opens nothing new:
their file unlocks nothing in the live service, and nothing sealed after the rotation
opens with the old vetting key.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from app.vault import db, holders, rotation
from app.vault.holders import VettingKeyState
from app.vault.sealing import SEALED_PLACES, associated_data
from app.web.state import state
from crypto import envelope
from crypto.errors import CryptoError
from crypto.keys import BoxPrivateKey
from tests.flows import apply, coordinator_client, member_id_of, unlock
from tests.people import make_member, make_report, signed_in_client
from tests.webtools import post_form, text

DELIVERY_ONLY = {("outbox", "payload")}


def _envelopes(conn: db.Connection) -> dict[tuple[str, str, str], bytes]:
    found = {}
    for table, column in SEALED_PLACES:
        query = f"SELECT id, {column} AS sealed FROM {table} WHERE {column} IS NOT NULL"  # noqa: S608
        for row in conn.execute(query):
            found[(table, column, str(row["id"]))] = bytes(row["sealed"])
    return found


def _opens(sealed: bytes, place: tuple[str, str, str], key: BoxPrivateKey) -> bool:
    try:
        envelope.open_envelope(sealed, key, associated_data(*place))
    except CryptoError:
        return False
    return True


def _holder_key(person) -> BoxPrivateKey:
    return holders.open_holder_key(person.key_file.read_bytes(), person.key_passphrase)


def _departure(app: Flask, conn: db.Connection, tmp_path: Path):
    """Alice stays, Bob leaves with his file, the old vetting key and a database copy."""
    alice_client, alice = coordinator_client(app)
    _bob_client, bob = coordinator_client(app)
    old_vetting = holders.open_vetting_keys(conn, _holder_key(bob))[VettingKeyState.CURRENT]
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    copy = tmp_path / "taken.db"
    shutil.copyfile(state(app).config.database_path, copy)
    holders.remove_for_account(conn, bob.account_id, "operator", datetime.now(UTC))
    rotation.rotate(conn, _holder_key(alice), lambda: datetime.now(UTC))
    return alice_client, alice, bob, old_vetting, copy


def test_a_departed_coordinators_key_file_unlocks_nothing_in_the_live_service(
        app: Flask, conn: db.Connection, keys_dir: Path, tmp_path: Path) -> None:
    alice_client, _alice, bob, _old, _copy = _departure(app, conn, tmp_path)
    with pytest.raises(holders.NotAHolder):
        holders.open_vetting_keys(conn, _holder_key(bob))
    # Not through the page either, even with a live coordinator's sign-in to upload it.
    refused = unlock(alice_client, keys_dir, bob.key_passphrase, bob.key_file)
    assert refused.status_code == 400
    assert len(state(app).unlocks) == 0
    # The wrap Bob's file opened is gone, not merely marked.
    assert db.count(conn, "SELECT count(*) FROM holder_wraps AS w JOIN key_holders AS h "
                          "ON h.id = w.holder_id WHERE h.key_id = ?",
                    (_holder_key(bob).key_id,)) == 0


def test_envelopes_sealed_after_the_rotation_do_not_open_with_the_old_vetting_key(
        app: Flask, conn: db.Connection, tmp_path: Path) -> None:
    _alice_client, _alice, _bob, old_vetting, _copy = _departure(app, conn, tmp_path)
    before = set(_envelopes(conn))
    # New things, through the pages, after the rotation: an application, a report and
    # what its reporter adds later.
    username = apply(app)
    member = make_member(app)
    report_id = make_report(app, member)
    client = signed_in_client(app, member)
    added = post_form(client, f"/reports/{report_id}/add",
                      {"text": "Added after the rotation: a blue estate car."})
    assert added.status_code == 302, text(added)
    live = _envelopes(conn)
    new = {place: sealed for place, sealed in live.items() if place not in before}
    places = {place[:2] for place in new}
    assert {("members", "identity"), ("reports", "narrative"),
            ("report_additions", "body")} <= places, places
    assert member_id_of(conn, username) in {place[2] for place in new}
    for place, sealed in new.items():
        if place[:2] in DELIVERY_ONLY:
            continue
        assert old_vetting.key_id not in envelope.recipients_of(sealed), place
        assert not _opens(sealed, place, old_vetting), place
    # Nor does anything older, in the live database: every envelope was re-wrapped.
    for place, sealed in live.items():
        assert not _opens(sealed, place, old_vetting), place


def test_an_old_database_copy_gives_the_departed_coordinator_no_key_to_the_live_one(
        app: Flask, conn: db.Connection, tmp_path: Path, database_key: bytes) -> None:
    _alice_client, _alice, bob, old_vetting, copy = _departure(app, conn, tmp_path)
    taken = db.connect(copy, database_key)
    try:
        # From the copy he can still reach the old vetting key (his wrap was there then)...
        from_copy = holders.open_vetting_keys(taken, _holder_key(bob))
        assert from_copy[VettingKeyState.CURRENT] == old_vetting
        copied_wraps = {bytes(row["wrap"]) for row in taken.execute(
            "SELECT wrap FROM holder_wraps")}
    finally:
        taken.close()
    # ...but nothing in it opens the live vetting key, and the live key is not the old one.
    current = holders.current_vetting_public(conn)
    assert current is not None and current.key_id != old_vetting.key_id
    live_wraps = {bytes(row["wrap"]) for row in conn.execute(
        "SELECT w.wrap FROM holder_wraps AS w WHERE w.vetting_key_id = ?", (current.key_id,))}
    assert live_wraps and not live_wraps & copied_wraps
    username = apply(app)
    sealed = db.scalar(conn, "SELECT identity FROM members WHERE id = ?",
                       (member_id_of(conn, username),))
    place = ("members", "identity", member_id_of(conn, username))
    assert not _opens(bytes(sealed), place, old_vetting)
    log_text = json.dumps([row["body"] for row in conn.execute(
        "SELECT body FROM disclosure_log")])
    assert "vetting_rotation_finished" in log_text and "key_holder_removed" in log_text
