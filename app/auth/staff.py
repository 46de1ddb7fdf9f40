"""Staff who come and go: listing, labelling, disabling, enabling and resetting staff logins.

Plain functions over a connection, used by `flask --app app staff ...` (app/cli/staff.py)
and the coordinators' staff page (app/coordinator/staff_views.py). Every change writes a
typed disclosure-log entry in the same transaction. This module owns every write to the
`staff_profiles` table; the `accounts` rows change through app/auth/accounts.py.

Two rules keep anyone from being locked out by mistake or by malice: the last active
coordinator cannot be disabled, and nobody disables their own login.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l

from app.auth import accounts, recovery, sessions
from app.auth.accounts import STAFF_ROLES, AccountStatus
from app.common import validation
from app.common.choices import StaffDisableReason, StaffEnableReason
from app.common.clock import uk_date_of, uk_day
from app.common.passwords import Passwords
from app.common.validation import Refusal
from app.vault import decision_notes, holders, log
from app.vault.db import Connection, Row, count, transaction
from app.vault.keyring import UnlockStore
from crypto.keystore import ServerKeys
from crypto.passphrase import generate_passphrase

MAX_LABEL_CHARS = 60

# Why a login was disabled or enabled: codes from fixed lists, never typed text, because
# they go into the disclosure log.
DISABLE_REASONS: Sequence[tuple[str, object]] = (
    (StaffDisableReason.LEFT.value, _l("They have left the scheme or no longer coordinate")),
    (StaffDisableReason.DEVICE_LOST.value, _l("A device or key file of theirs is lost or stolen")),
    (StaffDisableReason.SUSPECTED_MISUSE.value, _l("Their login may be misused")),
    (StaffDisableReason.LEAVE_OF_ABSENCE.value, _l("A long absence")),
)
ENABLE_REASONS: Sequence[tuple[str, object]] = (
    (StaffEnableReason.RETURNED.value, _l("They are back")),
    (StaffEnableReason.DISABLED_BY_MISTAKE.value, _l("It was disabled by mistake")),
    (StaffEnableReason.CLEARED.value, _l("The worry that disabled it is resolved")),
)


class StaffError(Refusal):
    """A change that cannot be made; `message` (a lazy string) says why."""

    summary = "staff change refused"


@dataclass(frozen=True)
class StaffMember:
    account_id: str
    username: str
    role: str
    status: str
    label: str | None
    created_at: str
    last_sign_in_on: str | None
    # The authenticator secret has never produced an accepted code: a new login or one
    # whose two-step was just reset.
    two_step_unused: bool
    password_must_change: bool

    @property
    def created_on(self) -> str:
        day = uk_date_of(self.created_at)
        return day.isoformat() if day else ""

    @property
    def display_name(self) -> str:
        """What lists and the audit log call them: "Sam (Manchester) · username"."""
        return f"{self.label} · {self.username}" if self.label else self.username

    def __repr__(self) -> str:
        return f"StaffMember(account_id={self.account_id!r}, role={self.role!r})"


_SELECT = ("SELECT a.id, a.username, a.role, a.status, a.created_at, a.totp_last_step, "
           "p.label, p.last_sign_in_on, p.password_must_change FROM accounts a "
           "LEFT JOIN staff_profiles p ON p.account_id = a.id "
           "WHERE a.role IN ('coordinator', 'auditor')")


def _member(row: Row) -> StaffMember:
    return StaffMember(
        account_id=str(row["id"]), username=str(row["username"]), role=str(row["role"]),
        status=str(row["status"]), label=row["label"] or None,
        created_at=str(row["created_at"]), last_sign_in_on=row["last_sign_in_on"] or None,
        two_step_unused=row["totp_last_step"] is None,
        password_must_change=bool(row["password_must_change"]))


def list_staff(conn: Connection) -> list[StaffMember]:
    """Every staff login, coordinators first, then by label and username."""
    found = [_member(row) for row in conn.execute(_SELECT)]
    return sorted(found, key=lambda s: (s.role != "coordinator", (s.label or "").lower(),
                                        s.username))


def find(conn: Connection, username: str) -> StaffMember | None:
    row = conn.execute(_SELECT + " AND a.username = ?", (username.strip().lower(),)).fetchone()
    return _member(row) if row else None


def by_account_id(conn: Connection, account_id: str) -> StaffMember | None:
    row = conn.execute(_SELECT + " AND a.id = ?", (account_id,)).fetchone()
    return _member(row) if row else None


def names(conn: Connection) -> dict[str, str]:
    """Account id -> display name, for pages that say who did what."""
    return {member.account_id: member.display_name for member in list_staff(conn)}


def _profile(conn: Connection, account_id: str) -> None:
    conn.execute("INSERT INTO staff_profiles (account_id) VALUES (?) "
                 "ON CONFLICT (account_id) DO NOTHING", (account_id,))


def _set_must_change(conn: Connection, account_id: str, must_change: bool) -> None:
    _profile(conn, account_id)
    conn.execute("UPDATE staff_profiles SET password_must_change = ? WHERE account_id = ?",
                 (int(must_change), account_id))


def password_must_change(conn: Connection, account_id: str) -> bool:
    return count(conn, "SELECT count(*) FROM staff_profiles WHERE account_id = ? "
                       "AND password_must_change = 1", (account_id,)) > 0


def password_changed(conn: Connection, account_id: str) -> None:
    """The person chose their own password: the one they were given is behind them."""
    conn.execute("UPDATE staff_profiles SET password_must_change = 0 WHERE account_id = ?",
                 (account_id,))


def record_sign_in(conn: Connection, account_id: str, now: datetime) -> None:
    """The UK day of a staff sign-in (a day, not a time: enough to see a dormant login)."""
    _profile(conn, account_id)
    conn.execute("UPDATE staff_profiles SET last_sign_in_on = ? WHERE account_id = ?",
                 (uk_day(now), account_id))


def create(conn: Connection, passwords: Passwords, *, role: str, now: datetime,
           password: str | None = None, label: str | None = None,
           must_change_password: bool = True, actor: str = log.OPERATOR) -> accounts.NewStaff:
    """A coordinator or auditor login with TOTP, logged; opens its own transaction.

    The password must be changed at first sign-in unless `must_change_password` is off
    (only the demo, whose passwords are printed for convenience).
    """
    if role not in STAFF_ROLES:
        raise ValueError(f"staff role must be one of {STAFF_ROLES}")
    clean_label = check_label(label) if label is not None else None
    password = password or generate_passphrase()
    password_hash = passwords.hash(password)  # before the write lock: hashing is slow
    secret = accounts.new_totp_secret()
    with transaction(conn):
        account = accounts.create_login(conn, role=role, password_hash=password_hash, now=now,
                                        totp_secret=secret)
        _set_must_change(conn, account.id, must_change_password)
        if clean_label:
            conn.execute("UPDATE staff_profiles SET label = ? WHERE account_id = ?",
                         (clean_label, account.id))
        log.append(conn, log.staff_changed(log.Event.STAFF_CREATED, at=now, actor=actor,
                                           account_id=account.id, role=role))
    return accounts.NewStaff(account, password, secret)


def check_label(raw: object) -> str:
    """A label fit to show: one line, at most MAX_LABEL_CHARS; raises validation.Invalid."""
    return validation.single_line(raw, max_chars=MAX_LABEL_CHARS,
                                  required_message=_l("Type a display name."))


def _staff_or_error(conn: Connection, account_id: str) -> StaffMember:
    member = by_account_id(conn, account_id)
    if member is None:
        raise StaffError(_l("There is no staff login with that username."))
    return member


def set_label(conn: Connection, account_id: str, label: object, *, actor: str,
              now: datetime) -> str:
    """Give a staff login a display name (logged, without its text); returns it cleaned.

    Raises validation.Invalid for an unusable label, StaffError for an unknown login.
    """
    clean = check_label(label)
    with transaction(conn):
        member = _staff_or_error(conn, account_id)
        _profile(conn, account_id)
        conn.execute("UPDATE staff_profiles SET label = ? WHERE account_id = ?",
                     (clean, account_id))
        log.append(conn, log.staff_changed(log.Event.STAFF_LABELLED, at=now, actor=actor,
                                           account_id=account_id, role=member.role))
    return clean


def _end_sessions(conn: Connection, account_id: str, unlocks: UnlockStore | None) -> int:
    digests = sessions.digests(conn, account_id)
    ended = sessions.end_all(conn, account_id)
    if unlocks is not None:
        for digest in digests:
            unlocks.forget(digest)
    return ended


def on_staff_disabled(conn: Connection, account_id: str, actor_id: str, now: datetime,
                      unlocks: UnlockStore | None = None) -> int:
    """What must stop the moment a staff login is disabled; returns the sessions ended.

    Ends every session of the login and forgets any vetting key one of them unlocked in
    this process (`unlocks`). A web process that did not make the change forgets such a
    key on its next request (app.vault.keyring.forget_ended), because the session is gone.

    A coordinator's key-holder wrap is deleted in the same transaction, so their own key
    file opens nothing from now on (the coordinators' pages then ask for a rotation).
    """
    holders.remove_for_account(conn, account_id, actor_id, now)
    return _end_sessions(conn, account_id, unlocks)


def _reason(reason: str, allowed: Sequence[tuple[str, object]]) -> str:
    if reason not in {code for code, _label in allowed}:
        raise StaffError(_l("Choose one of the reasons listed."))
    return reason


def _note(conn: Connection, keys: ServerKeys | None, note: str, *, event: log.Event,
          account_id: str, actor: str, now: datetime) -> str | None:
    """Seal a coordinator's optional note on a staff change; its id for the log entry."""
    if not note.strip():
        return None
    try:
        text = validation.multi_line(note, max_chars=validation.MAX_DECISION_NOTE_CHARS,
                                     required_message="")
    except validation.Invalid as invalid:
        raise StaffError(invalid.message) from None
    if keys is None:
        raise ValueError("a note is sealed to the vetting key: pass the server's keys")
    return decision_notes.add(conn, holders.vetting_recipient(conn, keys), event=event,
                              record=f"accounts/{account_id}", actor_id=actor, text=text,
                              now=now)


def disable(conn: Connection, account_id: str, *, reason: str, actor: str, now: datetime,
            unlocks: UnlockStore | None = None, note: str = "",
            keys: ServerKeys | None = None) -> int:
    """Disable a staff login: sessions and unlocked keys end at once. Returns sessions ended.

    An optional note (a coordinator's words) is sealed to the vetting key, so needs `keys`.
    """
    reason = _reason(reason, DISABLE_REASONS)
    with transaction(conn):
        member = _staff_or_error(conn, account_id)
        if member.account_id == actor:
            raise StaffError(_l("You cannot disable your own login. Ask another coordinator."))
        if member.status != AccountStatus.ACTIVE:
            raise StaffError(_l("That login is already disabled."))
        if member.role == "coordinator" and accounts.count_staff(conn, "coordinator") <= 1:
            raise StaffError(_l("That is the only active coordinator: create or enable "
                                "another coordinator first, so the scheme is not left "
                                "without one."))
        note_id = _note(conn, keys, note, event=log.Event.STAFF_DISABLED,
                        account_id=account_id, actor=actor, now=now)
        accounts.set_status(conn, account_id, AccountStatus.DISABLED)
        ended = on_staff_disabled(conn, account_id, actor, now, unlocks)
        log.append(conn, log.staff_changed(log.Event.STAFF_DISABLED, at=now, actor=actor,
                                           account_id=account_id, role=member.role,
                                           reason=reason, sessions_ended=ended,
                                           note_id=note_id))
    return ended


def enable(conn: Connection, account_id: str, *, reason: str, actor: str,
           now: datetime, note: str = "", keys: ServerKeys | None = None) -> None:
    """Let a disabled staff login sign in again (its password and two-step unchanged).

    The undo of `disable`: the account's row is as before, and the sessions that ended
    stay ended (the person signs in afresh). A coordinator's key-holder wrap deleted by
    the disabling is not made again: that needs a holder with the key (keys add-holder).
    """
    reason = _reason(reason, ENABLE_REASONS)
    with transaction(conn):
        member = _staff_or_error(conn, account_id)
        if member.status == AccountStatus.ACTIVE:
            raise StaffError(_l("That login is already active."))
        note_id = _note(conn, keys, note, event=log.Event.STAFF_ENABLED,
                        account_id=account_id, actor=actor, now=now)
        accounts.set_status(conn, account_id, AccountStatus.ACTIVE)
        log.append(conn, log.staff_changed(log.Event.STAFF_ENABLED, at=now, actor=actor,
                                           account_id=account_id, role=member.role,
                                           reason=reason, note_id=note_id))


def reset_two_step(conn: Connection, account_id: str, *, actor: str, now: datetime,
                   unlocks: UnlockStore | None = None) -> str:
    """A new TOTP secret (the old one stops working); every session ends. Returns it."""
    secret = accounts.new_totp_secret()
    with transaction(conn):
        member = _staff_or_error(conn, account_id)
        accounts.enable_totp(conn, account_id, secret)
        recovery.delete_all(conn, account_id)
        ended = _end_sessions(conn, account_id, unlocks)
        log.append(conn, log.staff_changed(log.Event.STAFF_TWO_STEP_RESET, at=now, actor=actor,
                                           account_id=account_id, role=member.role,
                                           sessions_ended=ended))
    return secret


def reset_password(conn: Connection, passwords: Passwords, account_id: str, *, actor: str,
                   now: datetime, password: str | None = None,
                   unlocks: UnlockStore | None = None) -> str:
    """A new password that must be changed at the next sign-in; every session ends."""
    if by_account_id(conn, account_id) is None:
        raise StaffError(_l("There is no staff login with that username."))
    password = password or generate_passphrase()
    password_hash = passwords.hash(password)
    with transaction(conn):
        member = _staff_or_error(conn, account_id)
        accounts.set_password_hash(conn, account_id, password_hash)
        _set_must_change(conn, account_id, True)
        ended = _end_sessions(conn, account_id, unlocks)
        log.append(conn, log.staff_changed(log.Event.STAFF_PASSWORD_RESET, at=now, actor=actor,
                                           account_id=account_id, role=member.role,
                                           sessions_ended=ended))
    return password
