"""The vetting queue and opening an application beside its possible duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.common.clock import UK, business_hours_between, stamp
from app.membership import records
from app.membership.records import duplicate_candidates
from app.vault import contact_index
from app.vault.contact_index import ContactIndexer
from app.vault.db import Connection, Row, transaction
from app.vault.sealing import SEALED_PLACES
from app.vault.unseal import UnsealRequest, unseal
from crypto.keys import BoxPrivateKey

IDENTITY_FIELDS = ("work_name", "real_name", "org_name", "org_website", "key_contact",
                   "org_description")
CONTACT_FIELDS = ("email", "mobile", "org_email")
CHANGE_FIELDS = ("org_website", "key_contact")
assert set(IDENTITY_FIELDS) == SEALED_PLACES[("members", "identity")]
assert set(CONTACT_FIELDS) == SEALED_PLACES[("members", "contact")]


@dataclass(frozen=True)
class Application:
    member_id: str
    kind: str
    status: str
    created_at: datetime
    alert_channel: str
    duplicates: int
    age_hours: float
    # False until the contact is indexed under the contact-index key (at an unlock).
    checked: bool = True


# The member's one alert area picks the holiday calendar for its age; "all areas" or none
# gives NULL, which counts as England (app/common/clock.py).
_SELECT = ("SELECT id, kind, status, created_at, alert_channel, duplicate_candidates, "
           "(contact IS NULL OR contact_indexed_at IS NOT NULL) AS checked, "
           "(SELECT CASE WHEN COUNT(*) = 1 THEN MIN(area) END FROM member_alert_areas "
           "WHERE member_id = members.id) AS area FROM members")


def _application(row: Row, now: datetime) -> Application:
    created = datetime.fromisoformat(row["created_at"])
    return Application(member_id=row["id"], kind=row["kind"], status=row["status"],
                       created_at=created, alert_channel=row["alert_channel"],
                       duplicates=row["duplicate_candidates"],
                       age_hours=business_hours_between(created, now, row["area"]),
                       checked=bool(row["checked"]))


@dataclass(frozen=True)
class QueueFilter:
    """Which waiting applications to show: a kind, and UK days applied on (inclusive)."""

    kind: str | None = None
    applied_from: date | None = None
    applied_to: date | None = None


def _uk_midnight(day: date) -> str:
    """The UTC stamp of a UK day's start: stored stamps are UTC, compared as text."""
    return stamp(datetime.combine(day, time(0), tzinfo=UK).astimezone(UTC))


def queue(conn: Connection, now: datetime,
          wanted: QueueFilter = QueueFilter()) -> list[Application]:
    """Waiting applications, the longest-waiting first, as `wanted` narrows them."""
    where, params = ["status IN ('pending', 'info_requested')"], []
    if wanted.kind is not None:
        where.append("kind = ?")
        params.append(wanted.kind)
    if wanted.applied_from is not None:
        where.append("created_at >= ?")
        params.append(_uk_midnight(wanted.applied_from))
    if wanted.applied_to is not None:
        where.append("created_at < ?")
        params.append(_uk_midnight(wanted.applied_to + timedelta(days=1)))
    # Only the fixed clauses above are joined in; every value is a parameter.
    rows = conn.execute(f"{_SELECT} WHERE {' AND '.join(where)} "
                        "ORDER BY created_at, id", params).fetchall()
    return [_application(row, now) for row in rows]


def find(conn: Connection, member_id: str, now: datetime) -> Application | None:
    row = conn.execute(f"{_SELECT} WHERE id = ?", (member_id,)).fetchone()
    return _application(row, now) if row else None


def members(conn: Connection, now: datetime, limit: int = 500) -> list[Application]:
    rows = conn.execute(f"{_SELECT} WHERE status NOT IN ('pending', 'info_requested') "
                        "ORDER BY created_at DESC LIMIT ?", (limit,)).fetchall()
    return [_application(row, now) for row in rows]


def member_id_for_username(conn: Connection, username: str) -> str | None:
    row = conn.execute("SELECT member_id FROM accounts WHERE username = ? AND member_id "
                       "IS NOT NULL", (username.strip().lower(),)).fetchone()
    return row["member_id"] if row else None


@dataclass(frozen=True)
class Opened:
    application: Application
    values: dict[str, dict[str, str]]  # "identity"/"contact" -> field -> value
    candidates: list[tuple[Application, dict[str, dict[str, str]]]]


def open_for_vetting(conn: Connection, key: BoxPrivateKey, actor_id: str, member_id: str,
                     now: datetime) -> Opened:
    """Unseal an application and its duplicate candidates: one logged disclosure."""
    application = find(conn, member_id, now)
    if application is None:
        raise LookupError("no such application")
    candidate_ids = duplicate_candidates(conn, member_id, include_closed=True)
    row_ids = [member_id, *candidate_ids]
    wanted: dict[str, tuple[str, ...]] = {"identity": IDENTITY_FIELDS,
                                          "contact": CONTACT_FIELDS}
    # An organisation's later changes are opened (and logged) only where there are some.
    changed = conn.execute(
        f"SELECT 1 FROM members WHERE id IN ({','.join('?' * len(row_ids))}) "  # noqa: S608
        "AND identity_change IS NOT NULL", row_ids).fetchone()
    if changed is not None:
        wanted["identity_change"] = CHANGE_FIELDS
    opened = unseal(conn, UnsealRequest(
        actor_id=actor_id, purpose="vetting", table="members", row_ids=row_ids,
        fields=wanted), key, now)
    candidates = []
    for candidate_id in candidate_ids:
        candidate = find(conn, candidate_id, now)
        if candidate is not None:
            candidates.append((candidate, opened[candidate_id]))
    return Opened(application, opened[member_id], candidates)


# Contacts opened and indexed per page view: the first unlock after migration 0017 or a
# rotation has every member to index, and one request must stay short; each view of the
# queue does the next batch.
INDEX_BATCH = 200


def index_contacts(conn: Connection, key: BoxPrivateKey, contact_indexer: ContactIndexer,
                   actor_id: str, now: datetime, first: str | None = None,
                   limit: int = INDEX_BATCH) -> int:
    """Index the contacts of members not yet checked for duplicates; returns how many.

    Opening the contacts is an unseal like any other (purpose vetting), logged before
    they are opened, in the same transaction as the indexes written from them. `first`
    (an application being opened) goes before the oldest others. Nothing is written
    under a contact-index key that is no longer the current one (a rotation finished
    since this coordinator unlocked): they unlock again first.
    """
    with transaction(conn):
        if contact_index.current_id(conn) != contact_indexer.key_id:
            return 0
        waiting = records.waiting_for_index(conn, limit, first)
        if not waiting:
            return 0
        opened = unseal(conn, UnsealRequest(
            actor_id=actor_id, purpose="vetting", table="members", row_ids=waiting,
            fields={"contact": CONTACT_FIELDS}, context={"use": "duplicate_check"}), key, now)
        records.write_contact_indexes(
            conn, {member_id: records.contact_indexes(contact_indexer.indexer,
                                                      opened[member_id]["contact"])
                   for member_id in waiting}, now)
    return len(waiting)
