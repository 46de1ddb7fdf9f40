"""Rotating the delivery (worker) key: only delivery wraps move, resumably; the worker
opens with the new key afterwards and `keys verify` names a retired one."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.delivery import DeliverySettings, channels
from app.delivery.rate import SendRate
from app.vault import db, outbox, rotation
from app.vault import log as disclosure_log
from app.worker.delivery import Courier, deliver_all_due
from crypto import envelope, keystore
from crypto.errors import WrongPassphrase
from crypto.keys import BoxPrivateKey
from tests.conftest import DELIVERY_PASSPHRASE
from tests.keyworld import World, build_world, envelopes
from tests.loopback import smtp_server

NEW_PASSPHRASE = "a brand new delivery passphrase"


@pytest.fixture
def world(tmp_path: Path, keys_dir: Path, database_key: bytes) -> World:
    return build_world(tmp_path, keys_dir, database_key)


def _files(world: World) -> tuple[Path, Path]:
    return (world.text_file("delivery-old.txt", DELIVERY_PASSPHRASE),
            world.text_file("delivery-new.txt", NEW_PASSPHRASE))


def _rotate(world: World, *extra: str):
    old, new = _files(world)
    return world.cli("keys", "rotate", "delivery", "--passphrase-file", str(old),
                     "--new-passphrase-file", str(new), "--yes", *extra)


def _old_key(world: World) -> BoxPrivateKey:
    return keystore.load_delivery_private_key(world.config.keys_dir, DELIVERY_PASSPHRASE)


def _new_key(world: World) -> BoxPrivateKey:
    return keystore.load_delivery_private_key(world.config.keys_dir, NEW_PASSPHRASE)


def test_delivery_rotation_rewraps_only_delivery_wraps_and_never_a_payload(
        world: World) -> None:
    old = _old_key(world)
    conn = world.connect()
    before = envelopes(conn)
    carried = {place for place, sealed in before.items()
               if old.key_id in envelope.recipients_of(sealed)}
    assert any(place[:2] == ("members", "contact") for place in carried)
    result = _rotate(world)
    assert result.exit_code == 0, result.output
    new = _new_key(world)
    after = envelopes(conn)
    for place, sealed in after.items():
        was = envelope.parse_envelope(before[place])
        now = envelope.parse_envelope(sealed)
        assert (now.nonce, now.ciphertext) == (was.nonce, was.ciphertext), place
        kids = envelope.recipients_of(sealed)
        assert old.key_id not in kids, place
        if place in carried:
            assert new.key_id in kids, place
            assert (set(kids) - {new.key_id}) == (
                set(envelope.recipients_of(before[place])) - {old.key_id})
        else:
            assert sealed == before[place], f"{place} carries no delivery wrap: untouched"
    assert not (world.config.keys_dir / keystore.DELIVERY_NEXT_KEY).exists()
    retired = keystore.retired_keys(world.config.keys_dir, keystore.DELIVERY_RETIRED)
    assert retired == [old.public.raw]


def test_delivery_rotation_logs_its_start_its_end_and_its_counts(world: World) -> None:
    old = _old_key(world)
    assert _rotate(world).exit_code == 0
    new = _new_key(world)
    conn = world.connect()
    events = [e.body for e in disclosure_log.entries(conn)
              if str(e.body.get("event")).startswith("delivery_rotation")]
    assert [e["event"] for e in events] == ["delivery_rotation_started",
                                            "delivery_rotation_finished"]
    assert events[0]["old_key"] == old.public.fingerprint
    assert events[1]["new_key"] == new.public.fingerprint
    carrying = sum(new.key_id in envelope.recipients_of(sealed)
                   for sealed in envelopes(conn).values())
    assert events[1]["rewrapped"] == carrying > 0
    assert "members.contact=" in " ".join(events[1]["counts"])


def test_the_worker_delivers_to_an_active_push_member_after_delivery_rotation(
        world: World) -> None:
    old = _old_key(world)
    assert _rotate(world).exit_code == 0
    conn = world.connect()
    member_id = db.scalar(conn, "SELECT id FROM members WHERE status = 'active' AND "
                                "alert_channel = 'email' ORDER BY id LIMIT 1")
    conn.execute("UPDATE outbox SET status = 'cancelled' WHERE status = 'pending'")
    now = datetime.now(UTC)
    with db.transaction(conn):
        assert outbox.enqueue(conn, kind="alert", member_id=member_id, channel="email",
                              dedupe_key="after-delivery-rotation", now=now)
    with smtp_server() as smtp:
        settings = replace(DeliverySettings(), smtp=smtp.settings())
        courier = Courier(key=_new_key(world), channels=channels(settings),
                          rates={"email": SendRate(1_000_000), "sms": SendRate(1_000_000)},
                          settings=settings)
        result = deliver_all_due(conn, courier, lambda: now)
        mails = smtp.messages
    assert result.sent == 1, result
    assert len(mails) == 1
    # With the retired key, the worker could no longer open that member's contact.
    row = conn.execute("SELECT contact FROM members WHERE id = ?", (member_id,)).fetchone()
    assert old.key_id not in envelope.recipients_of(bytes(row["contact"]))


def test_keys_verify_reports_delivery_counts_and_fails_on_a_retired_delivery_key(
        world: World) -> None:
    conn = world.connect()
    before = envelopes(conn)
    old = _old_key(world)
    assert _rotate(world).exit_code == 0
    new = _new_key(world)
    verified = world.cli("keys", "verify")
    assert verified.exit_code == 0, verified.output
    assert f"delivery {new.public.fingerprint}" in verified.output
    # Put back one contact as it was: sealed for the retired delivery key.
    place, sealed = next((p, s) for p, s in before.items()
                         if p[:2] == ("members", "contact")
                         and old.key_id in envelope.recipients_of(s))
    with db.transaction(conn):
        conn.execute("UPDATE members SET contact = ? WHERE id = ?", (sealed, place[2]))
    failed = world.cli("keys", "verify")
    assert failed.exit_code == 1
    assert "retired key" in failed.output and old.public.fingerprint in failed.output
    assert "Traceback" not in failed.output


def test_delivery_rotation_killed_mid_way_resumes_and_ends_with_nothing_on_the_old_key(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    old = _old_key(world)
    conn = world.connect()
    real = rotation.rewrap_places
    calls: list[int] = []

    def dies_after_one_batch(*args, **kwargs):
        def progress(place, done):
            calls.append(done)
            raise KeyboardInterrupt  # as abrupt as a kill, after one batch committed

        kwargs["progress"] = progress
        return real(*args, **kwargs)

    monkeypatch.setattr(rotation, "rewrap_places", dies_after_one_batch)
    killed = _rotate(world, "--batch-size", "1")
    assert killed.exit_code != 0 and calls == [1]
    assert (world.config.keys_dir / keystore.DELIVERY_NEXT_KEY).exists()
    # Half-way: delivery.key is still the old one, so the worker still runs meanwhile.
    assert keystore.load_delivery_private_key(world.config.keys_dir,
                                              DELIVERY_PASSPHRASE) == old
    monkeypatch.setattr(rotation, "rewrap_places", real)
    resumed = _rotate(world)
    assert resumed.exit_code == 0, resumed.output
    assert "Resuming" in resumed.output
    new = _new_key(world)
    assert all(old.key_id not in envelope.recipients_of(s) for s in envelopes(conn).values())
    assert any(new.key_id in envelope.recipients_of(s) for s in envelopes(conn).values())
    assert world.cli("keys", "verify").exit_code == 0


def test_delivery_rotation_killed_between_its_file_renames_resumes(world: World) -> None:
    old = _old_key(world)
    conn = world.connect()
    run = keystore.begin_delivery_rotation(world.config.keys_dir, DELIVERY_PASSPHRASE,
                                           NEW_PASSPHRASE)
    rotation.rotate_delivery(conn, run.old, run.new, lambda: datetime.now(UTC))
    # The kill: delivery.pub already replaced, delivery.key not yet.
    keystore.add_retired_key(world.config.keys_dir, keystore.DELIVERY_RETIRED, old.public.raw)
    keystore.replace_file(world.config.keys_dir / keystore.DELIVERY_PUB,
                          lambda path: keystore.write_public_key_file(path, run.new.public))
    resumed = _rotate(world)
    assert resumed.exit_code == 0, resumed.output
    assert _new_key(world) == run.new
    assert world.cli("keys", "verify").exit_code == 0


def test_delivery_rotation_with_a_wrong_passphrase_fails_clearly_and_changes_nothing(
        world: World) -> None:
    wrong = world.text_file("wrong.txt", "not the delivery passphrase")
    _old, new = _files(world)
    before = envelopes(world.connect())
    result = world.cli("keys", "rotate", "delivery", "--passphrase-file", str(wrong),
                       "--new-passphrase-file", str(new), "--yes")
    assert result.exit_code == 1
    assert "Wrong passphrase" in result.output and "Traceback" not in result.output
    assert not (world.config.keys_dir / keystore.DELIVERY_NEXT_KEY).exists()
    assert envelopes(world.connect()) == before
    with pytest.raises(WrongPassphrase):
        keystore.load_delivery_private_key(world.config.keys_dir, NEW_PASSPHRASE)


def test_delivery_rotation_with_a_missing_passphrase_file_or_key_file_fails_clearly(
        world: World) -> None:
    _old, new = _files(world)
    missing = world.cli("keys", "rotate", "delivery", "--passphrase-file",
                        str(world.tmp / "nowhere.txt"), "--new-passphrase-file", str(new),
                        "--yes")
    assert missing.exit_code == 1 and "no passphrase file" in missing.output
    (world.config.keys_dir / keystore.DELIVERY_KEY).unlink()
    gone = _rotate(world)
    assert gone.exit_code == 1 and "Traceback" not in gone.output


def test_rotate_delivery_has_help(world: World) -> None:
    result = world.cli("keys", "rotate", "delivery", "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
    assert "--new-passphrase-file" in result.output and "--keep-passphrase" in result.output


def test_keep_passphrase_seals_the_new_delivery_key_under_the_old_passphrase(
        world: World) -> None:
    old_file, _new = _files(world)
    old = _old_key(world)
    result = world.cli("keys", "rotate", "delivery", "--passphrase-file", str(old_file),
                       "--keep-passphrase", "--yes")
    assert result.exit_code == 0, result.output
    assert _old_key(world) != old  # the same passphrase now opens the new key
    assert json.loads((world.config.keys_dir / keystore.DELIVERY_RETIRED).read_text())[
        "keys"] == [old.public.raw.hex()]
