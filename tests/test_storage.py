from __future__ import annotations

import sqlite3

import pytest

from app.membership.records import insert_member
from app.vault import db
from tests import canary

CANARIES = {
    "work_name": "Canary Scarlett Workname 91",
    "real_name": "Canary Bronwen Realname 37",
    "email": "canary.mailbox.5521@example.org",
    "mobile": "07700 900551",
}


def _plant(conn, server_keys) -> str:
    with db.transaction(conn):
        return insert_member(
            conn, server_keys, kind="individual",
            identity={"work_name": CANARIES["work_name"], "real_name": CANARIES["real_name"]},
            contact={"email": CANARIES["email"], "mobile": CANARIES["mobile"]},
            delivery=True,
        )


def _canary_values() -> list[str]:
    # The mobile is also searched for in the form the normaliser gives it.
    return [*CANARIES.values(), "+447700900551", "7700900551"]


def test_database_file_does_not_open_in_plain_sqlite(app, config) -> None:
    with open(config.database_path, "rb") as handle:
        assert not handle.read(16).startswith(b"SQLite format 3")
    plain = sqlite3.connect(config.database_path)
    try:
        with pytest.raises(sqlite3.DatabaseError):
            plain.execute("SELECT * FROM sqlite_master").fetchall()
    finally:
        plain.close()


def test_connection_pragmas(conn) -> None:
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY


def test_schema_sql_declares_the_version_the_code_expects(config) -> None:
    declared = db.declared_schema_version(config.schema_path.read_text(encoding="utf-8"))
    assert declared == db.SCHEMA_VERSION


def test_canaries_appear_nowhere_in_files_wal_or_logs(app, conn, config, server_keys,
                                                       database_key, all_logs) -> None:
    _plant(conn, server_keys)
    app.test_client().get("/")  # a request, so request logging runs too
    files = canary.database_files(config.database_path)
    assert any(p.name.endswith("-wal") for p in files), "the WAL must be scanned too"
    for path in files:
        assert canary.find(path.read_bytes(), _canary_values()) == [], path.name
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert canary.find(config.database_path.read_bytes(), _canary_values()) == []
    assert canary.find(all_logs.text.encode("utf-8"), _canary_values()) == []


def test_canaries_appear_nowhere_in_the_decrypted_database(conn, config, server_keys,
                                                           database_key) -> None:
    _plant(conn, server_keys)
    dump = canary.decrypted_dump(config.database_path, database_key)
    assert b"members" in dump, "the dump really was decrypted"
    assert canary.find(dump, _canary_values()) == []


def test_canary_search_finds_values_in_every_encoding() -> None:
    """The scanner itself must not be blind: every encoding it claims to search is found."""
    import base64

    value = CANARIES["email"]
    raw = value.encode()
    for prefix in (b"", b"a", b"ab", b"abc"):
        blob = prefix + raw + b"tail"
        for encoded in (blob, value.encode("utf-16-le"), value.encode("utf-16-be"),
                        raw.hex().encode(), raw.hex().upper().encode(),
                        base64.b64encode(blob), base64.urlsafe_b64encode(blob)):
            assert canary.find(b"xx" + encoded + b"yy", [value]), (prefix, encoded)


def test_wrong_key_does_not_open_the_database(app, config) -> None:
    with pytest.raises(db.StartupError, match="does not open with the database key"):
        db.connect(config.database_path, bytes(32))


def test_request_connection_goes_back_to_the_pool_at_teardown(app) -> None:
    from app.web.state import get_db

    with app.test_request_context("/"):
        app.preprocess_request()
        conn = get_db()
        assert get_db() is conn, "one connection per request"
        assert tuple(conn.execute("SELECT 1").fetchone()) == (1,)
    with app.test_request_context("/"):
        app.preprocess_request()
        assert get_db() is conn, "the next request reuses it, page cache and all"


def test_pooled_connection_has_every_pragma_and_no_checkpoint_on_commit(app) -> None:
    from app.web.state import get_db

    with app.test_request_context("/"):
        app.preprocess_request()
        conn = get_db()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL, still
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
        assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0


def test_request_that_leaves_a_transaction_open_is_rolled_back(app, conn) -> None:
    from app.web.state import get_db

    with app.test_request_context("/"):
        app.preprocess_request()
        pooled = get_db()
        pooled.execute("BEGIN IMMEDIATE")
        pooled.execute("INSERT INTO check_counts (day, count) VALUES ('2026-01-01', 1)")
    assert not pooled.in_transaction
    assert conn.execute("SELECT count(*) FROM check_counts").fetchone()[0] == 0


def _pool(config, database_key, **options):
    from app.vault.pool import ConnectionPool

    return ConnectionPool(config.database_path, database_key, **options)


def test_threads_writing_at_once_take_turns_on_the_lock_not_the_busy_handler(
        app, config, database_key, conn) -> None:
    import threading

    pool = _pool(config, database_key, size=8, checkpoint_seconds=None)
    failures: list[BaseException] = []

    def write(n: int) -> None:
        c = pool.acquire()
        # No busy handler at all: any wait on SQLite's lock would fail at once. (Setting a
        # pragma is refused on a service connection: the test lifts the guard to do it.)
        c.set_authorizer(None)
        c.execute("PRAGMA busy_timeout = 0")
        c.set_authorizer(db.service_authorizer)
        try:
            for i in range(25):
                with db.transaction(c):
                    c.execute("INSERT INTO check_counts (day, count) VALUES (?, 1)",
                              (f"t{n}-{i}",))
        except BaseException as error:  # reported below
            failures.append(error)
        finally:
            pool.release(c)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pool.close()
    assert failures == []
    assert conn.execute("SELECT count(*) FROM check_counts").fetchone()[0] == 8 * 25


def test_checkpoints_happen_in_the_background_not_on_commit(app, config, database_key) -> None:
    import time

    pool = _pool(config, database_key, checkpoint_seconds=None)
    c = pool.acquire()
    before = config.database_path.stat().st_size
    with db.transaction(c):
        c.executemany("INSERT INTO check_counts (day, count) VALUES (?, ?)",
                      [(f"d{i:05}-" + "x" * 200, i) for i in range(2000)])
    assert config.database_path.stat().st_size == before, "a commit checkpointed"
    pool.release(c)
    background = _pool(config, database_key, checkpoint_seconds=0.05)
    background.release(background.acquire())  # first use starts the checkpointer
    deadline = time.monotonic() + 5
    while config.database_path.stat().st_size == before and time.monotonic() < deadline:
        time.sleep(0.05)
    background.close()
    pool.close()
    assert config.database_path.stat().st_size > before, "the checkpointer never ran"
