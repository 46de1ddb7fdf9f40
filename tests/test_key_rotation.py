"""Rotating the vetting key: every envelope moves to the new key, resumably, payloads untouched."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.audit.verification import verify_log
from app.vault import holders, rotation
from app.vault import log as disclosure_log
from app.vault.holders import VettingKeyState
from app.vault.rotation import DELIVERY_ONLY_PLACES
from crypto import envelope, keystore
from crypto.errors import UnknownKeyId
from crypto.keys import BoxPrivateKey
from tests.conftest import DELIVERY_PASSPHRASE, holder_passphrase
from tests.keyworld import World, build_world, current_vetting_key, envelopes, opened
from tests.migrations.databases import REPO


@pytest.fixture
def world(tmp_path: Path, keys_dir: Path, database_key: bytes) -> World:
    return build_world(tmp_path, keys_dir, database_key)


@pytest.fixture(scope="module")
def delivery_key(keys_dir: Path) -> BoxPrivateKey:
    return keystore.load_delivery_private_key(keys_dir, DELIVERY_PASSPHRASE)


def _rotate(world: World, number: int = 1, *extra: str):
    return world.cli("keys", "rotate", "vetting", "--holder-key", str(world.holder(number)),
                     "--passphrase-file", str(world.passphrase_file(number)), "--yes", *extra)


def _payload_parts(conn) -> dict:
    """Nonce and ciphertext of every envelope: what a rotation must never change."""
    return {place: (parts.nonce, parts.ciphertext) for place, parts in
            ((p, envelope.parse_envelope(e)) for p, e in envelopes(conn).items())}


def _shape(conn, old_id: bytes, new_id: bytes, delivery_id: bytes) -> dict:
    """Who each envelope is wrapped for, with key ids named by role."""
    names = {old_id: "old", new_id: "new", delivery_id: "delivery"}
    return {place: sorted(names.get(kid, kid.hex()) for kid in envelope.recipients_of(e))
            for place, e in envelopes(conn).items()}


def test_after_rotation_keys_verify_shows_nothing_under_the_old_key_and_every_record_opens(
        world: World, vetting_key: BoxPrivateKey, delivery_key: BoxPrivateKey) -> None:
    conn = world.connect()
    before = _payload_parts(conn)
    result = _rotate(world)
    assert result.exit_code == 0, result.output
    assert "Rotation finished" in result.output
    new_key = current_vetting_key(world)
    assert new_key.public != vetting_key.public
    check = world.cli("keys", "verify")
    assert check.exit_code == 0, check.output
    assert vetting_key.fingerprint not in check.output, "no envelope under the old key"
    assert new_key.fingerprint in check.output
    found = opened(conn, new_key, delivery_key)
    # A fresh contact-index key, sealed to the new key (app/vault/contact_index.py).
    [made] = [place for place in found if place[0] == "contact_index_keys"]
    assert len(found.pop(made)["key"]) == 64
    assert found == world.sealed, "every record opens"
    after = {place: parts for place, parts in _payload_parts(conn).items()
             if place[0] != "contact_index_keys"}
    assert after == before, "no payload was re-encrypted"
    for (table, column, _row_id), sealed in envelopes(conn).items():
        if (table, column) not in DELIVERY_ONLY_PLACES:
            with pytest.raises(UnknownKeyId):
                envelope.open_envelope(sealed, vetting_key, b"")
    assert keystore.load_server_keys(world.config.keys_dir).vetting_public == new_key.public
    conn.close()


def test_rotation_logs_its_start_its_end_and_its_counts(world: World,
                                                        server_keys) -> None:
    assert _rotate(world).exit_code == 0
    conn = world.connect()
    events = [e.body for e in disclosure_log.entries(conn)
              if str(e.body.get("event", "")).startswith("vetting_rotation")]
    assert [e["event"] for e in events] == ["vetting_rotation_started",
                                           "vetting_rotation_finished"]
    started, finished = events
    assert started["holders"] == len(holders.holders(conn))
    vetting_envelopes = sum(1 for (t, c, _r) in world.sealed if (t, c) not in
                            DELIVERY_ONLY_PLACES)
    assert finished["rewrapped"] == vetting_envelopes
    identities = sum(1 for (t, c, _r) in world.sealed if (t, c) == ("members", "identity"))
    assert f"members.identity={identities}" in finished["counts"]
    assert "outbox.payload=0" in finished["counts"], "the worker's notices never had it"
    assert verify_log(conn, server_keys.audit_verify_key).ok
    conn.close()


def test_new_envelopes_are_sealed_to_the_new_key_from_the_moment_rotation_starts(
        world: World, vetting_key: BoxPrivateKey) -> None:
    from app.membership.records import insert_member

    conn = world.connect()
    started = rotation.start(conn, vetting_key, datetime.now(UTC))
    keys = keystore.load_server_keys(world.config.keys_dir)
    with holders.transaction(conn):
        member_id = insert_member(conn, keys, kind="individual",
                                  identity={"work_name": "After Start"}, contact={})
    sealed = envelopes(conn)[("members", "identity", member_id)]
    assert envelope.recipients_of(sealed) == [started.new.key_id]
    assert holders.current_vetting_public(conn) == started.new
    conn.close()


def test_a_second_rotation_cannot_start_while_one_is_under_way(
        world: World, vetting_key: BoxPrivateKey) -> None:
    conn = world.connect()
    rotation.start(conn, vetting_key, datetime.now(UTC))
    with pytest.raises(rotation.RotationError, match="already under way"):
        rotation.start(conn, vetting_key, datetime.now(UTC))
    conn.close()


_KILLABLE = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
from app.vault import db, holders, rotation
from crypto.keystore import load_server_keys

keys_dir, database, key_file, passphrase = sys.argv[1:5]
conn = db.connect(Path(database), load_server_keys(Path(keys_dir)).database_key)
key = holders.open_holder_key(Path(key_file).read_bytes(), passphrase)

def started(run, pending):
    print("started", pending, flush=True)

def batch(place, done):
    print("batch", ".".join(place), done, flush=True)
    # Wait for the test's go-ahead (an empty stdin says go on at once): a test that means
    # to kill after this batch does so before the next one starts, however busy the machine.
    sys.stdin.readline()

rotation.rotate(conn, key, lambda: datetime.now(UTC), batch_size=2, progress=batch,
                started=started)
print("finished", flush=True)
"""


def _run_until(world: World, lines: int | None, number: int = 1) -> list[str]:
    """Run a rotation in its own process; kill -9 it after `lines` lines (None: to the end)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLABLE, str(world.config.keys_dir),
         str(world.config.database_path), str(world.holder(number)), holder_passphrase(number)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.PIPE if lines is not None else subprocess.DEVNULL)
    seen: list[str] = []
    assert process.stdout is not None
    if lines is not None:
        assert process.stdin is not None
        while len(seen) < lines:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line.strip())
            if len(seen) < lines and line.startswith("batch"):
                process.stdin.write("\n")  # go on to the next batch
                process.stdin.flush()
        process.kill()  # SIGKILL: no cleanup, no rollback handler, as a power cut
        process.wait(timeout=30)
        return seen
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return seen + out.splitlines()


def test_rotation_killed_at_five_random_points_and_resumed_ends_the_same(
        tmp_path: Path, keys_dir: Path, database_key: bytes, vetting_key: BoxPrivateKey,
        delivery_key: BoxPrivateKey) -> None:
    calm = build_world(tmp_path / "calm", keys_dir, database_key)
    killed = build_world(tmp_path / "killed", keys_dir, database_key)
    payloads = {}
    for world in (calm, killed):
        conn = world.connect()
        payloads[world.tmp] = _payload_parts(conn)
        conn.close()
    full = _run_until(calm, None)
    assert full[-1] == "finished"
    batches = sum(1 for line in full if line.startswith("batch"))
    assert batches >= 5, "enough batches to be killed in between"
    # Five kills: one before anything is committed, the others after the start or after a
    # few batches, chosen at random; each run resumes what the one before left.
    rng = random.Random(20260210)
    points = [0, *(rng.randint(1, 4) for _ in range(4))]
    for point in points:
        assert "finished" not in _run_until(killed, point)
    conn = killed.connect()
    under_way = rotation.running(conn)
    assert under_way is not None and rotation.carrying(conn, vetting_key.key_id) > 0
    conn.close()
    assert _run_until(killed, None)[-1] == "finished"

    ends = []
    for world in (calm, killed):
        conn = world.connect()
        new_key = current_vetting_key(world)
        [done] = [r for r in (rotation.by_id(conn, row["id"]) for row in conn.execute(
            "SELECT id FROM key_rotations")) if r is not None]
        assert done.finished_at is not None and done.old == vetting_key.public
        assert opened(conn, new_key, delivery_key) == world.sealed
        assert rotation.carrying(conn, vetting_key.key_id) == 0
        assert {k.state for k in holders.vetting_keys(conn)} == {VettingKeyState.CURRENT,
                                                                  VettingKeyState.RETIRED}
        wraps = conn.execute("SELECT DISTINCT vetting_key_id FROM holder_wraps").fetchall()
        assert [bytes(row["vetting_key_id"]) for row in wraps] == [new_key.key_id]
        events = [e.body.get("event") for e in disclosure_log.entries(conn)]
        assert events.count("vetting_rotation_started") == 1
        assert events.count("vetting_rotation_finished") == 1
        report = rotation.verify(conn, delivery=delivery_key.public,
                                 vetting_file=vetting_key.public)
        assert report.problems == []
        assert _payload_parts(conn) == payloads[world.tmp], "no payload re-encrypted"
        ends.append((_shape(conn, vetting_key.key_id, new_key.key_id, delivery_key.key_id),
                     done.rewrapped))
        conn.close()
    assert ends[0] == ends[1]


def test_keys_verify_exits_non_zero_when_an_envelope_carries_a_retired_key(
        world: World, vetting_key: BoxPrivateKey) -> None:
    assert _rotate(world).exit_code == 0
    conn = world.connect()
    # An envelope sealed to the old key after it was retired (a stale process, say).
    from app.vault.sealing import seal_group

    stale = seal_group("members", "identity", "m-active", {"work_name": "Stale"},
                       [vetting_key.public])
    conn.execute("UPDATE members SET identity = ? WHERE id = 'm-active'", (stale,))
    conn.close()
    check = world.cli("keys", "verify")
    assert check.exit_code == 1
    assert "retired key" in check.output and "members.identity" in check.output


def test_keys_verify_exits_non_zero_when_no_holder_can_open_an_envelope(world: World) -> None:
    conn = world.connect()
    for holder in holders.holders(conn):
        holders.remove_holder(conn, holder.id, "operator", datetime.now(UTC))
    conn.close()
    check = world.cli("keys", "verify")
    assert check.exit_code == 1
    assert "no key holder can open the current vetting key" in check.output
    assert "carry no key that a holder" in check.output


def test_rotation_on_worker_processes_ends_with_every_record_open_under_the_new_key(
        world: World, delivery_key: BoxPrivateKey, monkeypatch: pytest.MonkeyPatch) -> None:
    """The path large deployments take: batches re-wrapped on spawned processes."""
    monkeypatch.setattr(rotation, "PROCESS_FROM", 1)
    conn = world.connect()
    before = opened(conn, current_vetting_key(world), delivery_key)
    result = _rotate(world, 1, "--batch-size", "3")
    assert result.exit_code == 0, result.output
    new = current_vetting_key(world)

    def records(found: dict) -> dict:
        # Rotation makes a fresh contact-index key: every other record opens as it was.
        return {place: parts for place, parts in found.items()
                if place[0] != "contact_index_keys"}

    assert records(opened(conn, new, delivery_key)) == records(before)
    old_ids = {k.public.key_id for k in holders.vetting_keys(conn)
               if k.state is VettingKeyState.RETIRED}
    assert old_ids and all(not old_ids & set(envelope.recipients_of(e))
                           for e in envelopes(conn).values())
