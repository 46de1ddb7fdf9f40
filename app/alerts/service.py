"""Composing, publishing, editing and withdrawing alerts; the members' feed.

Plain functions over a connection. Alert text is stored under the database key only
(DESIGN.md): members read it. Identifiers are published only when a coordinator chose
each one; publishing fills the identifier index the number checker reads, and queues one
content-free notice per opted-in member in the alert's areas.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from itertools import pairwise

from flask_babel import lazy_gettext as _l

from app.alerts.index import clear_alert_identifiers, index_alert_identifiers
from app.common import choices, identifiers, validation
from app.common.clock import uk_today
from app.common.ids import new_id
from app.reports import records as report_records
from app.reports.records import ReportStatus
from app.vault import decision_notes, holders, log, outbox
from app.vault.db import Connection, Row, transaction
from crypto.blind_index import BlindIndexer
from crypto.keystore import ServerKeys


class AlertStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


MAX_TITLE_CHARS = 120
MAX_DESCRIPTION_CHARS = 5_000
MAX_IDENTIFIERS = 20


@dataclass(frozen=True)
class AlertDraft:
    title: str
    national: bool
    areas: Sequence[str]
    categories: Sequence[str]
    incident_date: str
    description: str
    identifiers: Sequence[tuple[str, str]]  # only those chosen for publication


class AlertInvalid(ValueError):
    def __init__(self, problems: dict[str, object]) -> None:
        super().__init__("invalid alert")
        self.problems = problems


@dataclass(frozen=True)
class Alert:
    id: str
    status: str
    version: int
    report_id: str | None
    created_at: str
    published_at: str | None
    withdrawn_at: str | None
    title: str = ""
    national: bool = False
    areas: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    incident_date: str = ""
    description: str = ""
    identifiers: tuple[dict[str, str], ...] = ()
    edited_at: str | None = None

    @property
    def updated_on(self) -> str | None:
        """The day (UTC) of the last edit made after publishing, if any.

        Members must see that a warning they may have read before has changed.
        """
        if self.published_at is None or self.edited_at is None:
            return None
        return self.edited_at[:10] if self.edited_at > self.published_at else None


def check_draft(draft: AlertDraft, today: date) -> AlertDraft:
    """The cleaned draft, or AlertInvalid with a message per field."""
    problems: dict[str, object] = {}
    cleaned: dict[str, object] = {}
    try:
        cleaned["title"] = validation.single_line(
            draft.title, max_chars=MAX_TITLE_CHARS,
            required_message=_l("Give the alert a short title."))
    except validation.Invalid as invalid:
        problems["title"] = invalid.message
    try:
        cleaned["description"] = validation.multi_line(
            draft.description, max_chars=MAX_DESCRIPTION_CHARS,
            required_message=_l("Describe what members need to know."))
    except validation.Invalid as invalid:
        problems["description"] = invalid.message
    if not draft.national:
        if not draft.areas:
            problems["areas"] = _l("Choose the areas, or all of the UK and Ireland.")
        elif not set(draft.areas) <= choices.values(choices.AREAS):
            problems["areas"] = _l("Choose from the areas listed.")
    if not draft.categories or not set(draft.categories) <= choices.values(
            choices.REPORT_CATEGORIES):
        problems["categories"] = _l("Choose at least one kind of incident.")
    try:
        incident = date.fromisoformat(draft.incident_date.strip())
        if incident > today:
            problems["incident_date"] = _l("That date is in the future.")
    except ValueError:
        problems["incident_date"] = _l("Enter the date like 2026-11-21 (year, month, day).")
    chosen = [(kind, value.strip()) for kind, value in draft.identifiers if value.strip()]
    if len(chosen) > MAX_IDENTIFIERS:
        problems["identifiers"] = _l("Publish at most %(count)d identifiers.",
                                     count=MAX_IDENTIFIERS)
    for kind, value in chosen:
        message = identifiers.check(kind, value)
        if message:
            problems["identifiers"] = message
            break
    if problems:
        raise AlertInvalid(problems)
    # Checked above, so each normalises; two spellings of one identifier become one.
    normal = [(kind, identifiers.normal_form(kind, value)) for kind, value in chosen]
    return AlertDraft(
        title=str(cleaned["title"]), national=draft.national,
        areas=() if draft.national else tuple(sorted(set(draft.areas))),
        categories=tuple(sorted(set(draft.categories))),
        incident_date=draft.incident_date.strip(), description=str(cleaned["description"]),
        identifiers=tuple(dict.fromkeys(normal)))


def create(conn: Connection, actor_id: str | None, now: datetime,
           report_id: str | None = None) -> str:
    alert_id = new_id()
    with transaction(conn):
        conn.execute("INSERT INTO alerts (id, report_id, status, created_at, created_by) "
                     "VALUES (?, ?, 'draft', ?, ?)",
                     (alert_id, report_id, now.isoformat(timespec="seconds"), actor_id))
    return alert_id


_SELECT = ("SELECT a.id, a.status, a.current_version, a.report_id, a.created_at, "
           "a.published_at, a.withdrawn_at, v.title, v.national, v.areas, v.categories, "
           "v.incident_date, v.description, v.identifiers, v.edited_at FROM alerts a "
           "LEFT JOIN alert_versions v ON v.alert_id = a.id AND v.version = a.current_version")


def _alert(row: Row) -> Alert:
    return Alert(
        id=row["id"], status=row["status"], version=row["current_version"],
        report_id=row["report_id"], created_at=row["created_at"],
        published_at=row["published_at"], withdrawn_at=row["withdrawn_at"],
        title=row["title"] or "", national=bool(row["national"]),
        areas=tuple(a for a in (row["areas"] or "").split(",") if a),
        categories=tuple(c for c in (row["categories"] or "").split(",") if c),
        incident_date=row["incident_date"] or "", description=row["description"] or "",
        identifiers=tuple(json.loads(row["identifiers"])) if row["identifiers"] else (),
        edited_at=row["edited_at"])


@dataclass(frozen=True)
class Change:
    """What one version changed from the one before, field by field (empty: unchanged)."""

    title: tuple[str, str] | None = None  # (before, after)
    description: bool = False  # the text changed (the page shows the new text)
    incident_date: tuple[str, str] | None = None
    national: tuple[bool, bool] | None = None
    areas_added: tuple[str, ...] = ()
    areas_removed: tuple[str, ...] = ()
    categories_added: tuple[str, ...] = ()
    categories_removed: tuple[str, ...] = ()
    identifiers_added: tuple[tuple[str, str], ...] = ()
    identifiers_removed: tuple[tuple[str, str], ...] = ()

    @property
    def nothing(self) -> bool:
        return self == Change()


@dataclass(frozen=True)
class AlertVersion:
    version: int
    edited_at: str
    edited_by: str | None
    title: str
    description: str = ""
    national: bool = False
    areas: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    incident_date: str = ""
    identifiers: tuple[tuple[str, str], ...] = ()
    change: Change | None = None  # None for the first version: nothing before it


def changes(before: AlertVersion, after: AlertVersion) -> Change:
    """Field by field, what `after` changed from `before`."""
    return Change(
        title=(before.title, after.title) if before.title != after.title else None,
        description=before.description != after.description,
        incident_date=((before.incident_date, after.incident_date)
                       if before.incident_date != after.incident_date else None),
        national=(before.national, after.national) if before.national != after.national
        else None,
        areas_added=tuple(a for a in after.areas if a not in before.areas),
        areas_removed=tuple(a for a in before.areas if a not in after.areas),
        categories_added=tuple(c for c in after.categories if c not in before.categories),
        categories_removed=tuple(c for c in before.categories if c not in after.categories),
        identifiers_added=tuple(i for i in after.identifiers if i not in before.identifiers),
        identifiers_removed=tuple(i for i in before.identifiers
                                  if i not in after.identifiers))


def get(conn: Connection, alert_id: str) -> Alert | None:
    row = conn.execute(_SELECT + " WHERE a.id = ?", (alert_id,)).fetchone()
    return _alert(row) if row else None


def all_alerts(conn: Connection) -> list[Alert]:
    return [_alert(r) for r in conn.execute(_SELECT + " ORDER BY a.created_at DESC, a.id")]


def _split(joined: str | None) -> tuple[str, ...]:
    return tuple(part for part in (joined or "").split(",") if part)


def versions(conn: Connection, alert_id: str) -> list[AlertVersion]:
    """Newest first: every version is kept, each with what it changed from the one before."""
    kept = [AlertVersion(
        version=row["version"], edited_at=row["edited_at"], edited_by=row["edited_by"],
        title=row["title"], description=row["description"], national=bool(row["national"]),
        areas=_split(row["areas"]), categories=_split(row["categories"]),
        incident_date=row["incident_date"],
        identifiers=tuple((i["kind"], i["value"]) for i in json.loads(row["identifiers"])))
        for row in conn.execute(
            "SELECT version, edited_at, edited_by, title, description, national, areas, "
            "categories, incident_date, identifiers FROM alert_versions WHERE alert_id = ? "
            "ORDER BY version", (alert_id,))]
    with_changes = [kept[0]] if kept else []
    with_changes += [replace(after, change=changes(before, after))
                     for before, after in pairwise(kept)]
    return list(reversed(with_changes))


def save(conn: Connection, indexer: BlindIndexer, alert_id: str, draft: AlertDraft,
         actor_id: str | None, now: datetime, *, notify_again: bool = False) -> int:
    """Check and store a new version; a published alert's index follows the new version.

    `notify_again` (a published alert only): members in the new version's areas get a
    notice again, as publishing gives one; each version's notices have their own keys, so
    an earlier notice does not stop this one.
    """
    checked = check_draft(draft, uk_today(now))
    with transaction(conn):
        row = conn.execute("SELECT status, current_version FROM alerts WHERE id = ?",
                           (alert_id,)).fetchone()
        if row is None or row["status"] == AlertStatus.WITHDRAWN:
            raise AlertInvalid({"title": _l("A withdrawn alert cannot be edited.")})
        version = row["current_version"] + 1
        conn.execute(
            "INSERT INTO alert_versions (alert_id, version, title, national, areas, "
            "categories, incident_date, description, identifiers, edited_by, edited_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (alert_id, version, checked.title, int(checked.national),
             ",".join(checked.areas), ",".join(checked.categories), checked.incident_date,
             checked.description,
             json.dumps([{"kind": k, "value": v} for k, v in checked.identifiers],
                        ensure_ascii=False),
             actor_id, now.isoformat(timespec="seconds")))
        conn.execute("UPDATE alerts SET current_version = ? WHERE id = ?", (version, alert_id))
        conn.execute("DELETE FROM alert_areas WHERE alert_id = ?", (alert_id,))
        conn.executemany("INSERT INTO alert_areas (alert_id, area) VALUES (?, ?)",
                         [(alert_id, area) for area in checked.areas])
        if row["status"] == AlertStatus.PUBLISHED:
            index_alert_identifiers(conn, indexer, alert_id, list(checked.identifiers))
            queued = 0
            if notify_again:
                edited = get(conn, alert_id)
                assert edited is not None
                queued = _queue_notices(conn, edited, now, f"alert:{alert_id}:v{version}")
            log.append(conn, log.alert_edited(at=now, actor=actor_id, alert_id=alert_id,
                                              version=version, notify_again=notify_again,
                                              notices=queued))
    return version


def _queue_notices(conn: Connection, alert: Alert, now: datetime, key_prefix: str) -> int:
    """One content-free notice per member who wants this alert's areas; how many queued."""
    queued = 0
    for member_id, channel in _recipients(conn, alert):
        queued += outbox.enqueue(conn, kind="alert", member_id=member_id, channel=channel,
                                 alert_id=alert.id, now=now,
                                 dedupe_key=f"{key_prefix}:{member_id}")
    return queued


def _recipients(conn: Connection, alert: Alert) -> list[tuple[str, str]]:
    """(member id, channel) of active members who want notices for this alert's areas."""
    if alert.national:
        rows = conn.execute("SELECT id, alert_channel FROM members WHERE status = 'active' "
                            "AND alert_channel IN ('email', 'sms')").fetchall()
    else:
        rows = conn.execute(
            "SELECT DISTINCT m.id, m.alert_channel FROM members m "
            "JOIN member_alert_areas ma ON ma.member_id = m.id "
            "JOIN alert_areas aa ON aa.area = ma.area AND aa.alert_id = ? "
            "WHERE m.status = 'active' AND m.alert_channel IN ('email', 'sms')",
            (alert.id,)).fetchall()
    return [(row["id"], row["alert_channel"]) for row in rows]


def publish(conn: Connection, indexer: BlindIndexer, alert_id: str, actor_id: str | None,
            now: datetime) -> int:
    """Publish the current version; returns how many notices were queued."""
    with transaction(conn):
        alert = get(conn, alert_id)
        if alert is None or alert.version == 0:
            raise AlertInvalid({"title": _l("Save the alert before publishing it.")})
        if alert.status != AlertStatus.DRAFT:
            raise AlertInvalid({"title": _l("Only a draft can be published.")})
        conn.execute("UPDATE alerts SET status = 'published', published_at = ? WHERE id = ?",
                     (now.isoformat(timespec="seconds"), alert_id))
        index_alert_identifiers(conn, indexer, alert_id,
                                [(i["kind"], i["value"]) for i in alert.identifiers])
        if alert.report_id:
            report_records.set_status(conn, alert.report_id, ReportStatus.ALERT_PUBLISHED)
        queued = _queue_notices(conn, alert, now, f"alert:{alert_id}")
        log.append(conn, log.alert_published(at=now, actor=actor_id, alert_id=alert_id,
                                             version=alert.version, report_id=alert.report_id,
                                             notices=queued))
    return queued


def withdraw(conn: Connection, alert_id: str, actor_id: str | None, now: datetime, *,
             keys: ServerKeys | None = None, reason: str = "", note: str = "",
             confirmed: bool = False) -> None:
    """Withdraw a published alert, with a confirmation, a listed reason and an optional
    note (sealed to the vetting key, so it needs `keys`). It can be undone (undo_withdrawal)
    until retention deletes it."""
    reason, text = validation.decision_inputs(
        reason, choices.values(choices.ALERT_WITHDRAW_REASONS), note, confirmed=confirmed)
    if text is not None and (keys is None or actor_id is None):
        raise ValueError("a note is sealed to the vetting key: pass the server's keys")
    with transaction(conn):
        withdrawn = conn.execute(
            "UPDATE alerts SET status = 'withdrawn', withdrawn_at = ? WHERE id = ? "
            "AND status = 'published'", (now.isoformat(timespec="seconds"), alert_id))
        if withdrawn.rowcount != 1:
            raise AlertInvalid({"title": _l("Only a published alert can be withdrawn.")})
        note_id = None if text is None or keys is None or actor_id is None \
            else decision_notes.add(conn, holders.vetting_recipient(conn, keys),
                                    event=log.Event.ALERT_WITHDRAWN,
                                    record=f"alerts/{alert_id}", actor_id=actor_id,
                                    text=text, now=now)
        log.append(conn, log.alert_withdrawn(at=now, actor=actor_id, alert_id=alert_id,
                                             reason=reason, note_id=note_id))
        clear_alert_identifiers(conn, alert_id)
        # Notices not yet sent would point at nothing: they are cancelled.
        outbox.cancel_pending(conn, alert_id=alert_id)


def undo_withdrawal(conn: Connection, keys: ServerKeys, indexer: BlindIndexer,
                    alert_id: str, actor_id: str, now: datetime, *, reason: str,
                    note: str = "", confirmed: bool = False) -> None:
    """Publish a withdrawn alert again, as the version it was withdrawn at.

    Its row is as it was before the withdrawal (published, first published_at kept) and
    the number checker finds its identifiers again. Notices cancelled by the withdrawal
    stay cancelled: members are not told a second time.
    """
    reason, text = validation.decision_inputs(
        reason, choices.values(choices.ALERT_UNDO_REASONS), note, confirmed=confirmed)
    with transaction(conn):
        alert = get(conn, alert_id)
        if alert is None or alert.status != AlertStatus.WITHDRAWN:
            raise AlertInvalid({"title": _l("Only a withdrawn alert can be published again.")})
        conn.execute("UPDATE alerts SET status = 'published', withdrawn_at = NULL "
                     "WHERE id = ? AND status = 'withdrawn'", (alert_id,))
        index_alert_identifiers(conn, indexer, alert_id,
                                [(i["kind"], i["value"]) for i in alert.identifiers])
        note_id = None if text is None else decision_notes.add(
            conn, holders.vetting_recipient(conn, keys),
            event=log.Event.ALERT_WITHDRAWAL_UNDONE, record=f"alerts/{alert_id}",
            actor_id=actor_id, text=text, now=now)
        log.append(conn, log.alert_withdrawal_undone(at=now, actor=actor_id,
                                                     alert_id=alert_id, version=alert.version,
                                                     reason=reason, note_id=note_id))


@dataclass(frozen=True)
class StatusChange:
    """A withdrawal or its undo, for the version history: when, which, and why (a code)."""

    at: str
    event: str
    reason: str | None
    note_id: str | None = None  # its sealed note, read through the coordinator's note page


def status_changes(conn: Connection, alert_id: str) -> list[StatusChange]:
    """Withdrawals and their undoing, oldest first, as the disclosure log records them."""
    found = log.for_record(conn, f"alerts/{alert_id}",
                           (log.Event.ALERT_WITHDRAWN, log.Event.ALERT_WITHDRAWAL_UNDONE))
    changes = []
    for body in found:
        reason = body.get("reason")
        note = body.get("note")
        changes.append(StatusChange(at=str(body["at"]), event=str(body["event"]),
                                    reason=reason if isinstance(reason, str) else None,
                                    note_id=note.removeprefix("decision_notes/")
                                    if isinstance(note, str) else None))
    return changes


def member_areas(conn: Connection, member_id: str) -> list[str]:
    return [r["area"] for r in conn.execute(
        "SELECT area FROM member_alert_areas WHERE member_id = ? ORDER BY area", (member_id,))]


def set_member_areas(conn: Connection, member_id: str, areas: Sequence[str]) -> None:
    if not set(areas) <= choices.values(choices.AREAS):
        raise ValueError("unknown area")
    with transaction(conn):
        conn.execute("DELETE FROM member_alert_areas WHERE member_id = ?", (member_id,))
        conn.executemany("INSERT INTO member_alert_areas (member_id, area) VALUES (?, ?)",
                         [(member_id, a) for a in sorted(set(areas))])


FEED_PAGE_SIZE = 20
# Past any real feed; keeps OFFSET arithmetic small whatever number a URL carries.
MAX_FEED_PAGE = 100_000

# Published alerts a member's feed shows: national ones, those for one of the member's
# areas, or every one if the member chose no areas. Parameters: member id, twice.
_FEED_WHERE = (
    " WHERE a.status = 'published' AND ("
    "v.national = 1"
    " OR NOT EXISTS (SELECT 1 FROM member_alert_areas WHERE member_id = ?)"
    " OR EXISTS (SELECT 1 FROM alert_areas aa JOIN member_alert_areas ma"
    " ON ma.area = aa.area AND ma.member_id = ? WHERE aa.alert_id = a.id))")


@dataclass(frozen=True)
class FeedEntry:
    """What names one alert's card exactly: a new version or publication is a new card."""

    id: str
    version: int
    published_at: str
    edited_at: str | None


@dataclass(frozen=True)
class FeedPage:
    entries: list[FeedEntry]
    number: int  # from 1
    has_next: bool  # an older page exists


def feed_page(conn: Connection, member_id: str, number: int,
              per_page: int = FEED_PAGE_SIZE) -> FeedPage:
    """One page of the member's feed, newest first. A page number below 1 reads as 1;
    one past the end shows no alerts (the page says so and links back).

    A member who has chosen no areas sees every published alert: missing a warning is
    worse than reading one from elsewhere. Only the page's (published_at, id) pairs are
    sorted and only what names each card is read, so the feed costs little more with
    2,000 alerts than with 20; the cards' text is read by published_alerts, and only for
    cards not already rendered. No total is counted.
    """
    number = max(1, min(number, MAX_FEED_PAGE))
    rows = conn.execute(
        "SELECT a.id, a.current_version, a.published_at, v.edited_at FROM alerts a "  # noqa: S608  # constant SQL
        "JOIN alert_versions v ON v.alert_id = a.id AND v.version = a.current_version"
        + _FEED_WHERE + " ORDER BY a.published_at DESC, a.id LIMIT ? OFFSET ?",
        (member_id, member_id, per_page + 1, (number - 1) * per_page)).fetchall()
    entries = [FeedEntry(id=row["id"], version=row["current_version"],
                         published_at=row["published_at"], edited_at=row["edited_at"])
               for row in rows[:per_page]]
    return FeedPage(entries=entries, number=number, has_next=len(rows) > per_page)


def published_alerts(conn: Connection, ids: list[str]) -> dict[str, Alert]:
    """The published alerts among `ids`, by id (a withdrawn one is simply absent)."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))  # placeholders only: the ids are bound
    rows = conn.execute(_SELECT + f" WHERE a.id IN ({marks}) AND a.status = 'published'",
                        ids).fetchall()
    return {row["id"]: _alert(row) for row in rows}


def purge_withdrawn(conn: Connection, withdrawn_before: datetime) -> int:
    """Retention: withdrawn alerts past their keeping time (versions and index cascade)."""
    return int(conn.execute("DELETE FROM alerts WHERE status = 'withdrawn' AND withdrawn_at < ?",
                            (withdrawn_before.isoformat(timespec="seconds"),)).rowcount)
