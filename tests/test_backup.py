"""Backups: consistent under load, sealed, checked against their manifest, restorable."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from app import create_app
from app.audit.checkpoints import make_checkpoint
from app.vault import backup, db
from app.web.config import Config
from app.web.state import state
from crypto import keystore
from tests import canary
from tests.people import make_member, make_report
from tests.test_storage import CANARIES, _canary_values, _plant

REPO = Path(__file__).resolve().parents[1]


def _cli(app_or_config, *args: str):
    app = app_or_config if not isinstance(app_or_config, Config) else create_app(app_or_config)
    return app.test_cli_runner().invoke(args=list(args))


def _backup_key(keys_dir: Path) -> bytes:
    return backup.ensure_backup_key(keys_dir)[0]


def _one_backup(app, tmp_path: Path) -> Path:
    result = _cli(app, "backup", "create", "--to", str(tmp_path / "backups"))
    assert result.exit_code == 0, result.output
    [made] = backup.backups_in(tmp_path / "backups")
    return made


def test_backup_create_then_verify_passes_and_the_manifest_records_the_log(
        app, conn, tmp_path, keys_dir) -> None:
    make_checkpoint(conn, keystore.load_audit_signing_key(keys_dir), state(app).clock())
    path = _one_backup(app, tmp_path)
    manifest = json.loads(backup.manifest_path_for(path).read_text())
    assert manifest["schema_version"] == db.SCHEMA_VERSION
    assert manifest["size"] == path.stat().st_size
    assert manifest["sha256"] == backup.sha256_of(path)
    assert set(manifest["disclosure_log"]) == {"entries", "head_seq", "head_hash"}
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    result = _cli(app, "backup", "verify", str(path))
    assert result.exit_code == 0, result.output
    assert "VERIFIED" in result.output


def test_a_backup_is_ciphertext_and_neither_key_alone_opens_it(app, tmp_path,
                                                                database_key) -> None:
    path = _one_backup(app, tmp_path)
    data = path.read_bytes()
    assert data.startswith(b"UGLYMUGS-BACKUP\x00") and b"SQLite format 3" not in data
    # The database key is not the backup key: the outer layer refuses it.
    with pytest.raises(db.StartupError), backup.opened(path, database_key, database_key,
                                                       tmp_path / "work"):
        pass
    assert list((tmp_path / "work").iterdir()) == [], "the failed attempt left nothing"


def test_canaries_appear_in_no_backup_file_or_manifest(app, conn, tmp_path, server_keys,
                                                       all_logs) -> None:
    _plant(conn, server_keys)
    make_report(app, narrative=f"Narrative naming {CANARIES['work_name']} twice.",
                identifiers=(("phone", CANARIES["mobile"]),))
    _one_backup(app, tmp_path)
    files = list((tmp_path / "backups").iterdir())
    assert len(files) == 2, files
    for path in files:
        assert canary.find(path.read_bytes(), _canary_values()) == [], path.name
    assert canary.find(all_logs.text.encode(), _canary_values()) == []


def test_a_backup_taken_while_reports_arrive_holds_every_report_acknowledged_before_it(
        app, conn, tmp_path, config) -> None:
    reporter = make_member(app)
    acknowledged: list[tuple[float, str]] = []
    stop = threading.Event()
    failures: list[BaseException] = []

    def submit() -> None:
        try:
            while not stop.is_set():
                report_id = make_report(app, reporter)
                acknowledged.append((time.monotonic(), report_id))
        except BaseException as error:
            failures.append(error)

    writer = threading.Thread(target=submit)
    writer.start()
    try:
        while len(acknowledged) < 20:
            time.sleep(0.01)
        began = time.monotonic()
        result = _cli(app, "backup", "create", "--to", str(tmp_path / "backups"))
        ended = time.monotonic()
        while not any(at > ended for at, _ in acknowledged):
            time.sleep(0.01)
    finally:
        stop.set()
        writer.join()
    assert failures == []
    assert result.exit_code == 0, result.output
    before = {report_id for at, report_id in acknowledged if at < began}
    [path] = backup.backups_in(tmp_path / "backups")
    assert _cli(app, "backup", "verify", str(path)).exit_code == 0

    target = tmp_path / "restored" / "uglymugs.db"
    restored = _cli(app, "backup", "restore", str(path), "--to", str(target))
    assert restored.exit_code == 0, restored.output
    restored_app = create_app(replace(config, database_path=target))
    audit = restored_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert audit.exit_code == 0, audit.output
    restored_conn = db.connect(target, state(app).keys.database_key)
    try:
        held = {row["id"] for row in restored_conn.execute("SELECT id FROM reports")}
        assert db.schema_version(restored_conn) == db.SCHEMA_VERSION
    finally:
        restored_conn.close()
    assert before <= held
    assert len(held) < len(acknowledged), "reports kept arriving during the backup"


def test_restore_refuses_to_overwrite_a_database_without_force(app, tmp_path,
                                                               config) -> None:
    path = _one_backup(app, tmp_path)
    make_report(app)
    live = config.database_path.read_bytes()
    refused = _cli(app, "backup", "restore", str(path), "--to", str(config.database_path))
    assert refused.exit_code == 1
    assert "--force" in refused.output
    assert config.database_path.read_bytes() == live
    forced = _cli(app, "backup", "restore", str(path), "--to", str(config.database_path),
                  "--force")
    assert forced.exit_code == 0, forced.output
    conn = db.connect(config.database_path, state(app).keys.database_key)
    try:
        assert db.count(conn, "SELECT count(*) FROM reports") == 0
    finally:
        conn.close()


@pytest.mark.parametrize("damage", ["flip", "truncate", "no_manifest", "edited_manifest",
                                    "appended"])
def test_a_damaged_or_incomplete_backup_fails_verify_and_restore(app, tmp_path,
                                                                 damage) -> None:
    path = _one_backup(app, tmp_path)
    manifest = backup.manifest_path_for(path)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
        doc = json.loads(manifest.read_text())  # the manifest rewritten to match
        doc["sha256"] = backup.sha256_of(path)
        manifest.write_text(json.dumps(doc))
    elif damage == "truncate":
        path.write_bytes(bytes(data[: len(data) - 100]))
    elif damage == "no_manifest":
        manifest.unlink()
    elif damage == "edited_manifest":
        doc = json.loads(manifest.read_text())
        doc["disclosure_log"]["entries"] += 1
        manifest.write_text(json.dumps(doc))
    else:
        path.write_bytes(bytes(data) + b"more")
    result = _cli(app, "backup", "verify", str(path))
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output
    target = tmp_path / "restored.db"
    assert _cli(app, "backup", "restore", str(path), "--to", str(target)).exit_code == 1
    assert not target.exists()


def test_the_stream_refuses_a_backup_cut_at_a_chunk_boundary(tmp_path) -> None:
    from io import BytesIO

    from crypto import backup_stream

    key = os.urandom(32)
    sealed = BytesIO()
    backup_stream.encrypt_stream(BytesIO(b"x" * 100), sealed, key, 100, chunk_bytes=10)
    whole = sealed.getvalue()
    header = 21 + 24
    for chunks in range(0, 10):
        cut = whole[: header + chunks * (10 + 17)]
        with pytest.raises(backup_stream.BackupStreamError):
            backup_stream.decrypt_stream(BytesIO(cut), BytesIO(), key, len(cut))
    out = BytesIO()
    backup_stream.decrypt_stream(BytesIO(whole), out, key, len(whole))
    assert out.getvalue() == b"x" * 100


def test_prune_keeps_the_newest_and_removes_leftovers_of_killed_runs(
        app, tmp_path, config, keys_dir, database_key) -> None:
    directory = tmp_path / "backups"
    key = _backup_key(keys_dir)
    clock = state(app).clock()
    made = [backup.create_backup(config.database_path, database_key, key, directory,
                                 clock + timedelta(days=day))
            for day in range(4)]
    for created in made:  # brought back from elsewhere: file times say nothing
        os.utime(created.path, (1_000_000, 1_000_000))
    stale = directory / ".uglymugs-20200101T000000Z.backup.abcdef.partial"
    stale.write_bytes(b"half a backup")
    os.utime(stale, (1, 1))
    removed = backup.prune(directory, 2)
    assert stale in removed
    assert backup.backups_in(directory) == [made[2].path, made[3].path]
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [made[2].path.name, made[2].manifest_path.name, made[3].path.name,
         made[3].manifest_path.name])


def test_backup_create_makes_a_missing_backup_key_and_says_so(app, tmp_path,
                                                              keys_dir, config) -> None:
    own_keys = tmp_path / "keys"
    shutil.copytree(keys_dir, own_keys)
    (own_keys / backup.BACKUP_KEY).unlink(missing_ok=True)
    result = _cli(replace(config, keys_dir=own_keys), "backup", "create", "--to",
                  str(tmp_path / "backups"))
    assert result.exit_code == 0, result.output
    assert "Created the backup key" in result.output
    assert oct((own_keys / backup.BACKUP_KEY).stat().st_mode & 0o777) == "0o600"
    assert backup.load_backup_key(own_keys) != keystore.load_server_keys(own_keys).database_key


_SLOW_BACKUP = textwrap.dedent("""
    import sys, time
    from datetime import UTC, datetime
    from pathlib import Path
    from app.vault import backup
    from crypto import keystore
    keys, database, out, marker = map(Path, sys.argv[1:5])
    def slow(phase, done, total):
        marker.touch()
        time.sleep(0.2)
    backup.create_backup(database, keystore.load_server_keys(keys).database_key,
                         backup.load_backup_key(keys), out, datetime.now(UTC), progress=slow)
""")


@pytest.mark.parametrize("wait", [0.1, 0.6, 1.5])
def test_kill_9_during_backup_create_leaves_nothing_verify_accepts(
        app, conn, tmp_path, config, keys_dir, wait) -> None:
    with db.transaction(conn):
        # About 6 MB: enough pages and chunks for the kill to land mid-copy.
        conn.execute("CREATE TABLE filler (data BLOB)")
        for _ in range(1500):
            conn.execute("INSERT INTO filler VALUES (?)", (os.urandom(4000),))
    _backup_key(keys_dir)
    out, marker = tmp_path / "backups", tmp_path / "started"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, "-c", _SLOW_BACKUP, str(keys_dir),
                              str(config.database_path), str(out), str(marker)],
                             cwd=REPO, env=env)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(wait)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    assert backup.backups_in(out) == []
    for leftover in out.iterdir():
        assert leftover.name.startswith("."), leftover.name
        assert _cli(app, "backup", "verify", str(leftover)).exit_code == 1
    # The next run still works beside the leftovers.
    assert _cli(app, "backup", "create", "--to", str(out)).exit_code == 0
    [good] = backup.backups_in(out)
    assert _cli(app, "backup", "verify", str(good)).exit_code == 0


def test_the_worker_backs_up_nightly_and_keeps_the_configured_number(
        app, config, keys_dir, database_key, tmp_path) -> None:
    from app.worker.scheduler import BackupPlan, Jobs, build_scheduler

    directory = tmp_path / "nightly"
    start = state(app).clock()
    days = iter(range(5))
    plan = BackupPlan(directory, 3, _backup_key(keys_dir))
    jobs = Jobs(config.database_path, database_key, None,
                lambda: start + timedelta(days=next(days)), None, plan)
    for _ in range(5):
        jobs.backup()
    kept = backup.backups_in(directory)
    assert len(kept) == 3
    assert [backup.read_manifest(p).created_at for p in kept] == [
        (start + timedelta(days=day)).isoformat(timespec="seconds") for day in (2, 3, 4)]
    assert "backup" in {job.id for job in build_scheduler(jobs).get_jobs()}
    assert plan.key.hex() not in repr(plan)


def test_backup_commands_show_progress_on_a_large_database(app, conn, tmp_path) -> None:
    with db.transaction(conn):
        conn.execute("CREATE TABLE filler (data BLOB)")
        for _ in range(2500):
            conn.execute("INSERT INTO filler VALUES (?)", (os.urandom(4000),))
    created = _cli(app, "backup", "create", "--to", str(tmp_path / "backups"))
    assert "copying pages: 50%" in created.output
    assert "encrypting bytes: 100%" in created.output
    [path] = backup.backups_in(tmp_path / "backups")
    verified = _cli(app, "backup", "verify", str(path))
    assert "decrypting bytes: 100%" in verified.output and verified.exit_code == 0


def test_keys_init_makes_the_backup_key_for_a_new_deployment(tmp_path) -> None:
    # INTERACTIVE limits for the sealed files: the test is about the backup key.
    fresh = Config(keys_dir=tmp_path / "keys", database_path=tmp_path / "var" / "u.db",
                   testing=True, cheap_password_hashing=True)
    result = _cli(fresh, "keys", "init", "--demo")
    assert result.exit_code == 0, result.output
    assert "backup key written to" in result.output
    key_file = fresh.keys_dir / backup.BACKUP_KEY
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert len(backup.load_backup_key(fresh.keys_dir)) == 32
