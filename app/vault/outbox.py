"""The outbox: notices waiting for the worker, one row per (purpose, member), never an address.

This module owns every write to the `outbox` table. The web process enqueues; only the
worker, which holds the delivery key, claims rows, and claiming is the second door
through which plaintext leaves the vault (app/vault/unseal.py is the first): the batch's
disclosure-log entry is written in the same transaction that claims the rows, before any
contact envelope is opened. Enqueueing is idempotent on `dedupe_key`, so publishing
twice or a retry of the request never queues a second notice for the same member.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.common.clock import stamp
from app.vault import log
from app.vault.db import Connection, Row, transaction
from app.vault.opening import open_group
from app.vault.sealing import seal_group
from crypto.errors import EnvelopeError
from crypto.keys import BoxPrivateKey
from crypto.keystore import ServerKeys


class NoticeKind(StrEnum):
    ALERT = "alert"
    APPROVAL = "approval"
    RESET = "reset"
    DISCLOSURE = "disclosure"
    MESSAGE = "message"


class NoticeStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


PUSH_CHANNELS = (Channel.EMAIL.value, Channel.SMS.value)


def _placeholders(values: Iterable[object]) -> str:
    return ",".join("?" for _ in values)


def enqueue(conn: Connection, *, kind: str, member_id: str, channel: str, dedupe_key: str,
            now: datetime, alert_id: str | None = None, secret: str | None = None,
            keys: ServerKeys | None = None) -> bool:
    """Queue one notice; returns False when that notice was already queued.

    A `secret` (a reset code) is sealed to the delivery key, so the database never holds
    it in a form the web process or a database thief can read. Must run in a transaction.
    """
    if channel not in PUSH_CHANNELS:
        raise ValueError(f"cannot deliver over {channel!r}")
    cursor = conn.execute(
        "INSERT OR IGNORE INTO outbox (dedupe_key, kind, member_id, alert_id, channel, "
        "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (dedupe_key, NoticeKind(kind).value, member_id, alert_id, channel, stamp(now),
         stamp(now)))
    if cursor.rowcount == 1 and secret is not None:
        if keys is None:
            raise ValueError("sealing a secret needs the server's keys")
        row_id = str(cursor.lastrowid)
        conn.execute("UPDATE outbox SET payload = ? WHERE id = ?",
                     (seal_group("outbox", "payload", row_id, {"code": secret},
                                 [keys.delivery_public]), cursor.lastrowid))
    return bool(cursor.rowcount == 1)


def enqueue_for_member(conn: Connection, *, kind: str, member_id: str, dedupe_key: str,
                       now: datetime, alert_id: str | None = None,
                       applicant: bool = False) -> bool:
    """Queue a content-free notice over the member's chosen channel, if they chose one.

    `applicant`: the notice is for an application still open (a coordinator's question),
    so a membership not yet active is told too.
    """
    statuses = ("pending", "info_requested") if applicant else ("active",)
    query = ("SELECT alert_channel FROM members WHERE id = ? "  # noqa: S608 (placeholders only)
             f"AND status IN ({_placeholders(statuses)})")
    row = conn.execute(query, (member_id, *statuses)).fetchone()
    if row is None or row["alert_channel"] not in PUSH_CHANNELS:
        return False
    return enqueue(conn, kind=kind, member_id=member_id, channel=row["alert_channel"],
                   dedupe_key=dedupe_key, now=now, alert_id=alert_id)


def cancel_pending(conn: Connection, *, kind: str | None = None, member_id: str | None = None,
                   alert_id: str | None = None) -> int:
    """Cancel notices not yet sent, of one kind for one member, or for one alert."""
    if alert_id is not None:
        cursor = conn.execute("UPDATE outbox SET status = 'cancelled', payload = NULL "
                              "WHERE alert_id = ? AND status = 'pending'", (alert_id,))
    elif kind is not None and member_id is not None:
        cursor = conn.execute("UPDATE outbox SET status = 'cancelled', payload = NULL "
                              "WHERE kind = ? AND member_id = ? AND status = 'pending'",
                              (NoticeKind(kind).value, member_id))
    else:
        raise ValueError("cancel notices of an alert, or of one kind for one member")
    return int(cursor.rowcount)


@dataclass(frozen=True)
class Claimed:
    """A due notice, claimed, with what the worker needs to send it (or why it cannot)."""

    id: int
    kind: str
    member_id: str
    alert_id: str | None
    channel: str
    attempts: int
    dedupe_key: str
    contact: dict[str, str] | None = None
    code: str | None = None
    problem: str | None = None

    def __repr__(self) -> str:  # a claimed notice is logged by id; never its contact
        return f"Claimed(id={self.id}, kind={self.kind!r}, channel={self.channel!r})"


def _open(row: Row, sealed_contact: object, sealed_payload: object,
          key: BoxPrivateKey) -> Claimed:
    facts = {name: row[name] for name in ("id", "kind", "member_id", "alert_id", "channel",
                                          "attempts", "dedupe_key")}
    if not isinstance(sealed_contact, bytes):
        return Claimed(**facts, problem="member has left")
    try:
        contact = open_group("members", "contact", row["member_id"], sealed_contact, key)
    except EnvelopeError:
        return Claimed(**facts, problem="contact not sealed for delivery")
    code = None
    if row["kind"] == NoticeKind.RESET:
        if not isinstance(sealed_payload, bytes):
            return Claimed(**facts, problem="reset code missing")
        try:
            code = open_group("outbox", "payload", str(row["id"]), sealed_payload,
                              key)["code"]
        except (EnvelopeError, KeyError):
            return Claimed(**facts, problem="reset code unreadable")
    return Claimed(**facts, contact=contact, code=code)


def claim_due(conn: Connection, key: BoxPrivateKey, now: datetime,
              batch_size: int) -> list[Claimed]:
    """Claim due rows, log each batch, open what each notice needs: one transaction.

    One disclosure-log entry per (kind of notice, alert) records the purpose and how
    many members, never who; it is written before any envelope opens, and if anything
    fails the claim, the entry and every opened value roll back together.
    """
    with transaction(conn):
        rows = conn.execute(
            "SELECT id, kind, member_id, alert_id, channel, attempts, dedupe_key FROM outbox "
            "WHERE status IN ('pending', 'sending') AND next_attempt_at <= ? "
            "ORDER BY id LIMIT ?", (stamp(now), batch_size)).fetchall()
        if not rows:
            return []
        groups: dict[tuple[str, str | None], list[Row]] = defaultdict(list)
        for row in rows:
            groups[(row["kind"], row["alert_id"])].append(row)
        for (kind, alert_id), members in sorted(groups.items(), key=lambda g: str(g[0])):
            log.append(conn, log.delivery_batch(
                at=now, kind=kind, alert_id=alert_id, member_count=len(members),
                fields=["contact.email" if m["channel"] == "email" else "contact.mobile"
                        for m in members]))
        ids = [row["id"] for row in rows]
        member_ids = [row["member_id"] for row in rows]
        conn.execute(f"UPDATE outbox SET status = 'sending' "  # noqa: S608
                     f"WHERE id IN ({_placeholders(ids)})", ids)
        contacts = {r["id"]: r["contact"] for r in conn.execute(
            f"SELECT id, contact FROM members "  # noqa: S608
            f"WHERE id IN ({_placeholders(member_ids)})", member_ids)}
        payloads = {r["id"]: r["payload"] for r in conn.execute(
            f"SELECT id, payload FROM outbox WHERE id IN ({_placeholders(ids)}) "  # noqa: S608
            "AND payload IS NOT NULL", ids)}
        return [_open(row, contacts.get(row["member_id"]), payloads.get(row["id"]), key)
                for row in rows]


@contextmanager
def batch_of_marks(conn: Connection) -> Iterator[None]:
    """The marks of one batch: each committed with synchronous = FULL, as every write is.

    A faster variant (NORMAL inside a batch, one WAL fsync at its end) was measured, but a
    power cut could then repeat a whole batch of notices, and the worker's connection may
    not change pragmas at all (app/vault/db.service_authorizer): durability wins. Kept as
    a context so delivery reads as batches and a later, safe grouping has one place to go.
    """
    del conn  # every mark commits on its own; nothing to set up or undo
    yield


def mark_sent(conn: Connection, notice: Claimed, now: datetime) -> None:
    with transaction(conn):
        # A reset code it carried is erased with the sending: the worker's passphrase is
        # on the server, so a code kept sealed to it would be readable to a server holder.
        conn.execute("UPDATE outbox SET status = 'sent', sent_at = ?, attempts = ?, "
                     "payload = NULL WHERE id = ?", (stamp(now), notice.attempts + 1, notice.id))


def mark_cancelled(conn: Connection, notice: Claimed, reason: str) -> None:
    with transaction(conn):
        conn.execute("UPDATE outbox SET status = 'cancelled', last_error = ?, payload = NULL "
                     "WHERE id = ?", (reason, notice.id))


def mark_failed(conn: Connection, notice: Claimed, error: str) -> None:
    with transaction(conn):
        conn.execute("UPDATE outbox SET status = 'failed', attempts = ?, last_error = ?, "
                     "payload = NULL WHERE id = ?", (notice.attempts + 1, error[:120], notice.id))


def mark_retry(conn: Connection, notice: Claimed, error: str, at: datetime) -> None:
    with transaction(conn):
        conn.execute("UPDATE outbox SET status = 'pending', attempts = ?, last_error = ?, "
                     "next_attempt_at = ? WHERE id = ?",
                     (notice.attempts + 1, error[:120], stamp(at), notice.id))


def purge_finished(conn: Connection, created_before: datetime) -> int:
    """Delete sent, failed and cancelled notices (they tie member ids to times)."""
    return int(conn.execute(
        "DELETE FROM outbox WHERE status IN ('sent', 'failed', 'cancelled') "
        "AND created_at < ?", (stamp(created_before),)).rowcount)


def erase_expired_secrets(conn: Connection, created_before: datetime) -> int:
    """Erase the secret of every notice no longer waiting, or queued before `created_before`
    (a code past its life); a notice still waiting with such a code is cancelled, as a code
    that no longer works is not sent. Only someone reading the outbox with the worker's
    passphrase could use what is erased here."""
    with transaction(conn):
        return int(conn.execute(
            "UPDATE outbox SET payload = NULL, status = CASE WHEN status IN "
            "('pending', 'sending') THEN 'cancelled' ELSE status END, last_error = CASE "
            "WHEN status IN ('pending', 'sending') THEN 'expired' ELSE last_error END "
            "WHERE payload IS NOT NULL AND (status NOT IN ('pending', 'sending') "
            "OR created_at < ?)", (stamp(created_before),)).rowcount)
