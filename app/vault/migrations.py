"""Schema migrations: an existing database is upgraded step by step, as PRAGMA user_version says.

The migrations folder (Config.migrations_path, `migrations/` at the repo root) holds one
file per step, `NNNN_short_name.sql` or `NNNN_short_name.py`, where NNNN is the version
the database has after the step. A .py step defines `upgrade(conn) -> None`.

Each step is one transaction that also sets user_version, so a step that fails (a row
that does not meet a new CHECK, a power cut) leaves the database exactly at the previous
version and the next `db upgrade` starts that step afresh. `db upgrade` itself
(`upgrade_database`) goes further and runs all pending steps in one transaction
(`upgrade_whole`), so a database is only ever at the version it started from or at the
code's. For the same reason SQL is run
statement by statement and never through executescript, which COMMITs first.

Every step runs with foreign keys off, as SQLite's procedure for changing a table's
definition needs (https://www.sqlite.org/lang_altertable.html#otheralter): with them on,
dropping a table that others reference would cascade or fail. In exchange a step commits
only if `PRAGMA foreign_key_check` finds nothing, and a step that deletes rows deletes
their dependants itself, since no cascade fires.
"""

from __future__ import annotations

import importlib.util
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import sqlcipher3

from app.vault import db

Step = Callable[[db.Connection], None]

_FILE_NAME = re.compile(r"(?P<version>\d{4})_(?P<name>[a-z0-9]+(?:_[a-z0-9]+)*)\.(?P<kind>sql|py)")

# Leading whitespace and comments, skipped to find a statement's first keyword.
_LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)

# The runner owns the transaction and the pragmas around it: a step that committed or set
# the version itself would break "one step, one transaction".
_RUNNER_ONLY = re.compile(
    r"(?:BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|VACUUM)\b"
    r"|PRAGMA\s+(?:\w+\s*\.\s*)?(?:foreign_keys|user_version|legacy_alter_table)\b",
    re.IGNORECASE,
)


class MigrationError(db.StartupError):
    """A step that cannot be planned or applied, with what state the database was left in.

    A StartupError, so every command that reports those reports this one too.
    """


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def label(self) -> str:
        return f"{self.version:04d} {self.name}"


@dataclass(frozen=True)
class Applied:
    migration: Migration
    milliseconds: int

    @property
    def line(self) -> str:
        return f"{self.migration.label} ... done ({self.milliseconds} ms)"


@dataclass(frozen=True)
class Status:
    current: int
    latest: int
    pending: tuple[Migration, ...]
    # Why an upgrade would refuse this database (None when it would not).
    refusal: str | None


@dataclass(frozen=True)
class Outcome:
    before: int
    after: int
    applied: tuple[Applied, ...]


Progress = Callable[[Applied], None]


def discover(directory: Path) -> list[Migration]:
    """The steps in `directory`, in order; refuses misnamed files, gaps and duplicates."""
    if not directory.is_dir():
        raise MigrationError(f"There is no migrations folder at {directory}.")
    found: dict[int, Migration] = {}
    for path in sorted(directory.iterdir()):
        if path.is_dir() or path.name.startswith(".") or path.suffix not in (".sql", ".py"):
            continue
        match = _FILE_NAME.fullmatch(path.name)
        if match is None or int(match["version"]) == 0:
            raise MigrationError(
                f"{path} is not named NNNN_short_name.sql or NNNN_short_name.py, with NNNN "
                "(from 0001) the schema version the database has after the step."
            )
        version = int(match["version"])
        if version in found:
            raise MigrationError(
                f"Two migrations in {directory} lead to version {version}: "
                f"{found[version].path.name} and {path.name}. Each version has one step."
            )
        found[version] = Migration(version, match["name"], path)
    if not found:
        raise MigrationError(f"The migrations folder {directory} holds no migrations.")
    versions = sorted(found)
    for before, after in pairwise(versions):
        if after != before + 1:
            missing = ", ".join(f"{v:04d}" for v in range(before + 1, after))
            raise MigrationError(
                f"The migrations in {directory} jump from version {before} to {after}: "
                f"step {missing} is missing."
            )
    return [found[v] for v in versions]


def plan(current: int, migrations: Sequence[Migration],
         where: str = "The database") -> Status:
    """What an upgrade from `current` would do, or why it would refuse."""
    latest = migrations[-1].version
    oldest = migrations[0].version - 1
    refusal = None
    if current > latest:
        refusal = (
            f"{where} has schema version {current}, but this code knows versions up to "
            f"{latest}: the code is older than the data. Install the matching release of "
            "uglymugs; nothing was changed."
        )
    elif current < oldest:
        refusal = (
            f"{where} has schema version {current}, older than the oldest version these "
            f"migrations upgrade from ({oldest}). Upgrade it with an earlier release of "
            "uglymugs first; nothing was changed."
        )
    pending = () if refusal else tuple(m for m in migrations if m.version > current)
    return Status(current, latest, pending, refusal)


def _without_leading_comments(text: str) -> str:
    match = _LEADING_NOISE.match(text)
    return text[match.end():] if match else text


def split_statements(script: str, source: str) -> list[str]:
    """The statements of an SQL script, split where SQLite itself says one is complete.

    complete_statement knows about string literals, comments and trigger bodies, so a
    semicolon inside any of those does not end a statement.
    """
    statements: list[str] = []
    start = 0
    for index, char in enumerate(script):
        if char == ";" and sqlcipher3.complete_statement(script[start:index + 1]):
            statements.append(script[start:index + 1].strip())
            start = index + 1
    if _without_leading_comments(script[start:]).strip():
        raise MigrationError(f"{source} ends with an incomplete statement (a missing ';'?).")
    for statement in statements:
        body = _without_leading_comments(statement)
        if _RUNNER_ONLY.match(body):
            raise MigrationError(
                f"{source} has a statement the runner keeps for itself "
                f"({body.split(None, 1)[0]} ...): each step is one transaction that the "
                "runner opens, checks and commits, setting user_version itself."
            )
    return statements


def _sql_step(migration: Migration) -> Step:
    statements = split_statements(migration.path.read_text(encoding="utf-8"),
                                  migration.path.name)

    def run(conn: db.Connection) -> None:
        for statement in statements:
            conn.execute(statement)

    return run


def _python_step(migration: Migration) -> Step:
    # Loaded from its path, not imported by name: migrations/ is not a package.
    spec = importlib.util.spec_from_file_location(
        f"uglymugs_migration_{migration.version:04d}", migration.path)
    if spec is None or spec.loader is None:
        raise MigrationError(f"{migration.path} cannot be loaded as Python.")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise MigrationError(
            f"{migration.label} could not be loaded ({type(error).__name__}: {error}); "
            "nothing was changed."
        ) from error
    upgrade = getattr(module, "upgrade", None)
    if not callable(upgrade):
        raise MigrationError(f"{migration.path} defines no upgrade(conn) function.")
    step: Step = upgrade
    return step


def _prepare(migration: Migration) -> Step:
    """Read and check a step before its transaction opens, so a bad file changes nothing."""
    if migration.path.suffix == ".sql":
        return _sql_step(migration)
    return _python_step(migration)


def apply(conn: db.Connection, migration: Migration) -> Applied:
    """Run one step in one transaction that also sets user_version to the step's version."""
    if conn.in_transaction:
        raise MigrationError("A migration step cannot run inside another transaction.")
    step = _prepare(migration)
    previous = db.schema_version(conn)
    started = time.perf_counter()
    # Only outside a transaction does this take effect (SQLite ignores it within one).
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        with db.transaction(conn):
            step(conn)
            if not conn.in_transaction:
                raise MigrationError(
                    f"{migration.label} ended the runner's transaction itself: whatever it "
                    f"did before that was committed, and the database still says version "
                    f"{previous}. Restore the backup taken before the upgrade."
                )
            dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
            if dangling:
                tables = ", ".join(sorted({str(row["table"]) for row in dangling}))
                raise MigrationError(
                    f"{migration.label} would leave rows whose foreign keys point nowhere "
                    f"(in {tables}). It was rolled back: the database stays at version "
                    f"{previous}."
                )
            # An int from the file name; PRAGMA takes no bound parameters.
            conn.execute(f"PRAGMA user_version = {migration.version:d}")
    except MigrationError:
        raise
    except Exception as error:
        raise MigrationError(
            f"{migration.label} failed ({type(error).__name__}: {error}). It was rolled "
            f"back: the database stays at version {previous}, with nothing of this step kept."
        ) from error
    finally:
        conn.execute("PRAGMA foreign_keys = ON")
    return Applied(migration, round((time.perf_counter() - started) * 1000))


def upgrade(conn: db.Connection, migrations: Sequence[Migration],
            progress: Progress | None = None, where: str = "The database") -> list[Applied]:
    """Apply every pending step in order; stops at the first failure (earlier ones stay)."""
    status = plan(db.schema_version(conn), migrations, where)
    if status.refusal is not None:
        raise MigrationError(status.refusal)
    done: list[Applied] = []
    for migration in status.pending:
        applied = apply(conn, migration)
        done.append(applied)
        if progress is not None:
            progress(applied)
    return done


def upgrade_whole(conn: db.Connection, migrations: Sequence[Migration],
                  progress: Progress | None = None,
                  where: str = "The database") -> list[Applied]:
    """Apply every pending step in ONE transaction: the old version or the new, never between.

    What `db upgrade` runs. Each step is checked as `apply` checks it (foreign keys, its
    own transaction left alone) and sets user_version as it ends, but nothing commits
    until the last step has: a failure, or a process killed part-way, leaves the database
    exactly as it was before the upgrade, not at some version in between that no release
    of the code runs on.
    """
    status = plan(db.schema_version(conn), migrations, where)
    if status.refusal is not None:
        raise MigrationError(status.refusal)
    if not status.pending:
        return []
    if conn.in_transaction:
        raise MigrationError("An upgrade cannot run inside another transaction.")
    steps = [(migration, _prepare(migration)) for migration in status.pending]
    before = db.schema_version(conn)
    kept = (f"The whole upgrade was rolled back: the database stays at version {before}, "
            "with nothing of any step kept.")
    done: list[Applied] = []
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        with db.transaction(conn):
            for migration, step in steps:
                started = time.perf_counter()
                try:
                    step(conn)
                except Exception as error:
                    raise MigrationError(
                        f"{migration.label} failed ({type(error).__name__}: {error}). {kept}"
                    ) from error
                if not conn.in_transaction:
                    raise MigrationError(
                        f"{migration.label} ended the runner's transaction itself: what ran "
                        "before that was committed, and the database's version no longer "
                        "says what it holds. Restore the backup taken before the upgrade.")
                dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
                if dangling:
                    tables = ", ".join(sorted({str(row["table"]) for row in dangling}))
                    raise MigrationError(
                        f"{migration.label} would leave rows whose foreign keys point "
                        f"nowhere (in {tables}). {kept}")
                # An int from the file name; PRAGMA takes no bound parameters.
                conn.execute(f"PRAGMA user_version = {migration.version:d}")
                applied = Applied(migration, round((time.perf_counter() - started) * 1000))
                done.append(applied)
                if progress is not None:
                    progress(applied)
    finally:
        conn.execute("PRAGMA foreign_keys = ON")
    return done


def _migrations_for_code(directory: Path, code_version: int) -> list[Migration]:
    migrations = discover(directory)
    if migrations[-1].version != code_version:
        raise MigrationError(
            f"The last migration in {directory} leads to version "
            f"{migrations[-1].version}, but this code needs version {code_version}: the "
            "installation is incomplete or mixed. Nothing was changed."
        )
    return migrations


def database_status(path: Path, key: bytes, directory: Path,
                    code_version: int = db.SCHEMA_VERSION) -> Status:
    migrations = _migrations_for_code(directory, code_version)
    conn = db.connect(path, key)
    try:
        return plan(db.schema_version(conn), migrations, f"The database at {path}")
    finally:
        conn.close()


def upgrade_database(path: Path, key: bytes, directory: Path, progress: Progress | None = None,
                     code_version: int = db.SCHEMA_VERSION) -> Outcome:
    """Bring the database at `path` to `code_version`, reporting each step to `progress`."""
    migrations = _migrations_for_code(directory, code_version)
    conn = db.connect(path, key)
    try:
        before = db.schema_version(conn)
        applied = upgrade_whole(conn, migrations, progress, f"The database at {path}")
        return Outcome(before, db.schema_version(conn), tuple(applied))
    finally:
        conn.close()
