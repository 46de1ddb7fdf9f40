from __future__ import annotations

import json

import pytest

from app.membership.records import insert_member
from app.vault import db, unseal
from app.vault import log as disclosure_log
from crypto.errors import EnvelopeError, UnknownKeyId
from crypto.keys import generate_box_keypair

IDENTITY = {"work_name": "Canary Velvet", "real_name": "Canary Real Name"}
CONTACT = {"email": "velvet.canary@example.org"}


@pytest.fixture
def member_id(conn, server_keys) -> str:
    with db.transaction(conn):
        return insert_member(conn, server_keys, kind="individual",
                             identity=IDENTITY, contact=CONTACT)


def _request(member_id: str, **changes) -> unseal.UnsealRequest:
    fields = {"actor_id": "coordinator-1", "purpose": "vetting", "table": "members",
              "row_ids": [member_id], "fields": {"identity": ["work_name"]}}
    fields.update(changes)
    return unseal.UnsealRequest(**fields)


def test_unseal_writes_its_log_entry_and_returns_only_named_fields(conn, member_id,
                                                                   vetting_key) -> None:
    opened = unseal.unseal(conn, _request(member_id), vetting_key)
    assert opened == {member_id: {"identity": {"work_name": IDENTITY["work_name"]}}}
    entries = disclosure_log.entries(conn)
    assert len(entries) == 1
    body = entries[0].body
    assert body["records"] == [f"members/{member_id}"]
    assert body["fields"] == ["identity.work_name"] and body["purpose"] == "vetting"
    assert disclosure_log.verify(conn).ok


def test_log_entry_holds_no_sealed_value(conn, member_id, vetting_key) -> None:
    unseal.unseal(conn, _request(member_id, fields={"identity": ["work_name", "real_name"],
                                                    "contact": ["email"]}), vetting_key)
    text = json.dumps([dict(e.body) for e in disclosure_log.entries(conn)])
    for value in [*IDENTITY.values(), *CONTACT.values()]:
        assert value not in text


def test_no_entry_no_plaintext(conn, member_id, vetting_key, monkeypatch) -> None:
    def refuse(*_args, **_kwargs):
        raise db.DatabaseError("disk full")

    monkeypatch.setattr(disclosure_log, "append", refuse)
    with pytest.raises(db.DatabaseError):
        unseal.unseal(conn, _request(member_id), vetting_key)
    monkeypatch.undo()
    assert disclosure_log.entries(conn) == []


def test_failed_open_leaves_no_entry(conn, member_id) -> None:
    stranger = generate_box_keypair("vetting")
    with pytest.raises(UnknownKeyId):
        unseal.unseal(conn, _request(member_id), stranger)
    assert disclosure_log.entries(conn) == []


def test_ciphertext_moved_to_another_row_does_not_open(conn, server_keys, vetting_key) -> None:
    with db.transaction(conn):
        first = insert_member(conn, server_keys, kind="individual",
                              identity={"work_name": "First"}, contact={})
        second = insert_member(conn, server_keys, kind="individual",
                               identity={"work_name": "Second"}, contact={})
        sealed = conn.execute("SELECT identity FROM members WHERE id=?", (first,)).fetchone()[0]
        conn.execute("UPDATE members SET identity=? WHERE id=?", (sealed, second))
    with pytest.raises(EnvelopeError):
        unseal.unseal(conn, _request(second), vetting_key)
    assert disclosure_log.entries(conn) == []


def test_unseal_refuses_unknown_purpose_or_place(member_id) -> None:
    with pytest.raises(ValueError):
        _request(member_id, purpose="curiosity")
    with pytest.raises(ValueError):
        _request(member_id, legal_basis="because")


def test_unseal_refuses_fields_outside_the_place(member_id) -> None:
    with pytest.raises(ValueError):
        _request(member_id, fields={"identity": ["password"]})
    with pytest.raises(ValueError):
        _request(member_id, fields={"password_hash": ["x"]})


def test_one_entry_covers_identity_and_contact_of_several_records(conn, member_id,
                                                                   server_keys,
                                                                   vetting_key) -> None:
    with db.transaction(conn):
        other = insert_member(conn, server_keys, kind="individual",
                              identity={"work_name": "Other"}, contact={})
    opened = unseal.unseal(conn, _request(member_id, row_ids=[member_id, other],
                                          fields={"identity": ["work_name"],
                                                  "contact": ["email"]}), vetting_key)
    assert opened[member_id]["contact"] == {"email": CONTACT["email"]}
    assert opened[other]["contact"] == {"email": ""}, "no contact group: nothing to show"
    [entry] = disclosure_log.entries(conn)
    assert entry.body["records"] == [f"members/{member_id}", f"members/{other}"]
    assert entry.body["fields"] == ["contact.email", "identity.work_name"]


def test_contact_gets_a_delivery_wrap_only_at_approval_and_only_for_push(
        conn, server_keys, vetting_key) -> None:
    from app.membership.records import grant_delivery, revoke_delivery
    from crypto.envelope import recipients_of

    with db.transaction(conn):
        quiet = insert_member(conn, server_keys, kind="individual",
                              identity={"work_name": "A"}, contact=CONTACT, delivery=False)
        push = insert_member(conn, server_keys, kind="individual",
                             identity={"work_name": "B"}, contact=CONTACT, delivery=True)
    def recipients(member: str) -> set[bytes]:
        sealed = conn.execute("SELECT contact FROM members WHERE id=?", (member,)).fetchone()[0]
        return set(recipients_of(bytes(sealed)))

    vetting_only = {server_keys.vetting_public.key_id}
    assert recipients(quiet) == recipients(push) == vetting_only, "not yet approved"
    with db.transaction(conn):
        assert grant_delivery(conn, server_keys, quiet, vetting_key) is False
        assert grant_delivery(conn, server_keys, push, vetting_key) is True
    assert recipients(quiet) == vetting_only
    assert recipients(push) == vetting_only | {server_keys.delivery_public.key_id}
    with db.transaction(conn):
        revoke_delivery(conn, server_keys, push)
    assert recipients(push) == vetting_only
