"""What the web process holds while it runs, kept on the app (no module globals)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import Flask, Request, current_app, g
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from app.common.ids import token_hash
from app.common.passwords import Passwords
from app.common.tally import DailyTally, Tally
from app.common.turns import Turns
from app.common.waiting import Waiting
from app.vault import db
from app.vault.keyring import UnlockStore
from app.vault.pool import ConnectionPool
from app.web.background import Periodic
from app.web.config import Config
from app.web.limits import PER_ACCOUNT_REPORTS, CheckLimiter, ResetLimiter, SignInThrottle
from crypto.keystore import ServerKeys, load_server_keys


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppState:
    config: Config
    passwords: Passwords
    keys: ServerKeys | None = None
    ready: bool = False
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    reset_limiter: ResetLimiter = field(default_factory=ResetLimiter)
    # Reset requests (typed usernames) and wrong reset codes (account ids) waiting for a
    # background job, so no request's cost depends on the account (app/auth/reset.py).
    reset_requests: Waiting = field(default_factory=Waiting)
    reset_failures: Waiting = field(default_factory=Waiting)
    check_limiter: CheckLimiter = field(default_factory=CheckLimiter)
    report_limiter: CheckLimiter = field(
        default_factory=lambda: CheckLimiter(PER_ACCOUNT_REPORTS))
    unlocks: UnlockStore = field(default_factory=UnlockStore)
    # Monitoring answers waiting to be counted (app/membership/monitoring.py).
    tally: Tally = field(default_factory=Tally)
    # Every "now" in the app comes from here, so tests can move time.
    clock: Callable[[], datetime] = field(default=_utc_now)
    # Run once, when the service first finds its keys and database ready.
    on_ready: list[Callable[[Flask], None]] = field(default_factory=list)
    pool: ConnectionPool | None = None
    # Checks counted in memory, written in batches by a background job (app/checker).
    check_tally: DailyTally = field(default_factory=DailyTally)
    periodic: dict[str, Periodic] = field(default_factory=dict)
    # Request threads take turns at running Python (app/common/turns.py).
    turns: Turns = field(default_factory=Turns)
    _pool_guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start_periodic(self, name: str, seconds: float, job: Callable[[], object]) -> None:
        """Run `job` every `seconds` from now on (once per name), and at shutdown."""
        with self._pool_guard:
            if name not in self.periodic:
                self.periodic[name] = Periodic(name, seconds, job).start()

    def shutdown(self) -> None:
        """Clean shutdown: every periodic job runs a last time, then connections close."""
        with self._pool_guard:
            jobs, self.periodic = list(self.periodic.values()), {}
        for job in jobs:
            job.stop()
        if self.pool is not None:
            self.pool.close()

    def connection_pool(self) -> ConnectionPool:
        """The pool of request connections, made on first use (keys must be loaded)."""
        with self._pool_guard:
            if self.pool is None:
                assert self.keys is not None, "load_keys() before the first connection"
                self.pool = ConnectionPool(self.config.database_path, self.keys.database_key,
                                           size=self.config.db_pool_size,
                                           checkpoint_seconds=self.config.checkpoint_seconds,
                                           turns=self.turns)
            return self.pool

    def forget_session(self, session_token: str) -> None:
        """Whatever the process holds for a session ends with it (the unlocked key)."""
        self.unlocks.forget(token_hash(session_token))


def now() -> datetime:
    return state().clock()


def state(app: Flask | None = None) -> AppState:
    return (app or current_app).extensions["uglymugs"]


def load_keys(app: Flask) -> ServerKeys:
    """Load the server's keys (public keys, database and index keys: never a private key)."""
    st = state(app)
    if st.keys is None:
        from crypto.errors import KeyFileError

        try:
            keys = load_server_keys(st.config.keys_dir)
        except KeyFileError as error:
            raise db.StartupError(
                f"{error} Run `flask --app app keys init` to create keys, or point "
                "UGLYMUGS_KEYS_DIR at the right folder."
            ) from None
        st.keys = keys
        app.secret_key = keys.session_key
    return st.keys


def verify_ready(app: Flask) -> None:
    """Stop start-up with a clear StartupError unless keys load and the database fits."""
    keys = load_keys(app)
    db.check_database(state(app).config.database_path, keys.database_key)
    st = state(app)
    if not st.ready:
        st.ready = True
        for hook in st.on_ready:
            hook(app)


def healthy(app: Flask) -> bool:
    """Keys load, the database opens at the code's schema and answers a query."""
    try:
        if not state(app).ready:
            verify_ready(app)
        get_db().execute("SELECT count(*) FROM sqlite_master").fetchone()
    except (db.StartupError, db.DatabaseError):
        return False
    return True


def get_db() -> db.Connection:
    """The request's connection, borrowed from the pool on first use, returned at teardown."""
    if "db" not in g:
        load_keys(current_app)
        g.db = state().connection_pool().acquire()
    return g.db


def close_db(_error: BaseException | None = None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        state().connection_pool().release(conn)


class LazyKeySessionInterface(SecureCookieSessionInterface):
    """Cookie sessions signed with keys/session.key, loaded on the first request.

    Flask opens the session before any before_request hook runs, so the key is loaded
    here rather than in create_app (which must work before the key ceremony).
    """

    _serializer: tuple[tuple[object, ...], URLSafeTimedSerializer] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # Flask builds a new serializer for every request; it depends only on the keys,
        # so it is built once per key (a changed key or fallback list builds a new one).
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept = self._serializer
        if kept is not None and kept[0] == keys:
            return kept[1]
        serializer = super().get_signing_serializer(app)
        if serializer is not None:
            self._serializer = (keys, serializer)
        return serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key is None:
            try:
                load_keys(app)
            except db.StartupError:
                return None  # require_ready answers 503 with the reason logged
        return super().open_session(app, request)
