"""The migration runner: one step, one transaction, and nothing changed on a refusal."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.vault import db, migrations
from app.web.config import Config
from tests.migrations.databases import REPO, normalised_schema, snapshot
from tests.migrations.version5 import build_v5

V = db.SCHEMA_VERSION


def _name(version: int, rest: str) -> str:
    return f"{version:04d}_{rest}"


def _steps(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def _current(path: Path, key: bytes) -> Path:
    db.init_database(path, key, REPO / "schema.sql")
    return path


@pytest.fixture
def current_db(tmp_path: Path, database_key: bytes) -> Path:
    return _current(tmp_path / "var" / "u.db", database_key)


@pytest.fixture
def conn(current_db: Path, database_key: bytes):
    connection = db.connect(current_db, database_key)
    yield connection
    connection.close()


ADD_NOTES_PY = '''
def upgrade(conn) -> None:
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, code TEXT NOT NULL) STRICT")
    conn.execute("INSERT INTO notes (code) VALUES ('first')")
'''

BROKEN_PY = '''
def upgrade(conn) -> None:
    conn.execute("CREATE TABLE half_done (id INTEGER PRIMARY KEY) STRICT")
    conn.execute("INSERT INTO notes (code) VALUES ('from the broken step')")
    conn.execute("DROP INDEX outbox_due")
    raise RuntimeError("this step breaks halfway")
'''


def test_a_python_step_runs_and_sets_the_version(tmp_path, conn) -> None:
    folder = _steps(tmp_path / "steps", {_name(V + 1, "add_notes.py"): ADD_NOTES_PY})
    done = migrations.upgrade(conn, migrations.discover(folder))
    assert [step.migration.version for step in done] == [V + 1]
    assert db.schema_version(conn) == V + 1
    assert [tuple(row) for row in conn.execute("SELECT code FROM notes")] == [("first",)]


def test_a_failing_step_rolls_back_to_the_previous_version_with_nothing_kept(
        tmp_path, conn, database_key) -> None:
    folder = _steps(tmp_path / "steps", {_name(V + 1, "add_notes.py"): ADD_NOTES_PY,
                                         _name(V + 2, "broken.py"): BROKEN_PY})
    with pytest.raises(migrations.MigrationError) as refused:
        migrations.upgrade(conn, migrations.discover(folder))
    assert f"stays at version {V + 1}" in str(refused.value)
    assert "this step breaks halfway" in str(refused.value)

    # The same database as one that only ever had the good step applied.
    reference = db.connect(_current(tmp_path / "ref" / "u.db", database_key), database_key)
    try:
        good_only = _steps(tmp_path / "good", {_name(V + 1, "add_notes.py"): ADD_NOTES_PY})
        migrations.upgrade(reference, migrations.discover(good_only))
        assert snapshot(conn) == snapshot(reference)
    finally:
        reference.close()


def test_an_sql_step_that_fails_midway_keeps_none_of_its_statements(tmp_path, conn) -> None:
    before = snapshot(conn)
    folder = _steps(tmp_path / "steps", {_name(V + 1, "midway.sql"): """
        CREATE TABLE first_half (id INTEGER PRIMARY KEY) STRICT;
        INSERT INTO first_half (id) VALUES (1);
        INSERT INTO no_such_table (id) VALUES (1);
    """})
    with pytest.raises(migrations.MigrationError, match=f"stays at version {V}"):
        migrations.upgrade(conn, migrations.discover(folder))
    assert snapshot(conn) == before


def test_a_step_that_leaves_a_dangling_foreign_key_is_rolled_back(tmp_path, conn) -> None:
    before = snapshot(conn)
    folder = _steps(tmp_path / "steps", {_name(V + 1, "orphan.sql"): """
        INSERT INTO accounts (id, username, password_hash, role, member_id, created_at)
        VALUES ('a1', 'someone', 'x', 'member', 'no-such-member', '2026-01-01T00:00:00+00:00');
    """})
    with pytest.raises(migrations.MigrationError, match=r"point nowhere \(in accounts\)"):
        migrations.upgrade(conn, migrations.discover(folder))
    assert snapshot(conn) == before


def test_foreign_keys_are_enforced_again_after_a_step_whether_it_worked_or_not(
        tmp_path, conn) -> None:
    good = _steps(tmp_path / "good", {_name(V + 1, "add_notes.py"): ADD_NOTES_PY})
    migrations.upgrade(conn, migrations.discover(good))
    assert db.scalar(conn, "PRAGMA foreign_keys") == 1
    bad = _steps(tmp_path / "bad", {_name(V + 1, "add_notes.py"): ADD_NOTES_PY,
                                    _name(V + 2, "broken.py"): BROKEN_PY})
    with pytest.raises(migrations.MigrationError):
        migrations.upgrade(conn, migrations.discover(bad))
    assert db.scalar(conn, "PRAGMA foreign_keys") == 1


def test_a_step_may_not_manage_its_own_transaction_or_version(tmp_path, conn) -> None:
    before = snapshot(conn)
    for statement in ("COMMIT", "BEGIN IMMEDIATE", "PRAGMA user_version = 42",
                      "PRAGMA foreign_keys = ON", "ROLLBACK", "VACUUM"):
        folder = _steps(tmp_path / statement.replace(" ", "_"), {_name(V + 1, "sneaky.sql"):
            f"CREATE TABLE t (id INTEGER PRIMARY KEY) STRICT;\n-- why\n{statement};\n"})
        with pytest.raises(migrations.MigrationError, match="the runner keeps for itself"):
            migrations.upgrade(conn, migrations.discover(folder))
    assert snapshot(conn) == before


def test_a_python_step_that_commits_by_itself_is_not_recorded_as_done(tmp_path, conn) -> None:
    folder = _steps(tmp_path / "steps", {_name(V + 1, "commits.py"): (
        "def upgrade(conn):\n"
        "    conn.execute('CREATE TABLE early (id INTEGER PRIMARY KEY) STRICT')\n"
        "    conn.execute('COMMIT')\n")})
    with pytest.raises(migrations.MigrationError, match="ended the runner's transaction"):
        migrations.upgrade(conn, migrations.discover(folder))
    assert db.schema_version(conn) == V


def test_progress_reports_each_step_with_its_time(tmp_path, conn) -> None:
    folder = _steps(tmp_path / "steps", {
        _name(V + 1, "add_notes.py"): ADD_NOTES_PY,
        _name(V + 2, "more_notes.sql"): "INSERT INTO notes (code) VALUES ('second');"})
    lines: list[str] = []
    migrations.upgrade(conn, migrations.discover(folder), lambda step: lines.append(step.line))
    assert len(lines) == 2
    assert re.fullmatch(rf"{V + 1:04d} add_notes \.\.\. done \(\d+ ms\)", lines[0])
    assert re.fullmatch(rf"{V + 2:04d} more_notes \.\.\. done \(\d+ ms\)", lines[1])


def test_a_database_newer_than_the_code_is_refused_and_left_unchanged(
        tmp_path, current_db, database_key) -> None:
    newer = db.connect(current_db, database_key)
    newer.execute("PRAGMA user_version = 99")
    newer.close()
    before = current_db.read_bytes()
    folder = _steps(tmp_path / "steps", {_name(V, "latest.sql"): "SELECT 1;"})
    with pytest.raises(migrations.MigrationError) as refused:
        migrations.upgrade_database(current_db, database_key, folder)
    message = str(refused.value)
    assert "schema version 99" in message and "the code is older than the data" in message
    assert "Install the matching release" in message and "nothing was changed" in message
    assert current_db.read_bytes() == before


def test_a_database_older_than_the_first_step_is_refused(tmp_path, conn) -> None:
    folder = _steps(tmp_path / "steps", {_name(V + 2, "later.sql"): "SELECT 1;"})
    before = snapshot(conn)
    with pytest.raises(migrations.MigrationError, match="older than the oldest version"):
        migrations.upgrade(conn, migrations.discover(folder))
    assert snapshot(conn) == before


def test_migrations_that_do_not_end_at_the_code_version_are_refused(
        tmp_path, current_db, database_key) -> None:
    folder = _steps(tmp_path / "steps", {_name(V + 1, "add_notes.py"): ADD_NOTES_PY})
    with pytest.raises(migrations.MigrationError, match="incomplete or mixed"):
        migrations.upgrade_database(current_db, database_key, folder)
    conn = db.connect(current_db, database_key)
    try:
        assert db.schema_version(conn) == V
    finally:
        conn.close()


def test_a_gap_in_the_numbering_is_refused(tmp_path) -> None:
    folder = _steps(tmp_path / "steps", {"0006_a.sql": "SELECT 1;", "0008_c.sql": "SELECT 1;"})
    with pytest.raises(migrations.MigrationError, match="jump from version 6 to 8: step 0007"):
        migrations.discover(folder)


def test_two_steps_to_the_same_version_are_refused(tmp_path) -> None:
    folder = _steps(tmp_path / "steps", {"0006_a.sql": "SELECT 1;",
                                         "0006_b.py": "def upgrade(conn): pass\n"})
    with pytest.raises(migrations.MigrationError, match="lead to version 6"):
        migrations.discover(folder)


@pytest.mark.parametrize("name", ["6_short.sql", "0006-dash.sql", "0006_Capital.sql",
                                  "0006.sql", "0000_zero.sql", "00006_five_digits.py"])
def test_a_misnamed_step_is_refused_rather_than_skipped(tmp_path, name) -> None:
    folder = _steps(tmp_path / "steps", {"0007_fine.sql": "SELECT 1;", name: "SELECT 1;"})
    with pytest.raises(migrations.MigrationError, match="is not named NNNN_short_name"):
        migrations.discover(folder)


def test_other_files_beside_the_steps_are_ignored(tmp_path) -> None:
    folder = _steps(tmp_path / "steps", {"0006_a.sql": "SELECT 1;", "README.md": "notes"})
    (folder / "__pycache__").mkdir()
    assert [m.label for m in migrations.discover(folder)] == ["0006 a"]


def test_sql_is_split_where_sqlite_says_a_statement_ends() -> None:
    script = """
        -- a comment; with a semicolon
        CREATE TABLE t (note TEXT DEFAULT 'a; b') STRICT;
        /* block; comment */ INSERT INTO t (note) VALUES ('c;d'); INSERT INTO t DEFAULT VALUES;
        CREATE TRIGGER t_guard BEFORE DELETE ON t BEGIN
            SELECT RAISE(ABORT, 'kept; always');
        END;
        -- a trailing comment
    """
    statements = migrations.split_statements(script, "test.sql")
    assert len(statements) == 4
    assert statements[1].startswith("/* block; comment */ INSERT")
    assert statements[3].startswith("CREATE TRIGGER") and statements[3].endswith("END;")


def test_an_unterminated_statement_is_refused_before_anything_runs() -> None:
    with pytest.raises(migrations.MigrationError, match="incomplete statement"):
        migrations.split_statements("SELECT 1;\nSELECT 2\n", "test.sql")


# The real migrations/ folder against schema.sql and the code.

def test_the_last_migration_is_the_version_of_the_code_and_of_schema_sql() -> None:
    last = migrations.discover(REPO / "migrations")[-1]
    declared = db.declared_schema_version((REPO / "schema.sql").read_text(encoding="utf-8"))
    assert last.version == db.SCHEMA_VERSION == declared


def test_a_new_database_and_an_upgraded_v5_database_have_the_same_schema(
        tmp_path, database_key) -> None:
    new = tmp_path / "new.db"
    db.init_database(new, database_key, REPO / "schema.sql")
    old = tmp_path / "old.db"
    build_v5(old, database_key)
    migrations.upgrade_database(old, database_key, REPO / "migrations")
    schemas = []
    for path in (new, old):
        conn = db.connect(path, database_key)
        try:
            schemas.append((db.schema_version(conn), normalised_schema(conn)))
        finally:
            conn.close()
    assert schemas[0] == schemas[1]


def test_upgrade_leaves_a_current_database_exactly_as_it_was(current_db, database_key) -> None:
    before = current_db.read_bytes()
    outcome = migrations.upgrade_database(current_db, database_key, REPO / "migrations")
    assert outcome.applied == () and outcome.before == outcome.after == V
    assert current_db.read_bytes() == before


# The operator's commands, and the processes that refuse a database not yet upgraded.

def _cli(keys_dir: Path, database: Path, *args: str):
    config = Config(keys_dir=keys_dir, database_path=database, testing=True,
                    cheap_password_hashing=True)
    return create_app(config).test_cli_runner().invoke(args=list(args))


def _flask(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UGLYMUGS_")}
    env.update(env_overrides)
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_db_upgrade_prints_each_step_and_then_has_nothing_to_do(keys_dir, v5_sealed,
                                                               v5_path) -> None:
    first = _cli(keys_dir, v5_path, "db", "upgrade")
    assert first.exit_code == 0, first.output
    assert re.search(r"^0006 area_and_category_checks \.\.\. done \(\d+ ms\)$", first.output,
                     re.MULTILINE), first.output
    assert f"now at version {V} (it was at 5)" in first.output
    again = _cli(keys_dir, v5_path, "db", "upgrade")
    assert again.exit_code == 0
    assert f"already at version {V}, nothing to do" in again.output


def test_db_status_shows_both_versions_and_the_pending_steps(keys_dir, v5_sealed,
                                                            v5_path) -> None:
    before = _cli(keys_dir, v5_path, "db", "status")
    assert before.exit_code == 0, before.output
    assert "schema version 5." in before.output
    assert f"This code: schema version {V}." in before.output
    assert f"Pending steps ({V - 5})" in before.output
    assert "  0006 area_and_category_checks" in before.output
    _cli(keys_dir, v5_path, "db", "upgrade")
    after = _cli(keys_dir, v5_path, "db", "status")
    assert after.exit_code == 0 and "Up to date: no pending steps." in after.output


def test_db_commands_refuse_a_newer_database_with_a_message_not_a_traceback(
        keys_dir, current_db, database_key) -> None:
    newer = db.connect(current_db, database_key)
    newer.execute("PRAGMA user_version = 99")
    newer.close()
    before = current_db.read_bytes()
    for command in ("upgrade", "status"):
        result = _cli(keys_dir, current_db, "db", command)
        assert result.exit_code == 1, command
        assert "the code is older than the data" in result.output
        assert "Traceback" not in result.output
    assert current_db.read_bytes() == before


def test_db_upgrade_reports_a_failed_step_and_exits_1(keys_dir, v5_sealed, v5_path,
                                                      database_key) -> None:
    conn = db.connect(v5_path, database_key)
    conn.execute("UPDATE member_alert_areas SET area = 'atlantis' WHERE member_id = 'm-sms'")
    conn.close()
    result = _cli(keys_dir, v5_path, "db", "upgrade")
    assert result.exit_code == 1
    assert "0006 area_and_category_checks failed" in result.output
    assert "stays at version 5" in result.output and "Traceback" not in result.output


def test_demo_setup_upgrades_an_existing_demo_database(tmp_path, keys_dir, v5_sealed,
                                                      v5_path) -> None:
    demo_keys = tmp_path / "demo-keys"
    shutil.copytree(keys_dir, demo_keys)
    result = _cli(demo_keys, v5_path, "demo-setup")
    assert result.exit_code == 0, result.output
    assert "0006 area_and_category_checks ... done" in result.output
    assert _cli(demo_keys, v5_path, "db", "status").output.count("Up to date") == 1


@pytest.mark.parametrize("command", [("-m", "flask", "--app", "app", "serve", "--port", "0"),
                                     ("-c", "import app.wsgi")])
def test_serving_a_v5_database_is_refused_with_the_db_upgrade_hint(keys_dir, v5_sealed,
                                                                   v5_path, command) -> None:
    result = _flask({"UGLYMUGS_KEYS_DIR": str(keys_dir), "UGLYMUGS_DATABASE": str(v5_path)},
                    *command)
    assert result.returncode == 1
    assert "Not starting:" in result.stderr
    assert "schema version 5" in result.stderr
    assert "run flask --app app db upgrade" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
