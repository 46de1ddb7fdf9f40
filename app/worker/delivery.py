"""Turning outbox rows into notices and sending them.

Each run claims a batch of due rows through app/vault/outbox.claim_due, which writes one
disclosure-log entry per (kind of notice, alert) before it opens any contact envelope,
in the transaction that claims the rows. Then each notice is sent and its row marked:
each mark commits on one writer thread while the next notice's SMTP commands go out, and
the relay is not given that next notice's final dot until the mark is on disk.

Delivery is at least once, made idempotent where the far end allows: a row claimed but
not marked sent when the worker dies (killed mid-send) is sent again on restart with the
same idempotency key, which becomes the email's Message-ID and the webhook's
Idempotency-Key. Only the one notice in flight at the moment of death can be repeated.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from babel import support

from app.auth import accounts, reset
from app.common.languages import SOURCE, supported
from app.delivery import DeliveryError, DeliverySettings, Notice
from app.vault import outbox
from app.vault.db import Connection, transaction
from crypto.errors import NormalisationError
from crypto.keys import BoxPrivateKey
from crypto.normalise import normalise_phone

log = logging.getLogger("uglymugs.worker")

MAX_ATTEMPTS = 8
_BACKOFF_FIRST = timedelta(seconds=30)
_BACKOFF_MAX = timedelta(hours=6)


def N_(message: str) -> str:  # the name pybabel extracts by default, as gettext_noop
    """Marks a notice's text for the catalogues; it is translated when a notice is composed."""
    return message


# Subjects and texts show on lock screens and in notification previews, often to someone
# else holding the phone: they name no scheme and say nothing of what a notice is about.
_ACCOUNT_MESSAGE = N_("There is a new message in your account. Please sign in to read it.")
SUBJECTS = {
    "alert": N_("Something new for you"),
    "approval": N_("Your account"),
    "reset": N_("Your code"),
    "disclosure": N_("A new message"),
    "message": N_("A new message"),
}
BODIES = {
    "alert": N_("There is something new for you. Please sign in to read it."),
    "approval": N_("Your account is ready. Sign in with the username you were given."),
    "reset": N_("Your code is {code}. It works for 30 minutes. If you did not ask for it, "
                "you can ignore this message."),
    "disclosure": _ACCOUNT_MESSAGE,
    "message": _ACCOUNT_MESSAGE,
}


class NoticeLanguages:
    """The compiled catalogues, read without Flask: the worker has no request to ask.

    Each language is loaded once per worker; one without a catalogue falls back to the
    source text, so a missing .mo can delay a translation but never a notice.
    """

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._loaded: dict[str, support.NullTranslations] = {}

    def gettext(self, locale: str | None, message: str) -> str:
        if self.directory is None or not supported(locale) or locale == SOURCE:
            return message
        assert locale is not None
        if locale not in self._loaded:
            self._loaded[locale] = support.Translations.load(
                str(self.directory), [locale], domain="messages")
        return str(self._loaded[locale].gettext(message))


@dataclass
class Courier:
    """What delivery needs: the delivery key and the channels. Lives only in the worker."""

    key: BoxPrivateKey
    channels: Mapping[str, object]
    rates: Mapping[str, object]
    settings: DeliverySettings = field(default_factory=DeliverySettings)
    # translations/ (Config.translations_path); None sends every notice in English.
    languages: NoticeLanguages = field(default_factory=lambda: NoticeLanguages(None))

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


def _backoff(attempts: int) -> timedelta:
    return min(_BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), _BACKOFF_MAX)


def _titles(conn: Connection, alert_ids: set[str]) -> dict[str, str]:
    if not alert_ids:
        return {}
    placeholders = ",".join("?" * len(alert_ids))
    query = ("SELECT a.id, v.title FROM alerts a JOIN alert_versions v "  # noqa: S608
             "ON v.alert_id = a.id AND v.version = a.current_version "
             f"WHERE a.id IN ({placeholders})")
    return {row["id"]: row["title"] for row in conn.execute(query, sorted(alert_ids))}


def outward_key(key: BoxPrivateKey, dedupe_key: str) -> str:
    """The idempotency key the far end sees (a Message-ID, a webhook header).

    The same for every retry of one notice, but derived under the delivery key, so it
    names no member, alert or account: a mail provider or gateway learns nothing from it.
    """
    return "n" + key.tag("um-notice-id", dedupe_key.encode("utf-8")).hex()


def _compose(claimed: outbox.Claimed, settings: DeliverySettings, key: BoxPrivateKey,
             titles: Mapping[str, str], languages: NoticeLanguages,
             locale: str | None) -> tuple[Notice | None, str | None]:
    """(notice, reason it cannot be sent)."""
    if claimed.problem is not None or claimed.contact is None:
        return None, claimed.problem or "contact unreadable"
    contact = claimed.contact
    to = (contact.get("email") or contact.get("org_email")) if claimed.channel == "email" \
        else contact.get("mobile")
    if not to:
        return None, "no address for the channel"
    if claimed.channel == "sms":
        try:
            to = normalise_phone(to)  # stored E.164 already; older rows may not be
        except NormalisationError:
            return None, "mobile number unusable"
    body = languages.gettext(locale, BODIES[claimed.kind])
    if claimed.kind == "reset":
        body = body.format(code=claimed.code)
    if claimed.kind == "alert" and settings.notice_includes_title and claimed.alert_id:
        body = f"{body}\n\n{titles.get(claimed.alert_id, '')}".rstrip()
    subject = languages.gettext(locale, SUBJECTS[claimed.kind])
    return Notice(to=to, subject=subject, body=body,
                  idempotency_key=outward_key(key, claimed.dedupe_key)), None


def _after_error(conn: Connection, claimed: outbox.Claimed, error: DeliveryError,
                 now: datetime) -> str:
    attempts = claimed.attempts + 1
    if error.permanent or attempts >= MAX_ATTEMPTS:
        outbox.mark_failed(conn, claimed, str(error))
        return "failed"
    outbox.mark_retry(conn, claimed, str(error), now + _backoff(attempts))
    return "retrying"


def _send_each(conn: Connection, courier: Courier, channel_name: str,
               notices: list[tuple[outbox.Claimed, Notice]], now: datetime,
               marker: ThreadPoolExecutor) -> RunResult:
    """One channel's notices in order, each mark committing while the next is sent.

    A mark commits on its own (synchronous = FULL, one fsync) on `marker`, the batch's one
    writer thread (every channel's marks go through it, so no two threads ever write on
    the shared connection at once), so the disk and the relay work at the same time. It
    still reaches the disk before the relay can accept the next notice: an email channel
    (`send_after`) waits for it just before the final dot of DATA, any other channel
    before it sends. So a kill -9 leaves at most the one notice in flight sent and
    unrecorded, as when every mark came first: that one is sent again on restart under the
    same idempotency key (at least once).
    """
    result = RunResult()
    channel = courier.channels[channel_name]
    rate = courier.rates[channel_name]
    send_after = getattr(channel, "send_after", None)
    marked: Future[str] | None = None

    def ready() -> None:
        if marked is not None:
            marked.result()  # re-raises a failed commit: nothing more is sent

    outcomes: list[Future[str]] = []
    for claimed, notice in notices:
        try:
            rate.wait()  # type: ignore[attr-defined]
            if send_after is not None:
                send_after(notice, ready)
            else:
                ready()
                channel.send(notice)  # type: ignore[attr-defined]
        except DeliveryError as error:
            marked = marker.submit(_after_error, conn, claimed, error, now)
        else:
            marked = marker.submit(_mark_sent, conn, claimed, now)
        outcomes.append(marked)
    for outcome in outcomes:
        name = outcome.result()
        setattr(result, name, getattr(result, name) + 1)
    return result


def _mark_sent(conn: Connection, claimed: outbox.Claimed, now: datetime) -> str:
    outbox.mark_sent(conn, claimed, now)
    return "sent"


def deliver_due(conn: Connection, courier: Courier, now: datetime,
                batch_size: int = 100) -> RunResult:
    """Send one batch of due notices; returns what happened to each.

    Each channel keeps one connection open for the batch (EmailChannel reuses its SMTP
    session and reconnects if the relay drops it), and the channels send at the same
    time, each on its own thread and at its own rate: texts never wait behind emails.
    """
    result = RunResult()
    # Reset codes past their life leave the outbox before anything is claimed, so no
    # expired code is sent and none stays sealed to the delivery key (the server's).
    with transaction(conn):
        outbox.erase_expired_secrets(conn, now - reset.CODE_LIFETIME)
    claimed_batch = outbox.claim_due(conn, courier.key, now, batch_size)
    if not claimed_batch:
        return result
    titles = _titles(conn, {c.alert_id for c in claimed_batch if c.alert_id})
    locales = accounts.notice_locales(conn, [c.member_id for c in claimed_batch])
    by_channel: dict[str, list[tuple[outbox.Claimed, Notice]]] = {}
    with outbox.batch_of_marks(conn), ExitStack() as held:
        for claimed in claimed_batch:
            notice, problem = _compose(claimed, courier.settings, courier.key, titles,
                                       courier.languages, locales.get(claimed.member_id))
            if notice is None:
                outbox.mark_cancelled(conn, claimed, problem or "cannot be sent")
                result.cancelled += 1
            else:
                by_channel.setdefault(claimed.channel, []).append((claimed, notice))
        for name in by_channel:
            channel = courier.channels[name]
            if hasattr(channel, "__enter__"):
                held.enter_context(channel)  # type: ignore[arg-type]
        marker = held.enter_context(
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="uglymugs-mark"))
        with ThreadPoolExecutor(max_workers=max(1, len(by_channel)),
                                thread_name_prefix="uglymugs-send") as pool:
            runs = [pool.submit(_send_each, conn, courier, name, notices, now, marker)
                    for name, notices in sorted(by_channel.items())]
            for run in runs:
                done = run.result()
                for name in ("sent", "retrying", "failed", "cancelled"):
                    setattr(result, name, getattr(result, name) + getattr(done, name))
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
