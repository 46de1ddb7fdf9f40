"""Request threads take turns at running Python, and every wait steps aside
(app/common/turns.py).

Turns are a speed device: each test here gives the turns a patience far longer than the
test's own timeout, so a wait that forgot to step aside would show as a hang (a thread
still alive after its join), not be covered up by the fallback.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.common.passwords import Passwords
from app.common.turns import Turns
from app.vault import db
from app.vault.pool import ConnectionPool
from app.web.state import load_keys, state

FOREVER = 60.0  # patience no test waits out
JOIN = 10.0


def _run(*jobs: Callable[[], None]) -> None:
    threads = [threading.Thread(target=job, daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN)
    assert not any(t.is_alive() for t in threads), "a thread waited while holding its turn"


def _pool(app, turns: Turns) -> ConnectionPool:
    return ConnectionPool(state(app).config.database_path, load_keys(app).database_key,
                          size=4, checkpoint_seconds=None, turns=turns)


def test_only_one_thread_holds_a_turn_at_a_time() -> None:
    turns = Turns(patience=FOREVER)
    inside, most = [0], [0]
    guard = threading.Lock()

    def request() -> None:
        for _ in range(50):
            with turns.turn():
                with guard:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0)  # a let-go of the GIL: nobody else may come in
                with guard:
                    inside[0] -= 1

    _run(*[request] * 4)
    assert most[0] == 1


def test_a_thread_stepping_aside_lets_another_request_run() -> None:
    turns = Turns(patience=FOREVER)
    other_ran = threading.Event()
    seen: list[bool] = []

    def waiting_request() -> None:
        with turns.turn():
            with turns.aside():
                assert other_ran.wait(JOIN)
            seen.append(turns.holding())  # its turn is back after the wait

    def other_request() -> None:
        time.sleep(0.05)
        with turns.turn():
            seen.append(turns.holding())
            other_ran.set()

    _run(waiting_request, other_request)
    assert seen == [True, True]


def test_a_thread_that_cannot_get_a_turn_runs_without_one_after_its_patience() -> None:
    turns = Turns(patience=0.05)
    release = threading.Event()
    ran_without: list[bool] = []

    def stuck_request() -> None:
        with turns.turn():
            release.wait(JOIN)  # blocked somewhere that does not step aside

    def next_request() -> None:
        time.sleep(0.02)
        with turns.turn():
            ran_without.append(not turns.holding())
        release.set()

    _run(stuck_request, next_request)
    assert ran_without == [True]


def test_waiting_for_the_write_lock_steps_aside(app) -> None:
    """The holder of the write lock needs a turn to finish; the waiter must not keep it."""
    turns = Turns(patience=FOREVER)
    pool = _pool(app, turns)
    holding_lock = threading.Event()
    order: list[str] = []

    def writer_holding_the_lock() -> None:
        conn = pool.acquire()
        with turns.turn(), db.transaction(conn):
            holding_lock.set()
            with turns.aside():  # waits for something, its turn given up
                time.sleep(0.2)
            # ...and needs a turn again to finish, while the other waits for the lock.
            conn.execute("DELETE FROM sessions WHERE token_hash = x'00'")
            order.append("first")
        pool.release(conn)

    def writer_waiting_for_it() -> None:
        assert holding_lock.wait(JOIN)
        conn = pool.acquire()
        with turns.turn(), db.transaction(conn):
            order.append("second")
        pool.release(conn)

    _run(writer_holding_the_lock, writer_waiting_for_it)
    pool.close()
    assert order == ["first", "second"]


def test_group_commits_step_aside_and_every_write_lands(app) -> None:
    turns = Turns(patience=FOREVER)
    pool = _pool(app, turns)
    done: list[int] = []

    def request(n: int) -> Callable[[], None]:
        def run() -> None:
            conn = pool.acquire()
            try:
                with turns.turn():
                    done.append(db.write_grouped(conn, lambda c: c.execute(
                        "INSERT INTO check_counts (day, count) VALUES (?, 1) "
                        "ON CONFLICT (day) DO UPDATE SET count = count + 1",
                        ("2026-12-01",)).rowcount * n))
            finally:
                pool.release(conn)
        return run

    _run(*[request(n) for n in range(1, 9)])
    conn = pool.acquire()
    checks = conn.execute("SELECT count FROM check_counts WHERE day = '2026-12-01'"
                          ).fetchone()[0]
    pool.release(conn)
    pool.close()
    assert sorted(done) == list(range(1, 9)) and checks == 8


def test_a_password_hash_steps_aside(app) -> None:
    turns = Turns(patience=FOREVER)
    passwords = Passwords(cheap_for_tests=True, turns=turns)
    other_ran = threading.Event()
    real_hasher = passwords._hasher

    class WaitingHasher:
        """A hash that takes as long as another request needs to run."""

        def hash(self, password: str) -> str:
            assert other_ran.wait(JOIN)
            return real_hasher.hash(password)

    passwords._hasher = WaitingHasher()  # type: ignore[assignment]

    def signing_up() -> None:
        with turns.turn():
            passwords.hash("a long enough password")

    def other_request() -> None:
        time.sleep(0.05)
        with turns.turn():
            other_ran.set()

    _run(signing_up, other_request)


def test_every_request_runs_in_a_turn(app) -> None:
    seen: list[bool] = []

    @app.get("/turn-probe")
    def probe() -> str:
        seen.append(state(app).turns.holding())
        return "ok"

    probe.allowed_roles = frozenset({"anonymous"})  # type: ignore[attr-defined]
    assert app.test_client().get("/turn-probe").status_code == 200
    assert seen == [True]
