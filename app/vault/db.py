"""SQLCipher storage: opening, checking and creating the encrypted database.

The web process borrows connections from a small pool (app/vault/pool.py); the worker and
the CLI open their own. Transactions are explicit (`transaction()`), so "write the
disclosure entry, then decrypt" is one unit. Within a process, write transactions take
turns on a Python lock per database file, so threads queue on a lock that wakes them at
once rather than in SQLite's busy handler, which sleeps in 1-100 ms steps.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

import sqlcipher3

from app.common.turns import Turns

# The code, schema.sql (which ends by setting PRAGMA user_version) and the last step in
# migrations/ must agree: a new database and an upgraded one then have the same schema.
SCHEMA_VERSION = 20

if TYPE_CHECKING:
    # sqlcipher3 ships no types; it is the sqlite3 module's API over SQLCipher, so the
    # standard library's types describe it exactly.
    from sqlite3 import Connection as Connection
    from sqlite3 import DatabaseError as DatabaseError
    from sqlite3 import IntegrityError as IntegrityError
    from sqlite3 import Row as Row
else:
    Connection = sqlcipher3.Connection
    Row = sqlcipher3.Row
    DatabaseError = sqlcipher3.DatabaseError
    IntegrityError = sqlcipher3.IntegrityError


class StartupError(Exception):
    """A condition that must stop the service, with a message an operator can act on."""


# How long a write waits for another thread's write before giving up, as SQLite's own
# busy_timeout does for other processes; the same "database is locked" error follows.
WRITE_WAIT_SECONDS = 5.0

# One lock per database file in this process. It is process-wide by nature, like the
# file lock it stands in front of: two app instances over one file must share it.
_write_locks: dict[str, threading.RLock] = {}
_write_locks_guard = threading.Lock()


def write_lock_for(path: Path) -> threading.RLock:
    """The lock every write transaction on `path` in this process takes first."""
    name = os.path.realpath(path)
    with _write_locks_guard:
        lock = _write_locks.get(name)
        if lock is None:
            lock = _write_locks[name] = threading.RLock()
        return lock


class _VaultConnection(sqlcipher3.Connection):  # type: ignore[misc,unused-ignore]  # untyped base (strict only)
    """A connection that knows its database file's write lock, and (lent to a request by
    the pool) the request threads' turns (app/common/turns.py)."""

    write_lock: threading.RLock | None = None
    turns: Turns | None = None


def aside(conn: Connection) -> AbstractContextManager[None]:
    """Around a wait by the thread using `conn`: other requests run meanwhile."""
    turns: Turns | None = getattr(conn, "turns", None)
    return turns.aside() if turns is not None else nullcontext()


def _apply_key(conn: Connection, key: bytes) -> None:
    if len(key) != 32:
        raise StartupError("The database key must be 32 bytes.")
    # SQLCipher otherwise prints its own errors to stderr on a wrong key.
    conn.execute("PRAGMA cipher_log_level = NONE")
    # A raw key (x'...') skips SQLCipher's per-open PBKDF2: the key is already random.
    conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")


class Rights(StrEnum):
    """What a connection may do once it is set up.

    SERVICE is what the web process and the worker need: read and change rows, in
    transactions. ADMIN (init-db, `db upgrade`, the operator's commands) may also change
    the schema and set pragmas.
    """

    SERVICE = "service"
    ADMIN = "admin"


# Pragmas a SERVICE connection may read (never set): the schema version check.
# Reading these tells nothing a row would not; setting any pragma is refused.
_READABLE_PRAGMAS = frozenset({"user_version", "journal_mode", "synchronous", "foreign_keys",
                               "secure_delete", "temp_store", "wal_autocheckpoint"})
# Functions nobody may call: an extension is code from a file, and sqlcipher_export copies
# the whole database into another (which also needs ATTACH, refused too).
_REFUSED_FUNCTIONS = frozenset({"load_extension", "sqlcipher_export", "fts3_tokenizer"})
_SERVICE_ACTIONS = frozenset({
    sqlcipher3.SQLITE_SELECT, sqlcipher3.SQLITE_READ, sqlcipher3.SQLITE_INSERT,
    sqlcipher3.SQLITE_UPDATE, sqlcipher3.SQLITE_DELETE, sqlcipher3.SQLITE_TRANSACTION,
    sqlcipher3.SQLITE_SAVEPOINT, sqlcipher3.SQLITE_RECURSIVE, sqlcipher3.SQLITE_FUNCTION,
    sqlcipher3.SQLITE_PRAGMA,
})


def service_authorizer(action: int, arg1: str | None, arg2: str | None,
                       _database: str | None, _trigger: str | None) -> int:
    """SQLite's authorizer for SERVICE connections: only the statements the app runs.

    No ATTACH or DETACH (another file in, or this one out), no schema change, no pragma
    that sets anything, no extension loading. A refused statement fails to prepare, so
    nothing of it runs.
    """
    if action not in _SERVICE_ACTIONS:
        return int(sqlcipher3.SQLITE_DENY)
    if action == sqlcipher3.SQLITE_PRAGMA and (
            arg2 is not None or (arg1 or "").lower() not in _READABLE_PRAGMAS):
        return int(sqlcipher3.SQLITE_DENY)
    if action == sqlcipher3.SQLITE_FUNCTION and (arg2 or "").lower() in _REFUSED_FUNCTIONS:
        return int(sqlcipher3.SQLITE_DENY)
    return int(sqlcipher3.SQLITE_OK)


def connect(path: Path, key: bytes, rights: Rights = Rights.ADMIN) -> Connection:
    """Open the database with the raw key and the pragmas every connection needs.

    Every connection refuses to trust the schema (trusted_schema = OFF: a function with
    side effects cannot be smuggled into a view, trigger or CHECK of a tampered file) and
    checks cell sizes as it reads (cell_size_check: a corrupted page is an error, not a
    wild read). SQLITE_DBCONFIG_DEFENSIVE cannot be set: sqlcipher3 exposes no
    sqlite3_db_config (no `setconfig`); the authorizer below refuses what DEFENSIVE would
    (writes to the schema, dangerous pragmas) on SERVICE connections.
    """
    if not path.exists():
        raise StartupError(
            f"There is no database at {path}. Create it with: flask --app app init-db"
        )
    conn: Connection = sqlcipher3.connect(str(path), isolation_level=None,
                                          check_same_thread=False,
                                          factory=_VaultConnection)
    conn.write_lock = write_lock_for(path)  # type: ignore[attr-defined]  # _VaultConnection
    # Rows are read by column name everywhere (row["status"]), never by position.
    conn.row_factory = sqlcipher3.Row
    try:
        _apply_key(conn, key)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except DatabaseError:
            raise StartupError(
                f"The database at {path} does not open with the database key in use: "
                "either the key file is wrong or this is not an uglymugs database."
            ) from None
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
        # Sorts and temporary tables stay in memory: never a plaintext temp file on disk.
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.execute("PRAGMA cell_size_check = ON")
        if rights is Rights.SERVICE:
            # Last: from here on the connection runs only what service_authorizer allows.
            conn.set_authorizer(service_authorizer)
    except BaseException:
        conn.close()
        raise
    return conn


def schema_version(conn: Connection) -> int:
    version = scalar(conn, "PRAGMA user_version")
    assert isinstance(version, int)
    return version


def scalar(conn: Connection, query: str, params: Sequence[object] = ()) -> object:
    """The one value a query such as SELECT max(at) returns (None when no row)."""
    row = conn.execute(query, params).fetchone()
    return None if row is None else row[0]  # a query's one value


def count(conn: Connection, query: str, params: Sequence[object] = ()) -> int:
    """The number a query such as SELECT count(*) returns (0 when no row)."""
    value = scalar(conn, query, params)
    if value is None:
        return 0
    if not isinstance(value, int):
        raise TypeError("count() needs a query whose one value is an integer")
    return value


def check_database(path: Path, key: bytes) -> None:
    """Fail with a StartupError unless the database opens with `key` at SCHEMA_VERSION.

    Never upgrades: a schema change is an operator's decision, taken with a backup at hand
    (`db upgrade`), not a side effect of starting a process.
    """
    conn = connect(path, key)
    try:
        found = schema_version(conn)
    finally:
        conn.close()
    if found < SCHEMA_VERSION:
        raise StartupError(
            f"The database at {path} has schema version {found}, but this code needs "
            f"version {SCHEMA_VERSION}. Back it up, then run flask --app app db upgrade; "
            "nothing was changed."
        )
    if found > SCHEMA_VERSION:
        # Never downgraded in place: older code could misread or drop what newer code wrote.
        raise StartupError(
            f"The database at {path} has schema version {found}, but this code needs "
            f"version {SCHEMA_VERSION}: the code is older than the data. Install the "
            "matching release of uglymugs; nothing was changed."
        )


def declared_schema_version(schema_sql: str) -> int:
    match = re.search(r"PRAGMA\s+user_version\s*=\s*(\d+)", schema_sql, re.IGNORECASE)
    if match is None:
        raise StartupError("schema.sql does not set PRAGMA user_version.")
    return int(match.group(1))


def init_database(path: Path, key: bytes, schema_path: Path) -> None:
    """Create a new encrypted database from schema.sql; refuse to touch an existing one."""
    schema_sql = schema_path.read_text(encoding="utf-8")
    if declared_schema_version(schema_sql) != SCHEMA_VERSION:
        raise StartupError(
            f"{schema_path} declares a schema version other than {SCHEMA_VERSION}."
        )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        # Created empty with owner-only permissions before SQLCipher writes a byte.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise StartupError(
            f"A database already exists at {path}; init-db never overwrites one."
        ) from None
    os.close(fd)
    try:
        conn = connect(path, key)
        try:
            conn.executescript(schema_sql)
        finally:
            conn.close()
    except BaseException:
        for leftover in (path, *_sidecars(path)):
            leftover.unlink(missing_ok=True)
        raise


def _sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


@contextmanager
def transaction(conn: Connection) -> Iterator[Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception.

    IMMEDIATE takes the write lock up front, so two disclosure-log appends cannot
    interleave between reading the chain head and writing the next entry. Called inside
    a transaction it joins it: the outer one commits or rolls back everything, so a
    service can be used both on its own and as one step of a larger change.
    """
    if conn.in_transaction:
        yield conn
        return
    lock: threading.RLock | None = getattr(conn, "write_lock", None)
    if lock is not None:
        with aside(conn):
            acquired = lock.acquire(timeout=WRITE_WAIT_SECONDS)
        if not acquired:
            raise sqlcipher3.OperationalError("database is locked")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        if lock is not None:
            lock.release()


# The tables whose ids people type (short ids from a table, or whole ones); a name from
# this set is all that reaches the query text.
TYPED_ID_TABLES = frozenset({"members", "reports", "alerts", "disclosure_requests",
                             "contact_requests"})
_ID_CHARS = re.compile(r"[A-Za-z0-9_-]+")


def ids_starting(conn: Connection, table: str, prefix: str, limit: int) -> list[str]:
    """At most `limit` ids of `table` that start with `prefix` (exactly, case counts).

    A range on the primary key rather than LIKE, which ignores case and treats "_" as a
    wildcard: "_" and "-" are id characters. The id alphabet's largest character is "z",
    so every id starting with `prefix` sorts before prefix + "{" ("{" follows "z").
    """
    if table not in TYPED_ID_TABLES:
        raise ValueError("not a table whose ids are typed")
    if not _ID_CHARS.fullmatch(prefix):
        return []
    return [str(row["id"]) for row in conn.execute(
        f"SELECT id FROM {table} WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",  # noqa: S608
        (prefix, prefix + "{", limit))]


T = TypeVar("T")


class _Write(Generic[T]):
    """One caller's part of a group commit: its work, then its result or its error."""

    def __init__(self, work: Callable[[Connection], T]) -> None:
        self.work = work
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()


# Writes waiting for the next group commit, per database file: keyed by the id of the
# file's write lock, which lives as long as the process (_write_locks never forgets one).
_pending: dict[int, list[_Write[object]]] = {}


def _run_group(conn: Connection, writes: list[_Write[object]]) -> None:
    """Every queued write in one transaction, each in its own savepoint, then one COMMIT.

    The COMMIT's fsync is a wait like any other: other requests run meanwhile (and
    queue their writes for the next group).

    A write that raises is rolled back to its savepoint, so it leaves nothing behind and
    takes nothing of the others with it. If the COMMIT itself fails, nothing of the
    group is stored and every write that had succeeded gets that error.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
        for write in writes:
            conn.execute("SAVEPOINT one_write")
            try:
                write.result = write.work(conn)
            except BaseException as error:  # handed back to its caller
                write.error = error
                conn.execute("ROLLBACK TO one_write")
            conn.execute("RELEASE one_write")
        with aside(conn):
            conn.execute("COMMIT")
    except BaseException as error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        for write in writes:
            write.result = None
            if write.error is None:
                write.error = error
    finally:
        for write in writes:
            write.done.set()


def write_grouped(conn: Connection, work: Callable[[Connection], T]) -> T:
    """Run `work(c)` in a write transaction that may be shared with other threads' writes.

    With synchronous = FULL each COMMIT costs an fsync, and an fsync, not the work, is
    what a short insert waits for. So writes queue per database file, and whichever
    caller gets the write lock next commits everything queued by then, on its own
    connection: N writers waiting behind one commit share the next one. Each caller
    returns only after the COMMIT that holds its write, i.e. once it is durable, with its
    own result, or raises its own error (its write rolled back, the others kept).

    `work` may run on another thread and must use only the connection it is given (a
    pooled one, never the caller's), and must not depend on being alone in its
    transaction beyond what BEGIN IMMEDIATE gives: every write of the group sees the
    earlier ones'. Inside an open transaction it simply joins it, as transaction() does.
    """
    if conn.in_transaction:
        return work(conn)
    lock: threading.RLock | None = getattr(conn, "write_lock", None)
    if lock is None:  # not a vault connection: no queue to share
        with transaction(conn):
            return work(conn)
    name = id(lock)
    write: _Write[T] = _Write(work)
    with _write_locks_guard:
        _pending.setdefault(name, []).append(write)  # type: ignore[arg-type]
    deadline = time.monotonic() + WRITE_WAIT_SECONDS
    while not write.done.is_set():
        # Waiting for the lock (or for the group holding it) is when others run.
        with aside(conn):
            acquired = lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
        if not acquired:
            with _write_locks_guard:
                queued = _pending.get(name, [])
                if write in queued:
                    queued.remove(write)  # type: ignore[arg-type]
                    raise sqlcipher3.OperationalError("database is locked")
            with aside(conn):
                write.done.wait()  # a group that holds it is committing now
            break
        try:
            if write.done.is_set():
                break
            with _write_locks_guard:
                group = _pending.pop(name, [])
            if group:
                _run_group(conn, group)
        finally:
            lock.release()
    if write.error is not None:
        raise write.error
    return write.result  # type: ignore[return-value]  # set by _run_group when no error
