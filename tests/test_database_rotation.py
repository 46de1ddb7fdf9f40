"""Rotating the database key: a backup first, SQLCipher's rekey, the key file replaced only
once the new key is proven; killed anywhere, the database opens with a key on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.vault import backup, db, holders, rekey
from crypto import keystore
from crypto.keyfile import read_secret_file
from tests.conftest import DELIVERY_PASSPHRASE, holder_passphrase
from tests.keyworld import World, build_world, opened
from tests.migrations.databases import contents


@pytest.fixture
def world(tmp_path: Path, keys_dir: Path, database_key: bytes) -> World:
    return build_world(tmp_path, keys_dir, database_key)


def _key(world: World, name: str = keystore.DATABASE_KEY) -> bytes:
    return read_secret_file(world.config.keys_dir / name, keystore.SECRET_BYTES)


def _records(world: World, key: bytes) -> dict:
    conn = db.connect(world.config.database_path, key)
    try:
        delivery = keystore.load_delivery_private_key(world.config.keys_dir,
                                                      DELIVERY_PASSPHRASE)
        holder = holders.open_holder_key(world.holder(1).read_bytes(), holder_passphrase(1))
        vetting = holders.open_vetting_keys(conn, holder)[holders.VettingKeyState.CURRENT]
        return opened(conn, vetting, delivery)
    finally:
        conn.close()


def _opens_anyhow(world: World) -> bool:
    """Whether one of the database key files on disk opens the database."""
    names = (keystore.DATABASE_KEY, keystore.DATABASE_NEXT_KEY, keystore.DATABASE_OLD_KEY)
    return any(rekey.opens_with(world.config.database_path, _key(world, name))
               for name in names if (world.config.keys_dir / name).exists())


def test_after_database_rotation_it_opens_with_the_new_key_only_and_every_record_opens(
        world: World) -> None:
    old = _key(world)
    before = _records(world, old)
    result = world.cli("keys", "rotate", "database", "--yes")
    assert result.exit_code == 0, result.output
    new = _key(world)
    assert new != old and _key(world, keystore.DATABASE_OLD_KEY) == old
    assert not (world.config.keys_dir / keystore.DATABASE_NEXT_KEY).exists()
    assert rekey.opens_with(world.config.database_path, new)
    assert not rekey.opens_with(world.config.database_path, old)
    assert _records(world, new) == before
    conn = db.connect(world.config.database_path, new)
    assert db.scalar(conn, "PRAGMA journal_mode") == "wal"
    assert db.scalar(conn, "PRAGMA integrity_check") == "ok"
    last = conn.execute("SELECT body FROM disclosure_log ORDER BY seq DESC LIMIT 1"
                        ).fetchone()["body"]
    assert "database_key_rotated" in last and new.hex() not in last and old.hex() not in last
    assert world.cli("audit", "verify").exit_code == 0
    assert world.cli("keys", "verify").exit_code == 0


def test_the_backup_made_before_the_database_rotation_restores(world: World) -> None:
    old = _key(world)
    conn = db.connect(world.config.database_path, old)
    before = contents(conn)
    conn.close()
    result = world.cli("keys", "rotate", "database", "--yes")
    assert result.exit_code == 0, result.output
    [made] = backup.backups_in(world.config.backups_path)
    assert made.name in result.output
    target = world.tmp / "restored" / "uglymugs.db"
    backup.restore(made, target, backup.load_backup_key(world.config.keys_dir),
                   _key(world, keystore.DATABASE_OLD_KEY), force=False)
    restored = db.connect(target, old)
    try:
        assert contents(restored) == before
    finally:
        restored.close()


def test_database_rotation_killed_after_the_rekey_resumes_and_finishes(world: World) -> None:
    before = _records(world, _key(world))
    run = keystore.begin_database_rotation(world.config.keys_dir)
    assert _opens_anyhow(world)
    rekey.rekey(world.config.database_path, run.old, run.new)  # then the kill
    assert _opens_anyhow(world)
    resumed = world.cli("keys", "rotate", "database", "--yes")
    assert resumed.exit_code == 0, resumed.output
    assert _key(world) == run.new and _records(world, run.new) == before


def test_database_rotation_killed_between_its_renames_resumes_and_finishes(
        world: World) -> None:
    run = keystore.begin_database_rotation(world.config.keys_dir)
    rekey.rekey(world.config.database_path, run.old, run.new)
    keys_dir = world.config.keys_dir
    (keys_dir / keystore.DATABASE_KEY).rename(keys_dir / keystore.DATABASE_OLD_KEY)
    assert _opens_anyhow(world)
    resumed = world.cli("keys", "rotate", "database", "--yes")
    assert resumed.exit_code == 0, resumed.output
    assert _key(world) == run.new and _key(world, keystore.DATABASE_OLD_KEY) == run.old


def test_database_rotation_killed_before_the_rekey_leaves_the_old_key_working(
        world: World) -> None:
    old = _key(world)
    keystore.begin_database_rotation(world.config.keys_dir)  # .next written, then the kill
    assert rekey.opens_with(world.config.database_path, old)
    resumed = world.cli("keys", "rotate", "database", "--yes")
    assert resumed.exit_code == 0, resumed.output
    assert not rekey.opens_with(world.config.database_path, old)
    assert rekey.opens_with(world.config.database_path, _key(world))


def test_a_second_database_rotation_refuses_while_the_old_key_is_still_kept(
        world: World) -> None:
    assert world.cli("keys", "rotate", "database", "--yes").exit_code == 0
    key = _key(world)
    again = world.cli("keys", "rotate", "database", "--yes")
    assert again.exit_code == 1 and "database.key.old" in again.output
    assert "Traceback" not in again.output
    assert _key(world) == key and rekey.opens_with(world.config.database_path, key)


def test_database_rotation_with_a_wrong_database_key_fails_clearly(world: World) -> None:
    (world.config.keys_dir / keystore.DATABASE_KEY).unlink()
    keystore.write_secret_file(world.config.keys_dir / keystore.DATABASE_KEY, bytes(32))
    result = world.cli("keys", "rotate", "database", "--yes")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert not (world.config.keys_dir / keystore.DATABASE_NEXT_KEY).exists()


def test_rotate_database_has_help(world: World) -> None:
    result = world.cli("keys", "rotate", "database", "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
