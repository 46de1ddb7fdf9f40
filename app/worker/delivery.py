"""Turning outbox rows into notices: the only code that opens contact envelopes.

Each run takes a batch of due rows. Before any contact envelope is opened, one
disclosure-log entry per (kind of notice, alert) in the batch records the purpose and how
many members, never who; that entry commits in the same transaction that claims the rows
and opens the envelopes. Then each notice is sent and its row marked sent.

Delivery is at least once, made idempotent where the far end allows: a row claimed but
not marked sent when the worker dies (killed mid-send) is sent again on restart with the
same idempotency key, which becomes the email's Message-ID and the webhook's
Idempotency-Key. Only the one notice in flight at the moment of death can be repeated.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from crypto.errors import EnvelopeError, NormalisationError
from crypto.keys import BoxPrivateKey
from crypto.normalise import normalise_phone

from .. import disclosure_log
from ..db import Connection, transaction
from ..delivery import DeliveryError, DeliverySettings, Notice
from ..sealing import open_group

log = logging.getLogger("uglymugs.worker")

MAX_ATTEMPTS = 8
_BACKOFF_FIRST = timedelta(seconds=30)
_BACKOFF_MAX = timedelta(hours=6)

_ACCOUNT_MESSAGE = ("There is a message for you in your Ugly Mugs account. Please sign in to "
                    "read it.")
SUBJECTS = {
    "alert": "New Ugly Mugs alert",
    "approval": "Your Ugly Mugs membership",
    "reset": "Your Ugly Mugs reset code",
    "disclosure": "A message from Ugly Mugs",
    "message": "A message from Ugly Mugs",
}
BODIES = {
    "alert": "There is a new Ugly Mugs alert for your area. Sign in to read it.",
    "approval": ("Your Ugly Mugs membership is approved. Sign in with the username you were "
                 "given when you applied."),
    "reset": ("Your Ugly Mugs password reset code is {code}. It works for 30 minutes. If you "
              "did not ask for it, you can ignore this message."),
    "disclosure": _ACCOUNT_MESSAGE,
    "message": _ACCOUNT_MESSAGE,
}


@dataclass
class Courier:
    """What delivery needs: the delivery key and the channels. Lives only in the worker."""

    key: BoxPrivateKey
    channels: Mapping[str, object]
    rates: Mapping[str, object]
    settings: DeliverySettings = field(default_factory=DeliverySettings)

    def __repr__(self) -> str:
        return f"Courier(key={self.key.fingerprint}, channels={sorted(self.channels)})"


@dataclass
class RunResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed + self.cancelled


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    member_id: str
    alert_id: str | None
    channel: str
    attempts: int
    dedupe_key: str


def _backoff(attempts: int) -> timedelta:
    return min(_BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), _BACKOFF_MAX)


def _claim(conn: Connection, courier: Courier, now: datetime, batch_size: int
           ) -> list[tuple[_Claimed, Notice | None, str | None]]:
    """Claim due rows, log the batch, open what each notice needs: one transaction."""
    stamp = now.isoformat(timespec="seconds")
    with transaction(conn):
        rows = [_Claimed(*r) for r in conn.execute(
            "SELECT id, kind, member_id, alert_id, channel, attempts, dedupe_key FROM outbox "
            "WHERE status IN ('pending', 'sending') AND next_attempt_at <= ? "
            "ORDER BY id LIMIT ?", (stamp, batch_size))]
        if not rows:
            return []
        groups: dict[tuple[str, str | None], list[_Claimed]] = defaultdict(list)
        for row in rows:
            groups[(row.kind, row.alert_id)].append(row)
        for (kind, alert_id), members in sorted(groups.items(), key=lambda g: str(g[0])):
            disclosure_log.append(conn, {
                "at": stamp,
                "actor": "worker",
                "purpose": "alert_delivery",
                "event": f"deliver_{kind}",
                "records": [f"alerts/{alert_id}"] if alert_id else [],
                "member_count": len(members),
                "fields": sorted({"contact.email" if m.channel == "email" else "contact.mobile"
                                  for m in members}),
            })
        ids = [row.id for row in rows]
        conn.execute(f"UPDATE outbox SET status = 'sending' WHERE id IN "  # noqa: S608
                     f"({','.join('?' * len(ids))})", ids)
        contacts = dict(conn.execute(
            f"SELECT id, contact FROM members WHERE id IN "  # noqa: S608
            f"({','.join('?' * len(rows))})", [r.member_id for r in rows]).fetchall())
        payloads = dict(conn.execute(
            f"SELECT id, payload FROM outbox WHERE id IN "  # noqa: S608
            f"({','.join('?' * len(ids))}) AND payload IS NOT NULL", ids).fetchall())
        titles = _titles(conn, {r.alert_id for r in rows if r.alert_id})
        return [_compose(row, contacts.get(row.member_id), payloads.get(row.id), courier,
                         titles) for row in rows]


def _titles(conn: Connection, alert_ids: set[str]) -> dict[str, str]:
    if not alert_ids:
        return {}
    placeholders = ",".join("?" * len(alert_ids))
    query = ("SELECT a.id, v.title FROM alerts a JOIN alert_versions v "  # noqa: S608
             "ON v.alert_id = a.id AND v.version = a.current_version "
             f"WHERE a.id IN ({placeholders})")
    return dict(conn.execute(query, sorted(alert_ids)).fetchall())


def _compose(row: _Claimed, sealed_contact: bytes | None, sealed_payload: bytes | None,
             courier: Courier, titles: Mapping[str, str]
             ) -> tuple[_Claimed, Notice | None, str | None]:
    """(row, notice, reason it cannot be sent)."""
    if sealed_contact is None:
        return row, None, "member has left"
    try:
        contact = open_group("members", "contact", row.member_id, bytes(sealed_contact),
                             courier.key)
    except EnvelopeError:
        return row, None, "contact not sealed for delivery"
    to = (contact.get("email") or contact.get("org_email")) if row.channel == "email" \
        else contact.get("mobile")
    if not to:
        return row, None, "no address for the channel"
    if row.channel == "sms":
        try:
            to = normalise_phone(to)  # stored E.164 already; older rows may not be
        except NormalisationError:
            return row, None, "mobile number unusable"
    body = BODIES[row.kind]
    if row.kind == "reset":
        if sealed_payload is None:
            return row, None, "reset code missing"
        try:
            code = open_group("outbox", "payload", str(row.id), bytes(sealed_payload),
                              courier.key)["code"]
        except (EnvelopeError, KeyError):
            return row, None, "reset code unreadable"
        body = body.format(code=code)
    if row.kind == "alert" and courier.settings.notice_includes_title and row.alert_id:
        body = f"{body}\n\n{titles.get(row.alert_id, '')}".rstrip()
    return row, Notice(to=to, subject=SUBJECTS[row.kind], body=body,
                       idempotency_key=row.dedupe_key), None


def _finish(conn: Connection, row: _Claimed, now: datetime, *, sent: bool = False,
            error: DeliveryError | None = None, cancel: str | None = None) -> str:
    stamp = now.isoformat(timespec="seconds")
    with transaction(conn):
        if sent:
            conn.execute("UPDATE outbox SET status = 'sent', sent_at = ?, attempts = ? "
                         "WHERE id = ?", (stamp, row.attempts + 1, row.id))
            return "sent"
        if cancel is not None:
            conn.execute("UPDATE outbox SET status = 'cancelled', last_error = ? WHERE id = ?",
                         (cancel, row.id))
            return "cancelled"
        assert error is not None
        attempts = row.attempts + 1
        if error.permanent or attempts >= MAX_ATTEMPTS:
            conn.execute("UPDATE outbox SET status = 'failed', attempts = ?, last_error = ? "
                         "WHERE id = ?", (attempts, str(error)[:120], row.id))
            return "failed"
        conn.execute("UPDATE outbox SET status = 'pending', attempts = ?, last_error = ?, "
                     "next_attempt_at = ? WHERE id = ?",
                     (attempts, str(error)[:120],
                      (now + _backoff(attempts)).isoformat(timespec="seconds"), row.id))
        return "retrying"


def deliver_due(conn: Connection, courier: Courier, now: datetime,
                batch_size: int = 100) -> RunResult:
    """Send one batch of due notices; returns what happened to each."""
    result = RunResult()
    for row, notice, problem in _claim(conn, courier, now, batch_size):
        if notice is None:
            outcome = _finish(conn, row, now, cancel=problem)
        else:
            channel = courier.channels[row.channel]
            try:
                courier.rates[row.channel].wait()  # type: ignore[attr-defined]
                channel.send(notice)  # type: ignore[attr-defined]
            except DeliveryError as error:
                outcome = _finish(conn, row, now, error=error)
            else:
                outcome = _finish(conn, row, now, sent=True)
        setattr(result, outcome, getattr(result, outcome) + 1)
    if result.handled:
        log.info("delivery run: %d sent, %d retrying, %d failed, %d cancelled",
                 result.sent, result.retrying, result.failed, result.cancelled)
    return result


def deliver_all_due(conn: Connection, courier: Courier, clock: object,
                    batch_size: int = 100) -> RunResult:
    """Batches until nothing is due (for --once and tests)."""
    total = RunResult()
    while True:
        run = deliver_due(conn, courier, clock(), batch_size)  # type: ignore[operator]
        for name in ("sent", "retrying", "failed", "cancelled"):
            setattr(total, name, getattr(total, name) + getattr(run, name))
        if run.handled == 0:  # retried rows wait for their backoff, so this ends
            return total
