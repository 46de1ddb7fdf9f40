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


def test_request_connection_is_closed_at_teardown(app) -> None:
    from app.web.state import get_db

    with app.test_request_context("/"):
        app.preprocess_request()
        conn = get_db()
        assert get_db() is conn, "one connection per request"
        assert tuple(conn.execute("SELECT 1").fetchone()) == (1,)
    with pytest.raises(db.sqlcipher3.ProgrammingError):
        conn.execute("SELECT 1")
