"""The members tables: sealed identity and contact, truncated blind indexes, decisions.

This module owns every write to `members`, `member_contact_index` and
`membership_decisions`; approving, leaving and the rest (decisions.py) and retention
call it.

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

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum

from app.common.ids import new_id
from app.vault import sealing, wraps
from app.vault.db import Connection, count, transaction
from app.vault.holders import vetting_recipient
from crypto import normalise
from crypto.blind_index import BlindIndexer
from crypto.keys import BoxPrivateKey
from crypto.keystore import ServerKeys

CONTACT_INDEX_BITS = 20


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


def _count_possible_duplicates(conn: Connection, indexes: list[tuple[str, bytes]]) -> int:
    """How many open members share at least one truncated index value with `indexes`."""
    if not indexes:
        return 0
    matches = " OR ".join("(i.index_name = ? AND i.value = ?)" for _ in indexes)
    closed = ",".join("?" * len(CLOSED_STATUSES))
    query = (  # only placeholders are formatted in; every value is a parameter
        "SELECT COUNT(DISTINCT i.member_id) FROM member_contact_index AS i "  # noqa: S608
        "JOIN members AS m ON m.id = i.member_id "
        f"WHERE m.status NOT IN ({closed}) AND ({matches})"
    )
    params = [*CLOSED_STATUSES, *(part for pair in indexes for part in pair)]
    return count(conn, query, params)


def duplicate_candidates(conn: Connection, member_id: str, *,
                         include_closed: bool = False) -> list[str]:
    """Ids of the other members sharing any truncated contact index value with `member_id`.

    Oldest first. A shared value is only a lead (see the arithmetic above): a coordinator
    settles it by unsealing both records. Members who left, were revoked or were rejected
    are left out unless `include_closed` (the same rule as the count made at apply time).
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
    """Seal a member's new contact and channel in place of the old, indexes included."""
    channel = _channel(alert_channel, None, contact)
    # Only active members reach this (the UPDATE below checks): push alerts get a wrap.
    sealed = _seal_contact(conn, keys, member_id, contact,
                           for_delivery=channel in PUSH_CHANNELS)
    indexes = contact_indexes(BlindIndexer(keys.index_key), contact)
    with transaction(conn):
        updated = conn.execute("UPDATE members SET contact = ?, alert_channel = ? "
                               "WHERE id = ? AND status = 'active'",
                               (sealed, channel, member_id))
        if updated.rowcount != 1:
            raise LookupError("no active membership to update")
        conn.execute("DELETE FROM member_contact_index WHERE member_id = ?", (member_id,))
        conn.executemany("INSERT OR IGNORE INTO member_contact_index (member_id, index_name, "
                         "value) VALUES (?, ?, ?)",
                         [(member_id, name, value) for name, value in indexes])


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

    The contact envelope is sealed for the delivery key only for a push channel (email or
    sms). `duplicate_candidates` is set to the number of open members whose truncated
    contact indexes meet this member's, counted before this member's own are written.
    """
    if not conn.in_transaction:
        raise RuntimeError("insert_member must run inside db.transaction")
    channel = _channel(alert_channel, delivery, contact)
    member_id = new_id()
    sealed_identity = sealing.seal_group("members", "identity", member_id, identity,
                                         [vetting_recipient(conn, keys)])
    # An applicant is sealed for the vetting key alone; approval adds the delivery wrap.
    sealed_contact = _seal_contact(conn, keys, member_id, contact, for_delivery=False)
    indexes = contact_indexes(BlindIndexer(keys.index_key), contact)
    candidates = _count_possible_duplicates(conn, indexes)
    conn.execute(
        "INSERT INTO members (id, kind, status, created_at, identity, contact, alert_channel, "
        "duplicate_candidates) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?)",
        (member_id, kind, (now or datetime.now(UTC)).isoformat(timespec="seconds"),
         sealed_identity, sealed_contact, channel, candidates),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO member_contact_index (member_id, index_name, value) "
        "VALUES (?, ?, ?)",
        [(member_id, name, value) for name, value in indexes],
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
    conn.execute("DELETE FROM member_contact_index WHERE member_id = ?", (member_id,))


def delete_member(conn: Connection, member_id: str) -> None:
    """Retention: an application nobody needs any more, with its decisions and indexes."""
    conn.execute("DELETE FROM membership_decisions WHERE member_id = ?", (member_id,))
    conn.execute("DELETE FROM members WHERE id = ?", (member_id,))
