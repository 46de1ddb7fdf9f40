"""The members tables: sealed identity and contact, contact indexes, decisions.

This module owns every write to `members`, `member_contact_index` and
`membership_decisions`; approving, leaving and the rest (decisions.py) and retention
call it.

Contact indexes are full-length blind indexes under the contact-index key
(app/vault/contact_index.py), which exists only sealed to the vetting key: the server's
own keys compute nothing that tells a member's mobile or email from any other. So they
cannot be written at apply time (the applicant's request has no vetting key): a member's
contact is indexed when a coordinator with an unlocked key opens the vetting queue or an
application (app/coordinator/vetting.index_contacts, which opens the contact through
app.vault.unseal, logged first). Until then `contact_indexed_at` is NULL and the queue says
the member is not checked for duplicates yet. A member who changes contact, and every
member when the vetting key (and with it the contact-index key) is rotated, is marked
for indexing again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum

from app.common.ids import new_id
from app.vault import contact_index, log, sealing, wraps
from app.vault.db import Connection, count, transaction
from app.vault.holders import vetting_recipient
from crypto import normalise
from crypto.blind_index import BlindIndexer
from crypto.keys import BoxPrivateKey, PublicKey
from crypto.keystore import ServerKeys


class MemberStatus(StrEnum):
    PENDING = "pending"
    INFO_REQUESTED = "info_requested"
    ACTIVE = "active"
    REJECTED = "rejected"
    LEFT = "left"
    REVOKED = "revoked"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_INFO = "request_info"
    REVOKE = "revoke"
    LEAVE = "leave"
    LEAVE_RECORDED = "leave_recorded"


def contact_indexes(indexer: BlindIndexer, contact: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """(index name, full-length value) for each contact field present, under `indexer`,
    which must be the contact-index key's (never the server's index.key)."""
    found: list[tuple[str, bytes]] = []
    mobile = contact.get("mobile")
    email = contact.get("email") or contact.get("org_email")
    if mobile:
        value = normalise.normalise_phone(mobile)
        found.append(("mobile_e164",
                      indexer.compute("members", "mobile", "e164", value)))
    if email:
        exact = normalise.normalise_email(email)
        canonical = normalise.canonical_email(email)
        found.append(("email_exact",
                      indexer.compute("members", "email", "exact", exact)))
        found.append(("email_canonical",
                      indexer.compute("members", "email", "canonical", canonical)))
    return found


# Alert channels the members table accepts; a push channel means the alert worker (which
# alone holds the delivery key) must be able to open the member's contact envelope.
ALERT_CHANNELS = ("email", "sms", "none")
PUSH_CHANNELS = frozenset({"email", "sms"})

# Members in these states are not counted as possible duplicates of a new application.
CLOSED_STATUSES = (MemberStatus.LEFT.value, MemberStatus.REVOKED.value,
                   MemberStatus.REJECTED.value)


def _channel(alert_channel: str | None, delivery: bool | None,
             contact: Mapping[str, str]) -> str:
    """The alert channel to store, checked against the contact it needs.

    `delivery` is the older way of asking for push alerts; it must agree with
    `alert_channel` when both are given, so the stored channel and the envelope's
    recipients can never disagree.
    """
    email = contact.get("email") or contact.get("org_email")
    if alert_channel is None:
        alert_channel = ("email" if email else "sms") if delivery else "none"
    if alert_channel not in ALERT_CHANNELS:
        raise ValueError(f"unknown alert channel {alert_channel!r}")
    if delivery is not None and delivery != (alert_channel in PUSH_CHANNELS):
        raise ValueError("delivery and alert_channel disagree")
    if alert_channel == "email" and not email:
        raise ValueError("email alerts need an email address")
    if alert_channel == "sms" and not contact.get("mobile"):
        raise ValueError("text alerts need a mobile number")
    return alert_channel


def _recount_duplicates(conn: Connection, member_ids: set[str]) -> None:
    """Store, for each of `member_ids`, how many other open members share an index value."""
    for member_id in sorted(member_ids):
        conn.execute("UPDATE members SET duplicate_candidates = ? WHERE id = ?",
                     (len(duplicate_candidates(conn, member_id)), member_id))


def _sharing(conn: Connection, member_id: str) -> set[str]:
    """Every member sharing an index value with `member_id`, open or not."""
    return set(duplicate_candidates(conn, member_id, include_closed=True))


def duplicate_candidates(conn: Connection, member_id: str, *,
                         include_closed: bool = False) -> list[str]:
    """Ids of the other members sharing any contact index value with `member_id`.

    Oldest first. A shared value is a lead: a coordinator settles it by unsealing both
    records. Only members already indexed are found. Members who left, were revoked or were rejected
    are left out unless `include_closed` (the same rule as the stored count).
    """
    closed = ",".join("?" * len(CLOSED_STATUSES))
    status_rule = "" if include_closed else f"AND m.status NOT IN ({closed}) "
    query = (  # only placeholders are formatted in; every value is a parameter
        "SELECT other.member_id FROM member_contact_index AS mine "  # noqa: S608
        "JOIN member_contact_index AS other ON other.index_name = mine.index_name "
        "AND other.value = mine.value AND other.member_id != mine.member_id "
        "JOIN members AS m ON m.id = other.member_id "
        f"WHERE mine.member_id = ? {status_rule}"
        "GROUP BY other.member_id ORDER BY MIN(m.created_at), other.member_id"
    )
    params = [member_id, *(() if include_closed else CLOSED_STATUSES)]
    return [row["member_id"] for row in conn.execute(query, params).fetchall()]


def _seal_contact(conn: Connection, keys: ServerKeys, member_id: str,
                  contact: Mapping[str, str], *, for_delivery: bool) -> bytes | None:
    """The contact envelope: for the vetting key, and the delivery key only if asked.

    Only an active member who wants push alerts is ever sealed for delivery: the worker's
    passphrase has to live on the server, so whatever it opens is open to anyone who
    takes the server (DESIGN.md, the threat table).
    """
    if not contact:
        return None
    recipients = [vetting_recipient(conn, keys)]
    if for_delivery:
        recipients.append(keys.delivery_public)
    return sealing.seal_group("members", "contact", member_id, contact, recipients)


def grant_delivery(conn: Connection, keys: ServerKeys, member_id: str,
                   vetting_key: BoxPrivateKey) -> bool:
    """Add the delivery wrap to an active member's contact if they chose push alerts.

    Returns whether the member can now be sent notices. Needs the vetting key: the data
    key inside the envelope is reached through the vetting wrap.
    """
    row = conn.execute("SELECT contact, alert_channel FROM members WHERE id = ?",
                       (member_id,)).fetchone()
    if row is None or row["contact"] is None or row["alert_channel"] not in PUSH_CHANNELS:
        return False
    sealed = wraps.with_delivery(bytes(row["contact"]), member_id, vetting_key,
                                 keys.delivery_public)
    conn.execute("UPDATE members SET contact = ? WHERE id = ?", (sealed, member_id))
    return True


def revoke_delivery(conn: Connection, keys: ServerKeys, member_id: str) -> None:
    """Take the delivery wrap off a member's contact (no key needed)."""
    row = conn.execute("SELECT contact FROM members WHERE id = ?", (member_id,)).fetchone()
    if row is None or row["contact"] is None:
        return
    sealed = wraps.without_delivery(bytes(row["contact"]), keys.delivery_public.key_id)
    conn.execute("UPDATE members SET contact = ? WHERE id = ?", (sealed, member_id))


def active_without_delivery(conn: Connection, keys: ServerKeys) -> list[str]:
    """Active members who chose push alerts whose contact has no delivery wrap yet."""
    rows = conn.execute("SELECT id, contact FROM members WHERE status = 'active' AND "
                        "contact IS NOT NULL AND alert_channel IN ('email', 'sms') "
                        "ORDER BY id").fetchall()
    delivery = keys.delivery_public.key_id
    return [row["id"] for row in rows if not wraps.carries(bytes(row["contact"]), delivery)]


def replace_contact(conn: Connection, keys: ServerKeys, member_id: str,
                    contact: Mapping[str, str], alert_channel: str) -> None:
    """Seal a member's new contact and channel in place of the old.

    The old contact's indexes go and the member is marked for indexing again: their own
    session has no contact-index key, so the next coordinator's unlock indexes them.
    """
    channel = _channel(alert_channel, None, contact)
    # Only active members reach this (the UPDATE below checks): push alerts get a wrap.
    sealed = _seal_contact(conn, keys, member_id, contact,
                           for_delivery=channel in PUSH_CHANNELS)
    with transaction(conn):
        updated = conn.execute("UPDATE members SET contact = ?, alert_channel = ?, "
                               "contact_indexed_at = NULL, duplicate_candidates = 0 "
                               "WHERE id = ? AND status = 'active'",
                               (sealed, channel, member_id))
        if updated.rowcount != 1:
            raise LookupError("no active membership to update")
        _drop_indexes(conn, member_id)


def _drop_indexes(conn: Connection, member_id: str) -> None:
    """Delete a member's indexes; the members they matched are counted again."""
    others = _sharing(conn, member_id)
    conn.execute("DELETE FROM member_contact_index WHERE member_id = ?", (member_id,))
    _recount_duplicates(conn, others)


def waiting_for_index(conn: Connection, limit: int, first: str | None = None) -> list[str]:
    """Members whose contact is not indexed yet: `first` (if it is one), then the oldest."""
    rows = conn.execute("SELECT id FROM members WHERE contact IS NOT NULL AND "
                        "contact_indexed_at IS NULL ORDER BY id IS ? DESC, created_at, id "
                        "LIMIT ?", (first, limit)).fetchall()
    return [row["id"] for row in rows]


def write_contact_indexes(conn: Connection, indexes: Mapping[str, list[tuple[str, bytes]]],
                          now: datetime) -> None:
    """Store members' contact indexes (member id -> its indexes) and mark them indexed.

    The counts of possible duplicates are then set again for these members and for every
    member they now share a value with. Must run inside the transaction that opened the
    contacts (and logged it).
    """
    if not conn.in_transaction:
        raise RuntimeError("write_contact_indexes must run inside db.transaction")
    at = now.isoformat(timespec="seconds")
    touched: set[str] = set()
    for member_id, values in indexes.items():
        conn.execute("DELETE FROM member_contact_index WHERE member_id = ?", (member_id,))
        conn.executemany("INSERT OR IGNORE INTO member_contact_index (member_id, index_name, "
                         "value) VALUES (?, ?, ?)",
                         [(member_id, name, value) for name, value in values])
        conn.execute("UPDATE members SET contact_indexed_at = ? WHERE id = ?", (at, member_id))
        touched.add(member_id)
    for member_id in list(touched):
        touched |= _sharing(conn, member_id)
    _recount_duplicates(conn, touched)


def forget_contact_indexes(conn: Connection) -> int:
    """Every contact index goes and every member is marked for indexing again (a new
    contact-index key: the old indexes test nothing under it). Returns how many members."""
    conn.execute("DELETE FROM member_contact_index")
    return int(conn.execute("UPDATE members SET contact_indexed_at = NULL, "
                            "duplicate_candidates = 0").rowcount)


def new_contact_index_key(conn: Connection, vetting_public: PublicKey, now: datetime) -> None:
    """At a vetting key rotation's end: a fresh contact-index key, every member to index
    again (app/vault/contact_index.py says why). Runs in the rotation's last transaction."""
    contact_index.replace(conn, vetting_public, log.OPERATOR, now)
    forget_contact_indexes(conn)


def not_yet_indexed(conn: Connection) -> int:
    """How many members with a contact are not yet checked for duplicates."""
    return count(conn, "SELECT count(*) FROM members WHERE contact IS NOT NULL AND "
                       "contact_indexed_at IS NULL")


def record_identity_change(conn: Connection, keys: ServerKeys, member_id: str,
                           change: Mapping[str, str]) -> None:
    """An organisation's changed details (website typed again, new key contact's name).

    Sealed to the vetting key beside the identity, which the server cannot open to edit:
    coordinators see both when they next open the membership. Replaces an earlier change.
    """
    sealed = sealing.seal_group("members", "identity_change", member_id, change,
                                [vetting_recipient(conn, keys)])
    conn.execute("UPDATE members SET identity_change = ? WHERE id = ?", (sealed, member_id))


def insert_member(
    conn: Connection,
    keys: ServerKeys,
    *,
    kind: str,
    identity: Mapping[str, str],
    contact: Mapping[str, str],
    alert_channel: str | None = None,
    delivery: bool | None = None,
    now: datetime | None = None,
) -> str:
    """Seal and store a new (pending) member; must run inside a transaction.

    The contact envelope is sealed to the vetting key alone. No contact index is
    written: the contact-index key is not in the applicant's request (see the module
    docstring); the member waits, marked not indexed, for a coordinator's unlock.
    """
    if not conn.in_transaction:
        raise RuntimeError("insert_member must run inside db.transaction")
    channel = _channel(alert_channel, delivery, contact)
    member_id = new_id()
    sealed_identity = sealing.seal_group("members", "identity", member_id, identity,
                                         [vetting_recipient(conn, keys)])
    # An applicant is sealed for the vetting key alone; approval adds the delivery wrap.
    sealed_contact = _seal_contact(conn, keys, member_id, contact, for_delivery=False)
    conn.execute(
        "INSERT INTO members (id, kind, status, created_at, identity, contact, alert_channel) "
        "VALUES (?, ?, 'pending', ?, ?, ?, ?)",
        (member_id, kind, (now or datetime.now(UTC)).isoformat(timespec="seconds"),
         sealed_identity, sealed_contact, channel),
    )
    return member_id


def applications_since(conn: Connection, since: datetime) -> tuple[int, datetime | None]:
    """How many applications were made at or after `since`, and when the first of them was."""
    row = conn.execute("SELECT count(*) AS made, min(created_at) AS first FROM members "
                       "WHERE created_at >= ?",
                       (since.astimezone(UTC).isoformat(timespec="seconds"),)
                       ).fetchone()
    first = datetime.fromisoformat(row["first"]) if row["first"] else None
    return int(row["made"]), first


def status_and_kind(conn: Connection, member_id: str) -> tuple[str, str] | None:
    row = conn.execute("SELECT status, kind FROM members WHERE id = ?", (member_id,)).fetchone()
    return None if row is None else (row["status"], row["kind"])


def alert_channel(conn: Connection, member_id: str) -> str:
    row = conn.execute("SELECT alert_channel FROM members WHERE id = ?", (member_id,)).fetchone()
    return "none" if row is None else str(row["alert_channel"])


def settings_confirmed(conn: Connection, member_id: str) -> bool:
    """Whether the member has confirmed their alert areas and channel (asked once)."""
    row = conn.execute("SELECT settings_confirmed_at FROM members WHERE id = ?",
                       (member_id,)).fetchone()
    return row is not None and row["settings_confirmed_at"] is not None


def confirm_settings(conn: Connection, member_id: str, now: datetime) -> None:
    conn.execute("UPDATE members SET settings_confirmed_at = ? WHERE id = ?",
                 (now.isoformat(timespec="seconds"), member_id))


def set_status(conn: Connection, member_id: str, status: MemberStatus,
               decided_at: datetime | None = None) -> None:
    """A membership's new status; `decided_at` for a decision that ends the application."""
    if decided_at is None:
        conn.execute("UPDATE members SET status = ? WHERE id = ?", (status, member_id))
    else:
        conn.execute("UPDATE members SET status = ?, decided_at = ? WHERE id = ?",
                     (status, decided_at.isoformat(timespec="seconds"), member_id))


def record_decision(conn: Connection, member_id: str, action: Decision, reason: str | None,
                    actor_id: str | None, now: datetime) -> None:
    conn.execute(
        "INSERT INTO membership_decisions (member_id, action, reason, actor_id, at) "
        "VALUES (?, ?, ?, ?, ?)",
        (member_id, action, reason, actor_id, now.isoformat(timespec="seconds")))


def erase_details(conn: Connection, member_id: str, now: datetime) -> None:
    """Leaving: identity, contact and their indexes go; secure_delete overwrites the pages."""
    conn.execute("UPDATE members SET identity = NULL, contact = NULL, identity_change = NULL, "
                 "status = 'left', alert_channel = 'none', decided_at = ? WHERE id = ?",
                 (now.isoformat(timespec="seconds"), member_id))
    _drop_indexes(conn, member_id)


def delete_member(conn: Connection, member_id: str) -> None:
    """Retention: an application nobody needs any more, with its decisions and indexes."""
    conn.execute("DELETE FROM membership_decisions WHERE member_id = ?", (member_id,))
    conn.execute("DELETE FROM members WHERE id = ?", (member_id,))
