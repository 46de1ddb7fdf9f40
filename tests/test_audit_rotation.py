"""Rotating the audit signing key: old checkpoints keep verifying, trust passes from old
to new through a handover checkpoint signed by both, and an unknown key is never trusted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import nacl.signing
import pytest

from app.audit.checkpoints import hand_over, make_checkpoint
from app.audit.verification import stored_checkpoints, verify_log
from app.vault import db, log
from crypto import audit_chain, keystore
from crypto.keys import signing_key_id
from tests.keyworld import World, build_world


@pytest.fixture
def world(tmp_path: Path, keys_dir: Path, database_key: bytes) -> World:
    return build_world(tmp_path, keys_dir, database_key)


def _signing_key(world: World) -> nacl.signing.SigningKey:
    return keystore.load_audit_signing_key(world.config.keys_dir)


def _current(world: World) -> nacl.signing.VerifyKey:
    return keystore.load_server_keys(world.config.keys_dir).audit_verify_key


def _add_entry(conn: db.Connection) -> None:
    with db.transaction(conn):
        log.append(conn, log.audit_key_rotated(at=datetime.now(UTC), actor=log.OPERATOR,
                                               old_key="test", new_key="test"))


def _checkpointed(world: World) -> list[audit_chain.Checkpoint]:
    conn = world.connect()
    _add_entry(conn)
    assert make_checkpoint(conn, _signing_key(world), datetime.now(UTC)) is not None
    return stored_checkpoints(conn)


def test_checkpoints_signed_before_an_audit_rotation_still_verify_after_it(
        world: World) -> None:
    before = _checkpointed(world)
    old = _current(world)
    rotated = world.cli("keys", "rotate", "audit", "--yes")
    assert rotated.exit_code == 0, rotated.output
    new = _current(world)
    assert signing_key_id(new) != signing_key_id(old)
    conn = world.connect()
    # What `audit verify` and the auditor's page do: verify with keys/audit.pub, now new.
    verdict = verify_log(conn, new)
    assert verdict.ok, verdict.summary()
    checked = {c.checkpoint.seq: c for c in verdict.checkpoints}
    assert all(checked[c.seq].signature_ok and checked[c.seq].matches_log for c in before)
    assert world.cli("audit", "verify").exit_code == 0
    # The worker goes on signing with the new key, and everything still verifies.
    _add_entry(conn)
    made = make_checkpoint(conn, _signing_key(world), datetime.now(UTC))
    assert made is not None and made.key_id == signing_key_id(new)
    assert verify_log(conn, new).ok
    # Checkpoints an auditor exported before the rotation still verify as kept copies.
    assert verify_log(conn, new, kept=before).ok
    assert keystore.retired_keys(world.config.keys_dir, keystore.AUDIT_RETIRED) == [bytes(old)]


def test_the_handover_checkpoint_carries_both_the_old_and_the_new_signature(
        world: World) -> None:
    _checkpointed(world)
    old_key = _signing_key(world)
    assert world.cli("keys", "rotate", "audit", "--yes").exit_code == 0
    new_key = _signing_key(world)
    conn = world.connect()
    [row] = conn.execute("SELECT seq, key_id, verify_key, signature FROM audit_cosignatures"
                         ).fetchall()
    handover = next(c for c in stored_checkpoints(conn) if c.seq == row["seq"])
    assert handover.seq == db.scalar(conn, "SELECT max(seq) FROM disclosure_log")
    last = log.entries(conn)[-1].body
    assert last["event"] == "audit_key_rotated"
    assert audit_chain.verify_checkpoint(new_key.verify_key, handover)
    cosigned = audit_chain.Checkpoint(handover.seq, handover.head_hash, handover.created_at,
                                      bytes(row["key_id"]), bytes(row["signature"]))
    assert bytes(row["verify_key"]) == bytes(old_key.verify_key)
    assert audit_chain.verify_checkpoint(old_key.verify_key, cosigned)


def test_a_checkpoint_signed_by_an_unknown_key_fails_verification(world: World) -> None:
    _checkpointed(world)
    assert world.cli("keys", "rotate", "audit", "--yes").exit_code == 0
    conn = world.connect()
    _add_entry(conn)
    head = conn.execute("SELECT seq, entry_hash FROM disclosure_log ORDER BY seq DESC "
                        "LIMIT 1").fetchone()
    stranger = nacl.signing.SigningKey.generate()
    forged = audit_chain.sign_checkpoint(stranger, head["seq"], bytes(head["entry_hash"]),
                                         datetime.now(UTC).isoformat(timespec="seconds"))
    conn.execute("INSERT INTO audit_checkpoints VALUES (?, ?, ?, ?, ?)",
                 (forged.seq, forged.head_hash, forged.created_at, forged.key_id,
                  forged.signature))
    verdict = verify_log(conn, _current(world))
    assert not verdict.ok and "invalid signature" in verdict.summary()
    assert world.cli("audit", "verify").exit_code == 1


def test_a_retired_audit_key_cannot_sign_after_its_handover(world: World) -> None:
    _checkpointed(world)
    old_key = _signing_key(world)
    assert world.cli("keys", "rotate", "audit", "--yes").exit_code == 0
    conn = world.connect()
    _add_entry(conn)
    head = conn.execute("SELECT seq, entry_hash FROM disclosure_log ORDER BY seq DESC "
                        "LIMIT 1").fetchone()
    late = audit_chain.sign_checkpoint(old_key, head["seq"], bytes(head["entry_hash"]),
                                       datetime.now(UTC).isoformat(timespec="seconds"))
    conn.execute("INSERT INTO audit_checkpoints VALUES (?, ?, ?, ?, ?)",
                 (late.seq, late.head_hash, late.created_at, late.key_id, late.signature))
    verdict = verify_log(conn, _current(world))
    assert not verdict.ok and "retired audit key" in verdict.summary()


def test_without_the_handover_co_signature_old_checkpoints_are_not_trusted(
        world: World) -> None:
    _checkpointed(world)
    assert world.cli("keys", "rotate", "audit", "--yes").exit_code == 0
    conn = world.connect()
    conn.execute("DELETE FROM audit_cosignatures")
    assert not verify_log(conn, _current(world)).ok


def test_checkpoints_of_the_first_audit_key_verify_after_two_rotations(world: World) -> None:
    first = _checkpointed(world)
    assert world.cli("keys", "rotate", "audit", "--yes").exit_code == 0
    _checkpointed(world)
    assert world.cli("keys", "rotate", "audit", "--yes").exit_code == 0
    conn = world.connect()
    verdict = verify_log(conn, _current(world), kept=first)
    assert verdict.ok, verdict.summary()
    assert len(keystore.retired_keys(world.config.keys_dir, keystore.AUDIT_RETIRED)) == 2


def test_audit_rotation_killed_after_the_handover_resumes_with_the_same_new_key(
        world: World) -> None:
    _checkpointed(world)
    run = keystore.begin_audit_rotation(world.config.keys_dir)
    conn = world.connect()
    hand_over(conn, run.old, run.new, datetime.now(UTC))  # then the kill: no files replaced
    resumed = world.cli("keys", "rotate", "audit", "--yes")
    assert resumed.exit_code == 0, resumed.output
    assert bytes(_current(world)) == bytes(run.new.verify_key)
    assert db.count(conn, "SELECT count(*) FROM audit_cosignatures") == 1
    assert verify_log(conn, _current(world)).ok


def test_audit_rotation_refuses_clearly_when_the_log_does_not_verify(world: World) -> None:
    conn = world.connect()
    conn.execute("UPDATE disclosure_log SET entry_hash = zeroblob(32) WHERE seq = 1")
    result = world.cli("keys", "rotate", "audit", "--yes")
    assert result.exit_code == 1 and "does not verify" in result.output
    assert "Traceback" not in result.output
    assert db.count(conn, "SELECT count(*) FROM audit_cosignatures") == 0


def test_rotate_audit_has_help(world: World) -> None:
    result = world.cli("keys", "rotate", "audit", "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
