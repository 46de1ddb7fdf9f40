"""Storing a member's sealed identity and contact, and their truncated blind indexes.

Why truncated (DESIGN.md): a full-length keyed hash would let anyone holding the server's
index key test "is 07700 900123 a member?" and get a proof. Truncated to
CONTACT_INDEX_BITS, each index value is shared by many possible numbers and addresses, so a
match only says "worth a coordinator's look".

The arithmetic, for a scheme of M = 10,000 members with up to three contact indexes each
(mobile, email, provider-canonical email), and b = 20 bits:
  * false "possible duplicate" flags: a new value meets an existing one by chance with
    probability about 3M / 2^b = 30,000 / 1,048,576, roughly 3% of applications, each of
    which a coordinator settles by unsealing both records;
  * deniability: the UK mobile range 07xxx xxxxxx holds about 10^9 numbers, so each 20-bit
    value is shared by about 10^9 / 2^20, roughly 950 mobile numbers: a match proves nothing.
Fewer bits would flag most applications; more would shrink the crowd a number hides in.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

from crypto import normalise
from crypto.blind_index import BlindIndexer
from crypto.keystore import ServerKeys

from . import sealing
from .db import Connection

CONTACT_INDEX_BITS = 20


def new_id() -> str:
    return secrets.token_urlsafe(16)


def contact_indexes(indexer: BlindIndexer, contact: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """(index name, truncated value) for each contact field present."""
    found: list[tuple[str, bytes]] = []
    mobile = contact.get("mobile")
    email = contact.get("email") or contact.get("org_email")
    if mobile:
        value = normalise.normalise_phone(mobile)
        found.append(("mobile_e164",
                      indexer.compute("members", "mobile", "e164", value, CONTACT_INDEX_BITS)))
    if email:
        exact = normalise.normalise_email(email)
        canonical = normalise.canonical_email(email)
        found.append(("email_exact",
                      indexer.compute("members", "email", "exact", exact, CONTACT_INDEX_BITS)))
        found.append(("email_canonical",
                      indexer.compute("members", "email", "canonical", canonical,
                                      CONTACT_INDEX_BITS)))
    return found


def insert_member(
    conn: Connection,
    keys: ServerKeys,
    *,
    kind: str,
    identity: Mapping[str, str],
    contact: Mapping[str, str],
    delivery: bool = False,
    now: datetime | None = None,
) -> str:
    """Seal and store a new (pending) member; must run inside a transaction."""
    member_id = new_id()
    contact_recipients = [keys.vetting_public] + ([keys.delivery_public] if delivery else [])
    sealed_identity = sealing.seal_group("members", "identity", member_id, identity,
                                         [keys.vetting_public])
    sealed_contact = (sealing.seal_group("members", "contact", member_id, contact,
                                         contact_recipients) if contact else None)
    indexes = contact_indexes(BlindIndexer(keys.index_key), contact)
    conn.execute(
        "INSERT INTO members (id, kind, status, created_at, identity, contact) "
        "VALUES (?, ?, 'pending', ?, ?, ?)",
        (member_id, kind, (now or datetime.now(UTC)).isoformat(timespec="seconds"),
         sealed_identity, sealed_contact),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO member_contact_index (member_id, index_name, value) "
        "VALUES (?, ?, ?)",
        [(member_id, name, value) for name, value in indexes],
    )
    return member_id
