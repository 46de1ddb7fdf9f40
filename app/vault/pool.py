"""A small pool of open connections for the web process, and the WAL checkpointer.

Opening a SQLCipher connection per request threw away its page cache (every page is
decrypted again) and made the last connection to close checkpoint the WAL on a request.
The pool keeps up to `size` connections, each opened by `db.connect` (the same key and
pragmas as ever), lends one to a request and takes it back at teardown, rolled back if
the request left a transaction open.

Pooled connections do not checkpoint on commit (`wal_autocheckpoint = 0`): a background
thread does it every few seconds with PASSIVE checkpoints, which never wait for readers
or writers, so no request pays for one. `close()` (at clean shutdown) closes every
connection and runs a last checkpoint.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from app.common.turns import Turns
from app.vault import db

log = logging.getLogger("uglymugs.vault")

DEFAULT_SIZE = 8  # gunicorn's --threads 8: one each, none waiting
CHECKPOINT_SECONDS = 5.0


class ConnectionPool:
    """Connections to one database, lent out one at a time. Thread-safe."""

    def __init__(self, path: Path, key: bytes, *, size: int = DEFAULT_SIZE,
                 checkpoint_seconds: float | None = CHECKPOINT_SECONDS,
                 turns: Turns | None = None) -> None:
        if size < 1:
            raise ValueError("a pool holds at least one connection")
        self._path = path
        self._key = key
        self._size = size
        self._idle: list[db.Connection] = []
        self._guard = threading.Lock()
        self._closed = False
        self._checkpoint_seconds = checkpoint_seconds
        self._stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._turns = turns

    def __repr__(self) -> str:  # never the key
        return f"ConnectionPool(path={str(self._path)!r}, size={self._size})"

    @property
    def path(self) -> Path:
        return self._path

    def _open(self) -> db.Connection:
        conn = db.connect(self._path, self._key)
        # Checkpoints belong to the background thread, never to a request's COMMIT.
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        # Last: a request's connection runs only what the service needs (no ATTACH, no
        # pragma writes, no schema changes), as db.connect(..., Rights.SERVICE) would.
        conn.set_authorizer(db.service_authorizer)
        # Its waits (for the write lock, a commit) let other requests run meanwhile.
        conn.turns = self._turns  # type: ignore[attr-defined]  # db._VaultConnection
        return conn

    def acquire(self) -> db.Connection:
        """An open connection: an idle one if there is one, else a new one."""
        with self._guard:
            if self._closed:
                raise db.StartupError("the connection pool is closed")
            conn = self._idle.pop() if self._idle else None
            self._start_checkpointer()
        return conn if conn is not None else self._open()

    def release(self, conn: db.Connection) -> None:
        """Take a connection back; one left in a transaction is rolled back first."""
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except db.DatabaseError:
            conn.close()
            return
        with self._guard:
            if not self._closed and len(self._idle) < self._size:
                self._idle.append(conn)
                return
        conn.close()

    # -- checkpoints ------------------------------------------------------------------

    def _start_checkpointer(self) -> None:
        # Called with the guard held: started on first use, so building an app (as the
        # CLI and most tests do) starts no thread.
        if self._checkpoint_seconds is None or self._checkpointer is not None:
            return
        self._checkpointer = threading.Thread(target=self._checkpoint_loop,
                                              name="uglymugs-checkpoint", daemon=True)
        self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        assert self._checkpoint_seconds is not None
        conn: db.Connection | None = None
        while not self._stop.wait(self._checkpoint_seconds):
            try:
                if conn is None:
                    conn = db.connect(self._path, self._key)
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except db.StartupError:
                return  # the database is gone (an app outliving its files): nothing to do
            except db.DatabaseError as error:
                log.warning("WAL checkpoint skipped: %s", type(error).__name__)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    # -- shutdown ---------------------------------------------------------------------

    def close(self) -> None:
        """Close every idle connection and stop the checkpointer (clean shutdown)."""
        with self._guard:
            self._closed = True
            idle, self._idle = self._idle, []
            thread, self._checkpointer = self._checkpointer, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout=self._checkpoint_seconds or 1.0)
        for conn in idle:
            conn.close()
