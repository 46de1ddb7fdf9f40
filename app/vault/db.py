"""SQLCipher storage: opening, checking and creating the encrypted database.

One connection per request (opened lazily, closed at teardown). Transactions are explicit
(`transaction()`), so "write the disclosure entry, then decrypt" is one unit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlcipher3

# The code, schema.sql (which ends by setting PRAGMA user_version) and the last step in
# migrations/ must agree: a new database and an upgraded one then have the same schema.
SCHEMA_VERSION = 7

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


def _apply_key(conn: Connection, key: bytes) -> None:
    if len(key) != 32:
        raise StartupError("The database key must be 32 bytes.")
    # SQLCipher otherwise prints its own errors to stderr on a wrong key.
    conn.execute("PRAGMA cipher_log_level = NONE")
    # A raw key (x'...') skips SQLCipher's per-open PBKDF2: the key is already random.
    conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")


def connect(path: Path, key: bytes) -> Connection:
    """Open the database with the raw key and the pragmas every connection needs."""
    if not path.exists():
        raise StartupError(
            f"There is no database at {path}. Create it with: flask --app app init-db"
        )
    conn: Connection = sqlcipher3.connect(str(path), isolation_level=None,
                                          check_same_thread=False)
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
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
