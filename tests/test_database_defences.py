"""SQLite's defensive settings: what a web or worker connection may not do."""

from __future__ import annotations

import pytest

from app.vault import db
from app.web.state import get_db


@pytest.fixture
def service(app, config, database_key):
    connection = db.connect(config.database_path, database_key, db.Rights.SERVICE)
    yield connection
    connection.close()


def test_every_connection_distrusts_the_schema_and_checks_cell_sizes(conn) -> None:
    assert db.scalar(conn, "PRAGMA trusted_schema") == 0
    assert db.scalar(conn, "PRAGMA cell_size_check") == 1


@pytest.mark.parametrize("statement", [
    "ATTACH DATABASE '/tmp/uglymugs-attached.db' AS other",
    "ATTACH DATABASE ':memory:' AS other",
    "DETACH DATABASE main",
    "PRAGMA key = 'guess'",
    "PRAGMA rekey = 'x'",
    "PRAGMA foreign_keys = OFF",
    "PRAGMA trusted_schema = ON",
    "PRAGMA secure_delete = OFF",
    "PRAGMA writable_schema = ON",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA trusted_schema",
    "PRAGMA table_info(accounts)",
    "SELECT load_extension('/tmp/evil.so')",
    "SELECT sqlcipher_export('other')",
    "CREATE TABLE smuggled (x)",
    "CREATE TEMP TABLE smuggled (x)",
    "CREATE TRIGGER t AFTER INSERT ON sessions BEGIN DELETE FROM accounts; END",
    "DROP TABLE sessions",
    "ALTER TABLE sessions ADD COLUMN ip TEXT",
    "CREATE VIEW v AS SELECT 1",
    "CREATE INDEX smuggled ON sessions (created_at)",
    "VACUUM",
    "REINDEX",
    "ANALYZE",
])
def test_a_service_connection_refuses_what_the_app_never_runs(service, statement) -> None:
    with pytest.raises(db.DatabaseError, match=r"not authorized|authorization denied"):
        service.execute(statement)


def test_a_service_connection_runs_what_the_app_runs(service) -> None:
    assert db.schema_version(service) == db.SCHEMA_VERSION
    with db.transaction(service):
        service.execute("INSERT INTO monitoring_counts (question, answer, count) "
                        "VALUES ('gender', 'woman', 0)")
        service.execute("UPDATE monitoring_counts SET count = count + 1")
        service.execute("DELETE FROM monitoring_counts")
    rows = service.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                           "WHERE i < 3) SELECT count(*) AS c, max(i) AS m FROM n").fetchone()
    assert (rows["c"], rows["m"]) == (3, 3)


def test_the_request_connection_is_a_service_connection(app) -> None:
    with app.test_request_context("/"):
        from app.web.state import load_keys

        load_keys(app)
        with pytest.raises(db.DatabaseError, match="not authorized"):
            get_db().execute("ATTACH DATABASE ':memory:' AS other")


def test_the_worker_connects_with_service_rights(config, database_key, app) -> None:
    from app.worker.scheduler import Jobs

    jobs = Jobs(config.database_path, database_key, courier=None, clock=None,  # type: ignore[arg-type]
                signing_key=None)
    connection = jobs._connect()
    try:
        with pytest.raises(db.DatabaseError, match="not authorized"):
            connection.execute("PRAGMA foreign_keys = OFF")
    finally:
        connection.close()
