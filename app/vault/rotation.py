"""Rotating the vetting key: a new key pair, fresh holder wraps, every envelope re-wrapped.

`start` makes a new vetting key pair current in one transaction, with a wrap of it for
every live holder (from their stored public keys) and the old key marked retiring: from
that commit on, every process seals new envelopes to the new key, and the new private key
exists only inside holder wraps, so a rotation killed at any moment loses nothing. Then
`rewrap_batches` walks every sealed place in batches of rows (by rowid, so memory stays
flat): each envelope that carries the old key gets its data key re-wrapped for the new
key and the old wrap dropped (crypto.envelope.rewrap: nonce and ciphertext untouched,
no payload is re-encrypted). Large batches are re-wrapped on worker processes (one per
core, a batch ahead of the writer), the writes in one short transaction per batch, each
row replaced only if it is still the bytes that were read (a row changed meanwhile is
picked up on the next pass). `finish` retires the old key once a scan inside its
transaction finds no envelope that carries it, and deletes every wrap of it; in that same
transaction `on_finish` runs (the operator's command makes a fresh contact-index key
there: app/vault/contact_index.py says why re-wrapping it is not enough). Running
`rotate` again after a kill resumes the same rotation: already re-wrapped rows no longer
carry the old key.

This module rewrites sealed columns of tables other modules own; it is the one place
that may, because it changes only an envelope's wraps, never the value sealed there.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context

from app.common.clock import stamp
from app.common.ids import new_id
from app.vault import holders, log
from app.vault.db import Connection, transaction
from app.vault.holders import VettingKeyState
from app.vault.sealing import SEALED_PLACES
from crypto import envelope
from crypto.keys import BoxPrivateKey, PublicKey, generate_box_keypair

BATCH_SIZE = 500
WORKERS = 2
Place = tuple[str, str]
# Sealed to the delivery key alone, by design: the worker, not a holder, opens these.
DELIVERY_ONLY_PLACES: frozenset[Place] = frozenset({("outbox", "payload")})


class RotationError(Exception):
    """A rotation cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Rotation:
    id: str
    old: PublicKey
    new: PublicKey
    started_at: str
    finished_at: str | None
    rewrapped: int


def _envelopes(n: int) -> str:
    """"1 envelope carries" or "n envelopes carry", for the operator's report (English, as
    every command's output is)."""
    return "1 envelope carries" if n == 1 else f"{n} envelopes carry"


def _rotation(conn: Connection, where: str, params: tuple[object, ...]) -> Rotation | None:
    # `where` is one of this module's two fixed conditions, never input.
    row = conn.execute(
        "SELECT r.id, r.started_at, r.finished_at, r.rewrapped, o.public_key AS old_public, "  # noqa: S608
        "n.public_key AS new_public FROM key_rotations AS r "
        "JOIN vetting_keys AS o ON o.key_id = r.old_key_id "
        f"JOIN vetting_keys AS n ON n.key_id = r.new_key_id WHERE {where} "
        "ORDER BY r.started_at DESC LIMIT 1", params).fetchone()
    if row is None:
        return None
    return Rotation(row["id"], PublicKey("vetting", bytes(row["old_public"])),
                    PublicKey("vetting", bytes(row["new_public"])), row["started_at"],
                    row["finished_at"], row["rewrapped"])


def running(conn: Connection) -> Rotation | None:
    """The rotation started and not yet finished, if any."""
    return _rotation(conn, "r.finished_at IS NULL", ())


def by_id(conn: Connection, rotation_id: str) -> Rotation | None:
    return _rotation(conn, "r.id = ?", (rotation_id,))


def start(conn: Connection, current: BoxPrivateKey, now: datetime,
          actor: str = log.OPERATOR) -> Rotation:
    """Make a new vetting key current, wrapped for every live holder; logged."""
    with transaction(conn):
        if running(conn) is not None:
            raise RotationError("a rotation is already under way: run it again to finish it")
        if holders.current_vetting_public(conn) != current.public:
            raise RotationError("the vetting key given is not the current one")
        new = generate_box_keypair("vetting")
        holders.start_new_vetting_key(conn, new.public, now)
        holder_count = holders.wrap_for_every_holder(conn, new)
        rotation_id = new_id()
        conn.execute("INSERT INTO key_rotations (id, old_key_id, new_key_id, started_at) "
                     "VALUES (?, ?, ?, ?)",
                     (rotation_id, current.key_id, new.key_id, stamp(now)))
        log.append(conn, log.vetting_rotation_started(
            at=now, actor=actor, rotation_id=rotation_id, old_key=current.fingerprint,
            new_key=new.fingerprint, holders=holder_count))
    rotation = by_id(conn, rotation_id)
    assert rotation is not None
    return rotation


def _rows(conn: Connection, place: Place, batch_size: int) -> Iterator[list[tuple[int, bytes]]]:
    """(rowid, envelope) of one sealed place, a batch at a time, never the whole table."""
    table, column = place
    # Table and column come from SEALED_PLACES, never from input.
    query = (f"SELECT rowid AS rid, {column} AS sealed FROM {table} "  # noqa: S608
             f"WHERE rowid > ? AND {column} IS NOT NULL ORDER BY rowid LIMIT ?")
    last = 0
    while True:
        rows = conn.execute(query, (last, batch_size)).fetchall()
        if not rows:
            return
        last = rows[-1]["rid"]
        yield [(row["rid"], bytes(row["sealed"])) for row in rows]


Progress = Callable[[Place, int], None]
# Runs inside the transaction that retires the old key: (connection, new key, now).
OnFinish = Callable[[Connection, PublicKey, datetime], None]


# A batch this big is worth sending to worker processes (spawned, so nothing of the
# parent's threads, connections or keys is inherited); smaller ones re-wrap in-process.
PROCESS_FROM = 256


def rewrap_places(conn: Connection, places: Iterable[Place], old: BoxPrivateKey,
                  new: PublicKey, *, batch_size: int = BATCH_SIZE,
                  progress: Progress | None = None, workers: int = WORKERS,
                  counted: Callable[[int], None] | None = None) -> dict[Place, int]:
    """One pass over `places`: every envelope carrying `old` is re-wrapped for `new`.

    The machinery every rotation shares (vetting, delivery): batches by rowid, read and
    written by this one connection, one transaction per batch (in which `counted` may
    record progress). Large batches are re-wrapped on `workers` processes, up to
    `workers` batches ahead of the writer, so every core works and memory stays flat.
    """
    moved: Counter[Place] = Counter()

    def write(place: Place, update: str, batch: list[tuple[int, bytes]],
              after: list[tuple[int, bytes]]) -> None:
        # The workers filter and re-wrap; this process, which shares its two cores with
        # them, does only the writes, in one executemany per batch.
        if not after:
            return
        with transaction(conn):
            done = conn.executemany(update, [(blob, *batch[index])
                                             for index, blob in after]).rowcount
            if counted is not None:
                counted(done)
        moved[place] += done
        if progress is not None:
            progress(place, done)

    with ExitStack() as stack:
        pool: ProcessPoolExecutor | None = None
        for place in places:
            table, column = place
            update = (f"UPDATE {table} SET {column} = ? "  # noqa: S608
                      f"WHERE rowid = ? AND {column} = ?")
            ahead: deque[tuple[list[tuple[int, bytes]], Future[list[tuple[int, bytes]]]]] = (
                deque())
            for batch in _rows(conn, place, batch_size):
                if pool is None and workers > 1 and len(batch) >= PROCESS_FROM:
                    pool = stack.enter_context(ProcessPoolExecutor(
                        max_workers=workers, mp_context=get_context("spawn")))
                if pool is None:
                    write(place, update, batch,
                          envelope.move_wraps([sealed for _, sealed in batch], old, new))
                    continue
                ahead.append((batch, pool.submit(envelope.move_wraps_in_process,
                                                 [sealed for _, sealed in batch],
                                                 old.kind, old.raw, new.kind, new.raw)))
                if len(ahead) > workers:
                    done_batch, future = ahead.popleft()
                    write(place, update, done_batch, future.result())
            while ahead:
                done_batch, future = ahead.popleft()
                write(place, update, done_batch, future.result())
    return dict(moved)


def rewrap_batches(conn: Connection, rotation: Rotation, old: BoxPrivateKey,
                   new: BoxPrivateKey, *, batch_size: int = BATCH_SIZE,
                   progress: Progress | None = None,
                   workers: int = WORKERS) -> dict[Place, int]:
    """One pass over every sealed place; returns how many envelopes each place moved."""
    if old.public != rotation.old or new.public != rotation.new:
        raise RotationError("these are not the keys of the rotation under way")

    def counted(done: int) -> None:
        conn.execute("UPDATE key_rotations SET rewrapped = rewrapped + ? WHERE id = ?",
                     (done, rotation.id))

    return rewrap_places(conn, SEALED_PLACES, old, new.public, batch_size=batch_size,
                         progress=progress, workers=workers, counted=counted)


@dataclass(frozen=True)
class PlaceCensus:
    """Envelopes of one sealed place: how many carry each key id; how many none openable."""

    by_key: dict[bytes, int]
    envelopes: int
    unopenable: int


def census(conn: Connection, openable: Callable[[Place], frozenset[bytes]],
           batch_size: int = BATCH_SIZE) -> dict[Place, PlaceCensus]:
    """Count, per sealed place, the envelopes carrying each key id (headers only)."""
    found = {}
    for place in SEALED_PLACES:
        by_key: Counter[bytes] = Counter()
        total = unopenable = 0
        wanted = openable(place)
        for batch in _rows(conn, place, batch_size):
            for _rid, sealed in batch:
                carried = envelope.recipients_of(sealed)
                by_key.update(carried)
                total += 1
                unopenable += not wanted.intersection(carried)
        found[place] = PlaceCensus(dict(by_key), total, unopenable)
    return found


def carrying(conn: Connection, key_id: bytes, batch_size: int = BATCH_SIZE) -> int:
    """How many envelopes, in every sealed place, still carry `key_id`."""
    result = census(conn, lambda _place: frozenset(), batch_size)
    return sum(entry.by_key.get(key_id, 0) for entry in result.values())


def finish(conn: Connection, rotation: Rotation, now: datetime, actor: str = log.OPERATOR,
           batch_size: int = BATCH_SIZE, on_finish: OnFinish | None = None) -> bool:
    """Retire the old key if no envelope carries it any more (checked under the write lock)."""
    with transaction(conn):
        if carrying(conn, rotation.old.key_id, batch_size):
            return False
        if on_finish is not None:
            on_finish(conn, rotation.new, now)
        holders.retire_vetting_key(conn, rotation.old, now)
        conn.execute("UPDATE key_rotations SET finished_at = ? WHERE id = ?",
                     (stamp(now), rotation.id))
        counts = census(conn, lambda _place: frozenset(), batch_size)
        done = by_id(conn, rotation.id)
        assert done is not None
        log.append(conn, log.vetting_rotation_finished(
            at=now, actor=actor, rotation_id=rotation.id, old_key=rotation.old.fingerprint,
            new_key=rotation.new.fingerprint, rewrapped=done.rewrapped,
            counts=[f"{table}.{column}={entry.by_key.get(rotation.new.key_id, 0)}"
                    for (table, column), entry in counts.items()]))
    return True


def rotate(conn: Connection, holder_key: BoxPrivateKey, clock: Callable[[], datetime], *,
           actor: str = log.OPERATOR, batch_size: int = BATCH_SIZE,
           progress: Progress | None = None, started: Callable[[Rotation, int], None] | None = None,
           workers: int = WORKERS, on_finish: OnFinish | None = None) -> Rotation:
    """Start (or resume) a vetting rotation with one holder's key and run it to the end.

    `started` hears the rotation and how many envelopes it must move before any are.
    """
    rotation = running(conn)
    if rotation is None:
        opened = holders.open_vetting_keys(conn, holder_key)
        rotation = start(conn, opened[VettingKeyState.CURRENT], clock(), actor)
    opened = holders.open_vetting_keys(conn, holder_key)
    old = opened.get(VettingKeyState.RETIRING)
    new = opened[VettingKeyState.CURRENT]
    if old is None:
        raise RotationError("this key holder has no wrap of the key being retired (enrolled "
                            "after the rotation started?): resume it with another holder's "
                            "key file")
    if started is not None:
        started(rotation, carrying(conn, rotation.old.key_id, batch_size))
    while True:
        rewrap_batches(conn, rotation, old, new, batch_size=batch_size, progress=progress,
                       workers=workers)
        if finish(conn, rotation, clock(), actor, batch_size, on_finish):
            done = by_id(conn, rotation.id)
            assert done is not None
            return done


@dataclass(frozen=True)
class KeyReport:
    """What `keys verify` prints: per sealed place, envelopes per key id; what is wrong."""

    places: dict[Place, PlaceCensus]
    labels: dict[bytes, str]
    problems: list[str]


def verify(conn: Connection, *, delivery: PublicKey, vetting_file: PublicKey,
           retired_delivery: Iterable[PublicKey] = ()) -> KeyReport:
    """Check that every envelope can be opened by a holder (or the worker) and none by a
    retired key. `vetting_file` (keys/vetting.pub) names the key of a deployment whose
    database knows none yet; `retired_delivery` (keys/delivery-retired.pub) the delivery
    keys that `keys rotate delivery` replaced."""
    known = holders.vetting_keys(conn)
    wraps = holders.wrap_counts(conn)
    labels: dict[bytes, str] = {}
    problems: list[str] = []
    for key in known:
        kid = key.public.key_id
        labels[kid] = (f"vetting {key.public.fingerprint} ({key.state.value}, "
                       f"{wraps.get(kid, 0)} holder wraps)")
    if not known:
        labels[vetting_file.key_id] = (f"vetting {vetting_file.fingerprint} (not yet "
                                       "registered: no key holders)")
        problems.append("the database has no key holders yet: enrol coordinators with "
                        "keys enrol --vetting-key")
    labels[delivery.key_id] = f"delivery {delivery.fingerprint}"
    retired_delivery = list(retired_delivery)
    retired_out = {k.key_id for k in retired_delivery if k.key_id != delivery.key_id}
    for replaced in retired_delivery:
        if replaced.key_id in retired_out:
            labels[replaced.key_id] = f"delivery {replaced.fingerprint} (retired)"
    current = [k for k in known if k.state is VettingKeyState.CURRENT]
    if current and not wraps.get(current[0].public.key_id):
        problems.append("no key holder can open the current vetting key")
    holder_open = frozenset(k.public.key_id for k in known
                            if k.state is not VettingKeyState.RETIRED
                            and wraps.get(k.public.key_id))
    delivery_only = frozenset({delivery.key_id})

    def openable(place: Place) -> frozenset[bytes]:
        return delivery_only if place in DELIVERY_ONLY_PLACES else holder_open

    places = census(conn, openable)
    retired = {k.public.key_id for k in known if k.state is VettingKeyState.RETIRED}
    retired |= retired_out
    for (table, column), entry in places.items():
        where = f"{table}.{column}"
        for kid, n in entry.by_key.items():
            if kid in retired:
                problems.append(f"{where}: {_envelopes(n)} the retired key "
                                f"{labels[kid].split()[1]}")
            elif kid not in labels:
                problems.append(f"{where}: {_envelopes(n)} an unknown key {kid.hex()}")
        if entry.unopenable:
            problems.append(f"{where}: {_envelopes(entry.unopenable)} no key that a "
                            "holder (or, for notices, the worker) can open")
    return KeyReport(places, labels, problems)


# --- the delivery key --------------------------------------------------------------------

# Where a delivery wrap can be: an active push member's contact, and a notice's secret.
# A pending reset code sealed to the old key alone would otherwise never be sent.
DELIVERY_PLACES: tuple[Place, ...] = (("members", "contact"), ("outbox", "payload"))


def delivery_started(conn: Connection, old: PublicKey, new: PublicKey, now: datetime,
                     actor: str = log.OPERATOR) -> None:
    with transaction(conn):
        log.append(conn, log.delivery_rotation_started(
            at=now, actor=actor, old_key=old.fingerprint, new_key=new.fingerprint))


def _carrying_in(conn: Connection, places: Iterable[Place], key_id: bytes,
                 batch_size: int) -> dict[Place, int]:
    found: dict[Place, int] = {}
    for place in places:
        found[place] = sum(key_id in envelope.recipients_of(sealed)
                           for batch in _rows(conn, place, batch_size) for _rid, sealed in batch)
    return found


def delivery_pending(conn: Connection, old: PublicKey, batch_size: int = BATCH_SIZE) -> int:
    """How many envelopes still carry the delivery key `old`."""
    return sum(_carrying_in(conn, DELIVERY_PLACES, old.key_id, batch_size).values())


def rotate_delivery(conn: Connection, old: BoxPrivateKey, new: BoxPrivateKey,
                    clock: Callable[[], datetime], *, actor: str = log.OPERATOR,
                    batch_size: int = BATCH_SIZE, progress: Progress | None = None,
                    workers: int = WORKERS) -> dict[Place, int]:
    """Re-wrap every delivery wrap from `old` to `new` (never a payload re-encrypted);
    logged with its counts once a scan under the write lock finds none left on `old`.

    Safe to run again after a kill: envelopes already moved no longer carry `old`. The
    caller makes the new key current on disk only after this returns.
    """
    moved: Counter[Place] = Counter()
    while True:
        moved.update(rewrap_places(conn, DELIVERY_PLACES, old, new.public,
                                   batch_size=batch_size, progress=progress,
                                   workers=workers))
        with transaction(conn):
            if delivery_pending(conn, old.public, batch_size):
                continue  # sealed meanwhile by a web process still on the old key
            now_carrying = _carrying_in(conn, DELIVERY_PLACES, new.key_id, batch_size)
            log.append(conn, log.delivery_rotation_finished(
                at=clock(), actor=actor, old_key=old.fingerprint, new_key=new.fingerprint,
                rewrapped=sum(moved.values()),
                counts=[f"{table}.{column}={n}"
                        for (table, column), n in now_carrying.items()]))
            return dict(moved)
