"""Key holders: who can open the vetting key, and the vetting keys themselves.

Nobody holds the vetting private key directly. Each coordinator has a personal key pair
(the private half in their own key file, under their own passphrase), and the recovery
holder one whose private half exists only as SLIP-39 shares; the database keeps, for each
holder, the vetting private key sealed to that holder's public key (crypto/holder_wrap.py).
Envelopes stay sealed to the one vetting key, so they do not grow with the number of
coordinators.

This module owns every write to `vetting_keys`, `key_holders` and `holder_wraps` (the
rotation in app/vault/rotation.py asks it to add and retire keys), and each write logs
its entry in the same transaction. The web process reads the current vetting public key
here for every new envelope, so a rotation takes effect in every process at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.common.clock import stamp
from app.common.ids import new_id
from app.vault import log
from app.vault.db import Connection, Row, aside, transaction
from crypto.errors import EnvelopeError, KeyMismatch
from crypto.holder_wrap import HOLDER_KIND, unwrap_for_holder, wrap_for_holder
from crypto.keyfile import decode_private_key_file, parse_private_key_header
from crypto.keys import BoxPrivateKey, PublicKey
from crypto.keystore import FirstHolders, ServerKeys


class HolderKind(StrEnum):
    COORDINATOR = "coordinator"
    RECOVERY = "recovery"


class VettingKeyState(StrEnum):
    CURRENT = "current"
    RETIRING = "retiring"
    RETIRED = "retired"


class NotAHolder(KeyMismatch):
    """The key file is not (or no longer) a key holder of this scheme's vetting key."""


class NotYourHolder(KeyMismatch):
    """The key file belongs to a holder bound to another account."""


class SharedVettingKeyFile(KeyMismatch):
    """A shared vetting key file (releases before holders) was given where a holder's is wanted."""


class NoVettingKey(LookupError):
    """The database knows no vetting key yet (a deployment not yet moved to holders)."""


@dataclass(frozen=True)
class Holder:
    id: str
    kind: HolderKind
    public: PublicKey
    account_id: str | None
    added_at: str
    removed_at: str | None

    @property
    def live(self) -> bool:
        return self.removed_at is None


@dataclass(frozen=True)
class VettingKey:
    public: PublicKey
    state: VettingKeyState
    created_at: str
    retired_at: str | None


def _vetting_key(row: Row) -> VettingKey:
    return VettingKey(PublicKey("vetting", bytes(row["public_key"])),
                      VettingKeyState(row["state"]), row["created_at"], row["retired_at"])


def _holder(row: Row) -> Holder:
    return Holder(row["id"], HolderKind(row["kind"]),
                  PublicKey(HOLDER_KIND, bytes(row["public_key"])), row["account_id"],
                  row["added_at"], row["removed_at"])


_HOLDER_COLUMNS = "id, kind, public_key, account_id, added_at, removed_at"


# --- vetting keys ------------------------------------------------------------------------


def vetting_keys(conn: Connection) -> list[VettingKey]:
    """Every vetting key the database knows, current first, then retiring, then retired."""
    rows = conn.execute(
        "SELECT public_key, state, created_at, retired_at FROM vetting_keys "
        "ORDER BY CASE state WHEN 'current' THEN 0 WHEN 'retiring' THEN 1 ELSE 2 END, "
        "created_at").fetchall()
    return [_vetting_key(row) for row in rows]


def vetting_key_in(conn: Connection, state: VettingKeyState) -> PublicKey | None:
    row = conn.execute("SELECT public_key, state, created_at, retired_at FROM vetting_keys "
                       "WHERE state = ?", (state.value,)).fetchone()
    return None if row is None else _vetting_key(row).public


def current_vetting_public(conn: Connection) -> PublicKey | None:
    return vetting_key_in(conn, VettingKeyState.CURRENT)


def vetting_recipient(conn: Connection, keys: ServerKeys) -> PublicKey:
    """The vetting public key a new envelope is sealed to.

    The database's current key, so that every process seals to a rotated key from the
    moment the rotation starts; keys/vetting.pub only for a deployment whose database
    knows no vetting key yet (made before holders, not yet enrolled).
    """
    return current_vetting_public(conn) or keys.vetting_public


def _insert_vetting_key(conn: Connection, public: PublicKey, state: VettingKeyState,
                        now: datetime) -> None:
    conn.execute("INSERT INTO vetting_keys (key_id, public_key, state, created_at) "
                 "VALUES (?, ?, ?, ?)", (public.key_id, public.raw, state.value, stamp(now)))


def start_new_vetting_key(conn: Connection, new: PublicKey, now: datetime) -> PublicKey:
    """Make `new` current and the current key retiring (inside the rotation's transaction)."""
    if not conn.in_transaction:
        raise RuntimeError("start_new_vetting_key must run inside a transaction")
    old = current_vetting_public(conn)
    if old is None:
        raise NoVettingKey("the database knows no vetting key to rotate")
    conn.execute("UPDATE vetting_keys SET state = 'retiring' WHERE state = 'current'")
    _insert_vetting_key(conn, new, VettingKeyState.CURRENT, now)
    return old


def retire_vetting_key(conn: Connection, old: PublicKey, now: datetime) -> int:
    """Retire `old` and delete every wrap of it: nothing of it stays openable here."""
    if not conn.in_transaction:
        raise RuntimeError("retire_vetting_key must run inside a transaction")
    conn.execute("UPDATE vetting_keys SET state = 'retired', retired_at = ? "
                 "WHERE key_id = ? AND state = 'retiring'", (stamp(now), old.key_id))
    return conn.execute("DELETE FROM holder_wraps WHERE vetting_key_id = ?",
                        (old.key_id,)).rowcount


def register_shared_vetting_key(conn: Connection, vetting: BoxPrivateKey, keys: ServerKeys,
                                now: datetime, actor: str = log.OPERATOR) -> None:
    """Make a pre-holder deployment's shared vetting key the database's current key.

    Refuses a key that is not the one the deployment seals to (keys/vetting.pub), and does
    nothing if it is already known.
    """
    with transaction(conn):
        known = conn.execute("SELECT state FROM vetting_keys WHERE key_id = ?",
                             (vetting.key_id,)).fetchone()
        if known is not None:
            if known["state"] == VettingKeyState.RETIRED:
                raise KeyMismatch("that vetting key has been retired by a rotation: it "
                                  "opens nothing any more")
            return
        if vetting.public.raw != keys.vetting_public.raw:
            raise KeyMismatch("that vetting key file is not this deployment's vetting key "
                              f"({keys.vetting_public.fingerprint})")
        if current_vetting_public(conn) is not None:
            raise KeyMismatch("the database already has another current vetting key")
        _insert_vetting_key(conn, vetting.public, VettingKeyState.CURRENT, now)
        log.append(conn, log.vetting_key_registered(
            at=now, actor=actor, key_fingerprint=vetting.fingerprint,
            source="shared_vetting_key_file"))


# --- holders -----------------------------------------------------------------------------


def holder_by_key_id(conn: Connection, key_id: bytes) -> Holder | None:
    row = conn.execute(f"SELECT {_HOLDER_COLUMNS} FROM key_holders WHERE key_id = ?",  # noqa: S608
                       (key_id,)).fetchone()
    return None if row is None else _holder(row)


def holder_by_id(conn: Connection, holder_id: str) -> Holder | None:
    row = conn.execute(f"SELECT {_HOLDER_COLUMNS} FROM key_holders WHERE id = ?",  # noqa: S608
                       (holder_id,)).fetchone()
    return None if row is None else _holder(row)


def live_holder_for_account(conn: Connection, account_id: str) -> Holder | None:
    row = conn.execute(f"SELECT {_HOLDER_COLUMNS} FROM key_holders "  # noqa: S608
                       "WHERE account_id = ? AND removed_at IS NULL", (account_id,)).fetchone()
    return None if row is None else _holder(row)


def holders(conn: Connection, *, include_removed: bool = False) -> list[Holder]:
    where = "" if include_removed else "WHERE removed_at IS NULL"
    rows = conn.execute(f"SELECT {_HOLDER_COLUMNS} FROM key_holders {where} "  # noqa: S608
                        "ORDER BY added_at, id").fetchall()
    return [_holder(row) for row in rows]


def wrap_counts(conn: Connection) -> dict[bytes, int]:
    """For each vetting key id, how many live holders have a wrap of it."""
    rows = conn.execute("SELECT w.vetting_key_id AS kid, count(*) AS n FROM holder_wraps AS w "
                        "JOIN key_holders AS h ON h.id = w.holder_id "
                        "WHERE h.removed_at IS NULL GROUP BY w.vetting_key_id").fetchall()
    return {bytes(row["kid"]): row["n"] for row in rows}


def _insert_wrap(conn: Connection, holder_id: str, holder_public: PublicKey,
                 vetting: BoxPrivateKey) -> None:
    conn.execute("INSERT INTO holder_wraps (holder_id, vetting_key_id, wrap) VALUES (?, ?, ?)",
                 (holder_id, vetting.key_id, wrap_for_holder(vetting, holder_public)))


def wrap_for_every_holder(conn: Connection, vetting: BoxPrivateKey) -> int:
    """A wrap of (a new) `vetting` for every live holder, from their stored public keys."""
    live = holders(conn)
    for holder in live:
        _insert_wrap(conn, holder.id, holder.public, vetting)
    return len(live)


def _add(conn: Connection, *, public: PublicKey, kind: HolderKind, account_id: str | None,
         vetting: Sequence[BoxPrivateKey], actor: str, source: str, now: datetime) -> str:
    if public.kind != HOLDER_KIND:
        raise ValueError("a key holder's key is a holder key")
    if holder_by_key_id(conn, public.key_id) is not None:
        raise KeyMismatch("that key is already a key holder (or was one): make a new key")
    if account_id is not None and live_holder_for_account(conn, account_id) is not None:
        raise KeyMismatch("that coordinator is already a key holder: remove their old key "
                          "first (keys remove-holder)")
    holder_id = new_id()
    conn.execute("INSERT INTO key_holders (id, kind, key_id, public_key, account_id, "
                 "added_at, added_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (holder_id, kind.value, public.key_id, public.raw, account_id, stamp(now),
                  actor))
    for key in vetting:
        _insert_wrap(conn, holder_id, public, key)
    log.append(conn, log.key_holder_added(at=now, actor=actor, holder_id=holder_id,
                                          kind=kind.value, account_id=account_id,
                                          holder_key=public.fingerprint, source=source))
    return holder_id


def install_first(conn: Connection, first: FirstHolders, now: datetime) -> list[str]:
    """Store the key ceremony's vetting key and first holders in a new database.

    Does nothing (returns []) if the database already knows a vetting key, so init-db and
    the tests' fixtures can call it on any database. Not a disclosure-log entry: the
    ceremony happens before the database holds anything, and its holders are recorded
    here (added_at, added by the operator), so a new database's log starts empty; every
    later change of holders is logged.
    """
    with transaction(conn):
        if conn.execute("SELECT 1 FROM vetting_keys LIMIT 1").fetchone() is not None:
            return []
        _insert_vetting_key(conn, first.vetting_public, VettingKeyState.CURRENT, now)
        ids = []
        for holder in first.holders:
            holder_id = new_id()
            conn.execute("INSERT INTO key_holders (id, kind, key_id, public_key, added_at, "
                         "added_by) VALUES (?, ?, ?, ?, ?, ?)",
                         (holder_id, holder.kind, holder.public.key_id, holder.public.raw,
                          stamp(now), log.OPERATOR))
            conn.execute("INSERT INTO holder_wraps (holder_id, vetting_key_id, wrap) "
                         "VALUES (?, ?, ?)",
                         (holder_id, first.vetting_public.key_id, holder.wrap))
            ids.append(holder_id)
        return ids


def add_holder(conn: Connection, *, public: PublicKey, kind: HolderKind,
               account_id: str | None, vetting: Sequence[BoxPrivateKey], source: str,
               now: datetime, actor: str = log.OPERATOR) -> str:
    """Enrol a holder: a wrap of each vetting key given (current, and retiring mid-rotation).

    The current vetting key must be among them: a holder without it opens nothing new.
    """
    with transaction(conn):
        current = current_vetting_public(conn)
        if current is None:
            raise NoVettingKey("the database knows no vetting key yet")
        if current.key_id not in {key.key_id for key in vetting}:
            raise KeyMismatch("the vetting key given is not the current one")
        known = {vk.public.key_id for vk in vetting_keys(conn)
                 if vk.state is not VettingKeyState.RETIRED}
        return _add(conn, public=public, kind=kind, account_id=account_id,
                    vetting=[key for key in vetting if key.key_id in known], actor=actor,
                    source=source, now=now)


def remove_holder(conn: Connection, holder_id: str, actor_id: str, now: datetime,
                  reason: str = "removed") -> int:
    """Delete a holder's wraps at once and mark them removed; returns wraps deleted.

    Their key file opens nothing from now on. Whatever they may have copied before is
    protected only by the vetting rotation that should follow (the coordinators' pages
    say so until it finishes).
    """
    with transaction(conn):
        holder = holder_by_id(conn, holder_id)
        if holder is None or not holder.live:
            raise LookupError("no such key holder")
        deleted = conn.execute("DELETE FROM holder_wraps WHERE holder_id = ?",
                               (holder_id,)).rowcount
        conn.execute("UPDATE key_holders SET removed_at = ?, removed_by = ? WHERE id = ?",
                     (stamp(now), actor_id, holder_id))
        log.append(conn, log.key_holder_removed(at=now, actor=actor_id, holder_id=holder_id,
                                                account_id=holder.account_id,
                                                wraps_deleted=deleted, reason=reason))
        return deleted


def remove_for_account(conn: Connection, account_id: str, actor_id: str,
                       now: datetime) -> bool:
    """Remove the account's key holder, if it has one (a coordinator's login disabled).

    Part of the caller's transaction when there is one. Returns whether one was removed.
    """
    with transaction(conn):
        holder = live_holder_for_account(conn, account_id)
        if holder is None:
            return False
        remove_holder(conn, holder.id, actor_id, now, reason="login_disabled")
        return True


def bind(conn: Connection, holder_id: str, account_id: str, actor: str,
         now: datetime) -> None:
    """Bind a coordinator holder enrolled without a login to `account_id`; logged."""
    with transaction(conn):
        holder = holder_by_id(conn, holder_id)
        if holder is None or not holder.live or holder.kind is not HolderKind.COORDINATOR:
            raise NotAHolder("no such coordinator key holder")
        if holder.account_id is not None:
            raise NotYourHolder("that key holder is already bound to a login")
        if live_holder_for_account(conn, account_id) is not None:
            raise NotYourHolder("that coordinator already holds a key")
        conn.execute("UPDATE key_holders SET account_id = ? WHERE id = ? "
                     "AND account_id IS NULL", (account_id, holder_id))
        log.append(conn, log.key_holder_bound(at=now, actor=actor, holder_id=holder_id,
                                              account_id=account_id))


def removal_awaiting_rotation(conn: Connection) -> str | None:
    """When the last holder was removed, if no vetting rotation has finished since."""
    last_removal = conn.execute("SELECT max(removed_at) AS at FROM key_holders").fetchone()
    if last_removal is None or last_removal["at"] is None:
        return None
    last_rotation = conn.execute(
        "SELECT max(finished_at) AS at FROM key_rotations").fetchone()
    finished = last_rotation["at"] if last_rotation is not None else None
    if finished is not None and finished >= last_removal["at"]:
        return None
    removed_at: str = last_removal["at"]
    return removed_at


# --- opening the vetting key ------------------------------------------------------------


def holder_key_header(key_file: bytes) -> PublicKey:
    """The holder public key a key file claims (no passphrase needed)."""
    header = parse_private_key_header(key_file)
    if header.kind == "vetting":
        raise SharedVettingKeyFile(
            "this is a shared vetting key file from before key holders: ask the operator "
            "to enrol you with a key file of your own")
    if header.kind != HOLDER_KIND:
        raise KeyMismatch(f"this key file holds a {header.kind} key, not a key holder's key")
    return header.public


def open_holder_key(key_file: bytes, passphrase: str) -> BoxPrivateKey:
    """Open a holder key file (DamagedKeyFile, WrongPassphrase, KeyMismatch)."""
    holder_key_header(key_file)
    return decode_private_key_file(key_file, passphrase, kind=HOLDER_KIND)


def open_vetting_keys(conn: Connection, holder_key: BoxPrivateKey,
                      holder: Holder | None = None) -> dict[VettingKeyState, BoxPrivateKey]:
    """The vetting keys (current, and retiring mid-rotation) this live holder can open."""
    holder = holder or holder_by_key_id(conn, holder_key.key_id)
    if holder is None or not holder.live:
        raise NotAHolder("this key file is not (or no longer) a key holder of this scheme")
    rows = conn.execute(
        "SELECT v.public_key, v.state, v.created_at, v.retired_at, w.wrap FROM holder_wraps AS w "
        "JOIN vetting_keys AS v ON v.key_id = w.vetting_key_id "
        "WHERE w.holder_id = ? AND v.state != 'retired'", (holder.id,)).fetchall()
    opened = {}
    for row in rows:
        vetting = _vetting_key(row)
        try:
            opened[vetting.state] = unwrap_for_holder(bytes(row["wrap"]), holder_key,
                                                      vetting.public)
        except EnvelopeError:
            raise NotAHolder("this holder's wrap does not open with this key file") from None
    if VettingKeyState.CURRENT not in opened:
        raise NotAHolder("this key holder has no wrap of the current vetting key")
    return opened


def unlock_vetting_key(conn: Connection, *, key_file: bytes, passphrase: str,
                       account_id: str, now: datetime) -> BoxPrivateKey:
    """A coordinator's own key file opens their wrap; logged before the key is returned.

    Only a wrap belonging to `account_id` opens: a holder bound to another account, a
    removed holder, or the recovery holder is refused before any passphrase is tried. A
    holder not yet bound (enrolled before they had a login) is bound here, logged.
    """
    public = holder_key_header(key_file)

    def check(holder: Holder | None) -> Holder:
        if holder is None or not holder.live or holder.kind is not HolderKind.COORDINATOR:
            raise NotAHolder("this key file is not (or no longer) a key holder of this scheme")
        if holder.account_id not in (None, account_id):
            raise NotYourHolder("this key file belongs to another coordinator")
        if holder.account_id is None and live_holder_for_account(conn, account_id):
            raise NotYourHolder("you already hold a key of your own: unlock with that file")
        return holder

    check(holder_by_key_id(conn, public.key_id))
    # Argon2id takes a second: outside any transaction, so nobody else waits for it, and
    # aside, so other requests run meanwhile.
    with aside(conn):
        holder_key = decode_private_key_file(key_file, passphrase, kind=HOLDER_KIND)
    with transaction(conn):
        holder = check(holder_by_key_id(conn, public.key_id))
        vetting = open_vetting_keys(conn, holder_key, holder)[VettingKeyState.CURRENT]
        if holder.account_id is None:
            bind(conn, holder.id, account_id, account_id, now)
        log.append(conn, log.key_unlocked(at=now, actor=account_id,
                                          key_fingerprint=vetting.fingerprint))
    return vetting
