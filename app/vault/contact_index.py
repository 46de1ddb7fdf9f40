"""The contact-index key: member contact indexes under a key the server holds only sealed.

Member contact indexes (duplicate detection) are full-length blind indexes keyed with
this key, never with the server's index.key: with every file on the server, nobody can
compute one and so nobody can test "is this number a member's?". The key is 32 random
bytes that exist only inside an envelope sealed to the vetting key (one row of
contact_index_keys), so it is in this process's memory only while a coordinator has
unlocked: the keyring holds it beside their vetting key, wrapped for their session.

It is made at the first unlock after the database needs one (a new deployment, or
migration 0017), and made again, fresh, when the vetting key is rotated (`replace`,
called from inside the rotation's last transaction). Re-wrapping alone is not enough:
a rotation is how a scheme shuts out someone who held the old vetting key (a departed
coordinator, a lost key file). With the old vetting key and any old copy of the database
they can open the old envelope, so a key that outlived the rotation would let them test
every index written afterwards. A fresh key leaves them nothing to compute with, at the
cost of every contact being opened (logged) and indexed again at the next unlock.

This module owns every write to contact_index_keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.common.clock import stamp
from app.common.ids import new_id
from app.vault import log
from app.vault.db import Connection, transaction
from app.vault.opening import open_group
from app.vault.sealing import seal_group
from crypto.blind_index import BlindIndexer, new_root_key
from crypto.errors import CryptoError
from crypto.keys import BoxPrivateKey, PublicKey

TABLE, COLUMN, FIELD = "contact_index_keys", "key", "key"


@dataclass(frozen=True)
class ContactIndexer:
    """The contact-index key in use, as an indexer (the key itself is not exposed)."""

    key_id: str
    indexer: BlindIndexer


def current_id(conn: Connection) -> str | None:
    """The id of the contact-index key indexes must be written under, if there is one."""
    row = conn.execute("SELECT id FROM contact_index_keys").fetchone()
    return None if row is None else str(row["id"])


def _insert(conn: Connection, vetting_public: PublicKey, now: datetime) -> tuple[str, bytes]:
    key_id = new_id()
    raw = new_root_key()
    sealed = seal_group(TABLE, COLUMN, key_id, {FIELD: raw.hex()}, [vetting_public])
    conn.execute("INSERT INTO contact_index_keys (slot, id, created_at, key) "
                 "VALUES (1, ?, ?, ?)", (key_id, stamp(now), sealed))
    return key_id, raw


def open_or_create(conn: Connection, vetting_key: BoxPrivateKey, actor: str,
                   now: datetime) -> tuple[str, bytes] | None:
    """(key id, key) opened with an unlocked vetting key; made and logged if there is none.

    None when this vetting key does not open the stored envelope (a rotation under way has
    not re-wrapped it yet): the coordinator can still vet, duplicates wait for an unlock.
    Opening it is not an unseal: the envelope holds a key, no one's personal data, and
    every contact it then indexes is opened through app.vault.unseal, logged.
    """
    with transaction(conn):
        row = conn.execute("SELECT id, key FROM contact_index_keys").fetchone()
        if row is None:
            key_id, raw = _insert(conn, vetting_key.public, now)
            log.append(conn, log.contact_index_key_created(at=now, actor=actor, key_id=key_id,
                                                           reason="first_unlock"))
            return key_id, raw
    try:
        values = open_group(TABLE, COLUMN, str(row["id"]), bytes(row["key"]), vetting_key)
    except CryptoError:
        return None
    return str(row["id"]), bytes.fromhex(values[FIELD])


def replace(conn: Connection, vetting_public: PublicKey, actor: str, now: datetime) -> str:
    """A fresh contact-index key sealed to `vetting_public` in place of the old (logged).

    Must run in the caller's transaction, which also drops every index written under the
    old key (app/membership/records.forget_contact_indexes).
    """
    if not conn.in_transaction:
        raise RuntimeError("replacing the contact-index key must run inside db.transaction")
    conn.execute("DELETE FROM contact_index_keys")
    key_id, _raw = _insert(conn, vetting_public, now)
    log.append(conn, log.contact_index_key_created(at=now, actor=actor, key_id=key_id,
                                                   reason="rotation"))
    return key_id


def indexer(key_id: str, raw: bytes) -> ContactIndexer:
    return ContactIndexer(key_id, BlindIndexer(raw))
