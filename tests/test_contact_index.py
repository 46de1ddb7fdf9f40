"""Member contact indexes under the contact-index key: written only while a coordinator
has unlocked, after a logged unseal; dropped when a contact changes or the key rotates."""

from __future__ import annotations

import pytest

from app.coordinator import vetting
from app.membership import records
from app.vault import contact_index, db, log
from app.web.state import state
from crypto.keystore import load_server_keys
from tests.flows import apply, coordinator_client, member_id_of, unlock
from tests.people import make_member, vetting_private_key
from tests.webtools import text

NOT_CHECKED = "Not checked for duplicates yet: unlock to check"


def _indexer(app, conn):
    opened = contact_index.open_or_create(conn, vetting_private_key(app), "c1",
                                          state(app).clock())
    assert opened is not None
    return contact_index.indexer(*opened)


def _index_all(app, conn, indexer=None) -> int:
    return vetting.index_contacts(conn, vetting_private_key(app), indexer or _indexer(app, conn),
                                  "c1", state(app).clock())


def _indexes(conn, member_id: str) -> int:
    return db.count(conn, "SELECT count(*) FROM member_contact_index WHERE member_id = ?",
                    (member_id,))


def test_the_application_page_says_not_checked_until_a_coordinator_unlocks(
        app, conn, keys_dir) -> None:
    member_id = member_id_of(conn, apply(app))
    coordinator, _ = coordinator_client(app)
    page = f"/coordinator/applications/{member_id}"
    assert NOT_CHECKED in text(coordinator.get(page))
    assert _indexes(conn, member_id) == 0
    unlock(coordinator, keys_dir)
    shown = text(coordinator.get(page))
    assert NOT_CHECKED not in shown and "none found" in shown
    assert _indexes(conn, member_id) == 3


def test_indexing_a_contact_is_logged_before_it_is_opened_and_nothing_is_kept_without_it(
        app, conn, monkeypatch) -> None:
    member_id = member_id_of(conn, apply(app))
    indexer = _indexer(app, conn)
    entries = len(log.entries(conn))

    def refuse(*_args: object) -> None:
        raise RuntimeError("the log cannot be written")

    monkeypatch.setattr(log, "append", refuse)
    with pytest.raises(RuntimeError):
        _index_all(app, conn, indexer)
    assert _indexes(conn, member_id) == 0 and records.not_yet_indexed(conn) == 1
    monkeypatch.undo()
    assert _index_all(app, conn, indexer) == 1
    [entry] = log.entries(conn)[entries:]
    assert entry.body["records"] == [f"members/{member_id}"]
    assert entry.body["fields"] == ["contact.email", "contact.mobile", "contact.org_email"]
    assert entry.body["use"] == "duplicate_check" and entry.body["purpose"] == "vetting"


def test_no_index_is_written_under_a_contact_index_key_that_was_replaced(app, conn) -> None:
    member_id_of(conn, apply(app))
    stale = _indexer(app, conn)
    keys = load_server_keys(state(app).config.keys_dir)
    with db.transaction(conn):
        records.new_contact_index_key(conn, keys.vetting_public, state(app).clock())
    assert contact_index.current_id(conn) != stale.key_id
    assert _index_all(app, conn, stale) == 0
    assert records.not_yet_indexed(conn) == 1


def test_a_member_changing_contact_loses_their_indexes_until_the_next_unlock(
        app, conn) -> None:
    member = make_member(app, email="before@example.org")
    other = make_member(app, email="after@example.org")
    assert _index_all(app, conn) == 2
    keys = load_server_keys(state(app).config.keys_dir)
    records.replace_contact(conn, keys, member.member_id, {"email": "after@example.org"},
                            "none")
    assert _indexes(conn, member.member_id) == 0
    assert records.not_yet_indexed(conn) == 1
    assert _index_all(app, conn) == 1
    assert records.duplicate_candidates(conn, member.member_id) == [other.member_id]
    assert records.duplicate_candidates(conn, other.member_id) == [member.member_id]


def test_a_new_contact_index_key_drops_every_index_and_marks_every_member(app, conn) -> None:
    for n in range(3):
        make_member(app, email=f"m{n}@example.org")
    first = _indexer(app, conn)
    assert _index_all(app, conn, first) == 3
    before = {bytes(row["value"]) for row in conn.execute(
        "SELECT value FROM member_contact_index")}
    keys = load_server_keys(state(app).config.keys_dir)
    with db.transaction(conn):
        records.new_contact_index_key(conn, keys.vetting_public, state(app).clock())
    assert db.count(conn, "SELECT count(*) FROM member_contact_index") == 0
    assert records.not_yet_indexed(conn) == 3
    fresh = _indexer(app, conn)
    assert fresh.key_id != first.key_id
    assert _index_all(app, conn, fresh) == 3
    after = {bytes(row["value"]) for row in conn.execute(
        "SELECT value FROM member_contact_index")}
    assert after and not after & before, "indexes under the new key share nothing"


def test_locking_forgets_the_contact_index_key_with_the_vetting_key(app, conn,
                                                                   keys_dir) -> None:
    member_id = member_id_of(conn, apply(app))
    coordinator, _ = coordinator_client(app)
    unlock(coordinator, keys_dir)
    coordinator.post("/coordinator/lock", data={
        "csrf_token": _token(coordinator)})
    assert len(state(app).unlocks) == 0
    assert NOT_CHECKED in text(coordinator.get(f"/coordinator/applications/{member_id}"))
    assert _indexes(conn, member_id) == 0


def _token(client) -> str:
    from tests.webtools import csrf_token

    return csrf_token(client, "/coordinator/unlock")  # the queue would index first


def test_keys_verify_counts_the_contact_index_key_among_the_envelopes_a_holder_opens(
        app, conn) -> None:
    from app.vault import rotation

    _indexer(app, conn)
    keys = load_server_keys(state(app).config.keys_dir)
    report = rotation.verify(conn, delivery=keys.delivery_public,
                             vetting_file=keys.vetting_public)
    place = report.places[("contact_index_keys", "key")]
    assert (place.envelopes, place.unopenable) == (1, 0)
    assert set(place.by_key) == {keys.vetting_public.key_id}, "sealed to the vetting key only"


def test_the_queue_still_shows_when_the_duplicate_check_cannot_be_logged(
        app, conn, keys_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    member_id = member_id_of(conn, apply(app))
    coordinator, _ = coordinator_client(app)
    unlock(coordinator, keys_dir)
    entries = db.count(conn, "SELECT count(*) FROM disclosure_log")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the disclosure log is full")

    monkeypatch.setattr(log, "append", refuse)
    page = coordinator.get("/coordinator/")
    assert page.status_code == 200 and NOT_CHECKED in text(page)
    assert _indexes(conn, member_id) == 0
    assert db.count(conn, "SELECT count(*) FROM disclosure_log") == entries
