"""Threat row: someone holding the server and every key file at rest, no holder key file.

They have keys/ (database.key, index.key, session.key, audit.key, the public keys and
delivery.key sealed under a passphrase they do not have) and the database. They must
not get a contact, an identity, a narrative or an offender field, nor any way to tell
whether a given mobile or email is a member's (DESIGN.md, the threat table).
"""

from __future__ import annotations

import pytest

from app.vault.sealing import associated_data
from crypto import envelope, keystore
from crypto.blind_index import BlindIndexer
from crypto.errors import CryptoError
from tests.threats.server_world import (
    PUBLISHED_IDENTIFIER,
    CellIndex,
    build_scheme,
    candidate_box_keys,
    computed,
    random_others,
    server_secrets,
    take_server,
    triples,
)

OTHERS = 2_000


@pytest.fixture
def taken(app, conn, config, keys_dir, database_key):
    scheme = build_scheme(app, conn, keys_dir)
    return scheme, take_server(config, keys_dir, database_key)


def test_the_server_holds_no_private_key_that_opens_anything(taken, keys_dir) -> None:
    _scheme, loot = taken
    assert keystore.VETTING_KEY not in loot.files, "holders: no shared vetting key file"
    assert keystore.DELIVERY_KEY in loot.files, "sealed under a passphrase not on disk"
    with pytest.raises(CryptoError):
        keystore.load_delivery_private_key(keys_dir, "")
    secrets = server_secrets(loot.files, keys_dir)
    assert {keystore.DATABASE_KEY, keystore.INDEX_KEY, keystore.AUDIT_KEY} <= set(secrets)
    places = {(table, column) for table, column, _row, _sealed in loot.envelopes}
    assert {("members", "identity"), ("members", "contact"), ("reports", "narrative"),
            ("reports", "offender"), ("contact_index_keys", "key")} <= places
    opened = []
    for name, key in candidate_box_keys(secrets):
        for table, column, row_id, sealed in loot.envelopes:
            try:
                envelope.open_envelope(sealed, key, associated_data(table, column, row_id))
            except CryptoError:
                continue
            opened.append((name, table, column, row_id))
    assert opened == []


def test_no_blind_index_the_server_can_compute_tells_a_members_contact_from_another(
        taken, keys_dir, capsys) -> None:
    scheme, loot = taken
    secrets = server_secrets(loot.files, keys_dir)
    indexers = [BlindIndexer(raw) for raw in secrets.values()]
    combos = triples(loot.account_ids)
    members = scheme.mobiles + scheme.emails
    others = random_others(OTHERS, seed=11, taken=set(members))
    cells = CellIndex(loot.cells)

    def matches(values: list[str]) -> int:
        return sum(1 for value in values
                   if any(cells.holds(digest) for digest in computed(indexers, value, combos)))

    member_hits, other_hits = matches(members), matches(others)
    with capsys.disabled():
        print(f"\nmembership test with the server's keys: {member_hits} of {len(members)} "
              f"members' values match, {other_hits} of {len(others)} others "
              f"({len(indexers)} keys, {len(combos)} index kinds)")
    assert (member_hits, other_hits) == (0, 0)
    assert matches([PUBLISHED_IDENTIFIER]) == 1, "the search finds what the server does index"
