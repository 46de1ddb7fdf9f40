"""Threat row: the server at rest plus the worker's delivery passphrase.

The passphrase must be on the server for unattended delivery, so whatever the delivery
key opens is open to whoever takes the server. It must open the contacts of active
members who chose push alerts and nothing else: no applicant's, rejected, revoked or
departed member's contact carries a delivery wrap at all, and reset codes are gone from
the outbox once sent or expired.
"""

from __future__ import annotations

import pytest

from app.vault import db
from app.vault.sealing import associated_data
from crypto import envelope, keystore
from crypto.blind_index import BlindIndexer
from crypto.errors import CryptoError
from tests.conftest import DELIVERY_PASSPHRASE
from tests.threats.server_world import (
    PUBLISHED_IDENTIFIER,
    RESET_CODE,
    CellIndex,
    build_scheme,
    candidate_box_keys,
    computed,
    random_others,
    server_secrets,
    take_server,
    triples,
)


@pytest.fixture
def taken(app, conn, config, keys_dir, database_key):
    scheme = build_scheme(app, conn, keys_dir)
    delivery = keystore.load_delivery_private_key(keys_dir, DELIVERY_PASSPHRASE)
    return scheme, take_server(config, keys_dir, database_key), delivery


def _opens(key, table: str, column: str, row_id: str, sealed: bytes) -> bool:
    try:
        envelope.open_envelope(sealed, key, associated_data(table, column, row_id))
    except CryptoError:
        return False
    return True


def test_only_contacts_of_active_members_with_push_alerts_open(taken, keys_dir) -> None:
    scheme, loot, delivery = taken
    keys = [delivery, *(key for _name, key in candidate_box_keys(
        server_secrets(loot.files, keys_dir)))]
    opened = {(table, column, row_id) for table, column, row_id, sealed in loot.envelopes
              for key in keys if _opens(key, table, column, row_id, sealed)}
    contacts = {row_id for table, column, row_id in opened if (table, column) ==
                ("members", "contact")}
    assert contacts == scheme.push_active and len(contacts) == 2
    others = {(t, c) for t, c, _r in opened} - {("members", "contact"), ("outbox", "payload")}
    assert others == set(), "no identity, narrative, offender field or index key opens"
    waiting = str(scheme.reset_rows["waiting"])
    # A code not yet sent must open for the worker; that is the one secret it carries.
    assert {row_id for table, _c, row_id in opened if table == "outbox"} == {waiting}
    printed = (len(contacts), sum(1 for t, c, _r, _s in loot.envelopes
                                  if (t, c) == ("members", "contact")))
    print(f"\ncontacts opened with the delivery passphrase: {printed[0]} of {printed[1]}")


def test_no_closed_or_waiting_members_contact_carries_a_delivery_wrap(taken, conn) -> None:
    scheme, loot, delivery = taken
    contacts = {row_id: sealed for table, column, row_id, sealed in loot.envelopes
                if (table, column) == ("members", "contact")}
    for status in ("pending", "rejected", "revoked"):
        for member_id in scheme.by_state[status]:
            assert delivery.key_id not in envelope.recipients_of(contacts[member_id]), status
    for member_id in scheme.by_state["left"]:
        assert member_id not in contacts, "a departed member's contact is erased"
    for member_id in scheme.by_state["active"]:
        carries = delivery.key_id in envelope.recipients_of(contacts[member_id])
        assert carries == (member_id in scheme.push_active)
    assert db.count(conn, "SELECT count(*) FROM members WHERE status = 'pending'") == 3


def test_reset_codes_are_gone_from_the_outbox_once_sent_or_expired(taken, conn) -> None:
    scheme, loot, _delivery = taken
    rows = {row["id"]: (row["status"], row["payload"]) for row in conn.execute(
        "SELECT id, status, payload FROM outbox WHERE kind = 'reset'")}
    assert scheme.erased_when_sent, "erased by the worker's mark, not only by the purge"
    assert rows[scheme.reset_rows["sent"]] == ("sent", None)
    assert rows[scheme.reset_rows["expired"]] == ("cancelled", None)
    assert rows[scheme.reset_rows["waiting"]][1] is not None
    assert not any(RESET_CODE.encode() in (value if isinstance(value, bytes)
                                           else str(value).encode())
                   for _t, _c, value in loot.cells if value is not None)


def test_the_delivery_key_adds_no_way_to_tell_a_members_contact_from_another(
        taken, keys_dir) -> None:
    scheme, loot, delivery = taken
    secrets = server_secrets(loot.files, keys_dir)
    secrets["delivery.key (opened)"] = delivery.raw
    indexers = [BlindIndexer(raw) for raw in secrets.values()]
    combos = triples(loot.account_ids)
    members = scheme.mobiles + scheme.emails
    others = random_others(2_000, seed=12, taken=set(members))
    cells = CellIndex(loot.cells)

    def matches(values: list[str]) -> int:
        return sum(1 for value in values
                   if any(cells.holds(digest) for digest in computed(indexers, value, combos)))

    assert (matches(members), matches(others)) == (0, 0)
    assert matches([PUBLISHED_IDENTIFIER]) == 1, "the search finds what the server does index"
