"""The key commands from an operator's seat: enrol, remove, recovery; help and clear failures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.auth import accounts
from app.vault import holders
from app.vault.holders import VettingKeyState
from tests.conftest import holder_passphrase
from tests.keyworld import COORDINATOR_ONE, COORDINATOR_TWO, World, build_world

NEW_PASSPHRASE = "a brand new holder passphrase"


@pytest.fixture
def world(tmp_path: Path, keys_dir: Path, database_key: bytes) -> World:
    return build_world(tmp_path, keys_dir, database_key)


def _new_coordinator(world: World) -> str:
    conn = world.connect()
    try:
        from app.common.passwords import Passwords

        new = accounts.create_staff(conn, Passwords(cheap_for_tests=True), role="coordinator",
                                    password="a long test password", now=_now())
    finally:
        conn.close()
    return new.account.username


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _enrol(world: World, username: str, out: Path, number: int = 1):
    return world.cli("keys", "enrol", "--staff", username, "--key-out", str(out),
                     "--holder-key", str(world.holder(number)),
                     "--passphrase-file", str(world.passphrase_file(number)),
                     "--new-passphrase-file", str(world.text_file("new.txt", NEW_PASSPHRASE)))


def _opens_current(world: World, key_file: Path, passphrase: str) -> bool:
    conn = world.connect()
    try:
        key = holders.open_holder_key(key_file.read_bytes(), passphrase)
        opened = holders.open_vetting_keys(conn, key)
        return opened[VettingKeyState.CURRENT].public == holders.current_vetting_public(conn)
    finally:
        conn.close()


def _split(world: World) -> list[str]:
    result = world.cli("keys", "recovery", "split", "--threshold", "3", "--shares", "5",
                       "--holder-key", str(world.holder(1)),
                       "--passphrase-file", str(world.passphrase_file(1)))
    assert result.exit_code == 0, result.output
    return re.findall(r"share \d: (.+)", result.output)


def _rotate(world: World, number: int = 1) -> None:
    result = world.cli("keys", "rotate", "vetting", "--holder-key", str(world.holder(number)),
                       "--passphrase-file", str(world.passphrase_file(number)), "--yes")
    assert result.exit_code == 0, result.output


def test_enrol_makes_a_key_file_that_opens_the_current_vetting_key(world: World) -> None:
    out = world.tmp / "coordinator-one.key"
    result = _enrol(world, COORDINATOR_ONE, out)
    assert result.exit_code == 0, result.output
    assert _opens_current(world, out, NEW_PASSPHRASE)
    conn = world.connect()
    account = accounts.by_username(conn, COORDINATOR_ONE)
    assert holders.live_holder_for_account(conn, account.id) is not None
    conn.close()


def test_three_of_five_recovery_shares_rebuild_a_holder_after_two_rotations(
        world: World) -> None:
    shares = _split(world)
    assert len(shares) == 5
    _rotate(world)
    _rotate(world)
    out = world.tmp / "recovered.key"
    result = world.cli("keys", "recovery", "combine", "--staff", COORDINATOR_TWO,
                       "--key-out", str(out),
                       "--shares-file", str(world.text_file("three.txt", "\n".join(
                           [shares[4], shares[1], shares[2]]))),
                       "--new-passphrase-file", str(world.text_file("n.txt", NEW_PASSPHRASE)))
    assert result.exit_code == 0, result.output
    assert _opens_current(world, out, NEW_PASSPHRASE)


def test_two_of_five_recovery_shares_rebuild_nothing(world: World) -> None:
    shares = _split(world)
    out = world.tmp / "recovered.key"
    result = world.cli("keys", "recovery", "combine", "--staff", COORDINATOR_TWO,
                       "--key-out", str(out),
                       "--shares-file", str(world.text_file("two.txt", "\n".join(shares[:2]))),
                       "--new-passphrase-file", str(world.text_file("n.txt", NEW_PASSPHRASE)))
    assert result.exit_code == 1
    assert "do not rebuild a key" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_recovery_split_keeps_nothing_of_the_recovery_key_on_disk(world: World) -> None:
    from crypto.recovery import combine_shares
    from tests.canary import decrypted_dump

    world.passphrase_file(1)
    before = {p for p in world.tmp.rglob("*") if p.is_file()}
    shares = _split(world)
    secret = combine_shares(shares[:3]).raw
    after = {p: p.read_bytes() for p in world.tmp.rglob("*") if p.is_file()}
    after[Path("decrypted database")] = decrypted_dump(world.config.database_path,
                                                       world.database_key)
    for path, data in after.items():
        assert secret not in data and secret.hex().encode() not in data, path
        for share in shares:
            assert share.encode() not in data, path
    assert set(after) - before <= {Path("decrypted database")} | {
        p for p in after if "var" in p.parts}, "no new file but the database's own"


def test_remove_holder_then_that_file_enrols_nobody(world: World) -> None:
    out = world.tmp / "one.key"
    assert _enrol(world, COORDINATOR_ONE, out).exit_code == 0
    removed = world.cli("keys", "remove-holder", "--staff", COORDINATOR_ONE, "--yes")
    assert removed.exit_code == 0, removed.output
    assert "Rotate the vetting key now" in removed.output
    other = _new_coordinator(world)
    result = world.cli("keys", "enrol", "--staff", other, "--key-out", str(world.tmp / "x.key"),
                       "--holder-key", str(out), "--passphrase-file",
                       str(world.text_file("p.txt", NEW_PASSPHRASE)),
                       "--new-passphrase-file", str(world.text_file("n.txt", NEW_PASSPHRASE)))
    assert result.exit_code == 1 and "no longer" in result.output


COMMANDS = [("keys",), ("keys", "init"), ("keys", "show"), ("keys", "enrol"),
            ("keys", "remove-holder"), ("keys", "verify"), ("keys", "rotate"),
            ("keys", "rotate", "vetting"), ("keys", "recovery"),
            ("keys", "recovery", "split"), ("keys", "recovery", "combine")]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_key_command_has_help(world: World, command: tuple[str, ...]) -> None:
    result = world.cli(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def _failures(world: World) -> list[tuple[str, list[str], str]]:
    wrong = str(world.text_file("wrong.txt", "not the passphrase at all"))
    good = str(world.passphrase_file(1))
    delivery = str(world.config.keys_dir / "delivery.key")
    missing = str(world.tmp / "no-such.key")
    new = str(world.text_file("new.txt", NEW_PASSPHRASE))
    out = str(world.tmp / "out.key")
    holder = str(world.holder(1))
    enrol = ["keys", "enrol", "--staff", COORDINATOR_ONE, "--key-out", out,
             "--new-passphrase-file", new]
    rotate = ["keys", "rotate", "vetting", "--yes"]
    split = ["keys", "recovery", "split", "--threshold", "2", "--shares", "3"]
    return [
        ("enrol: wrong passphrase", [*enrol, "--holder-key", holder,
                                     "--passphrase-file", wrong], "Wrong passphrase"),
        ("enrol: wrong file", [*enrol, "--holder-key", delivery, "--passphrase-file", good],
         "not a key holder's key"),
        ("enrol: missing holder file", [*enrol, "--holder-key", missing,
                                        "--passphrase-file", good], "no key holder file"),
        ("enrol: missing passphrase file", [*enrol, "--holder-key", holder,
                                            "--passphrase-file", missing],
         "no passphrase file"),
        ("enrol: not a coordinator", ["keys", "enrol", "--staff", "auditor-one", "--key-out",
                                      out, "--holder-key", holder, "--passphrase-file", good,
                                      "--new-passphrase-file", new], "no coordinator login"),
        ("rotate: wrong passphrase", [*rotate, "--holder-key", holder,
                                      "--passphrase-file", wrong], "Wrong passphrase"),
        ("rotate: wrong file", [*rotate, "--holder-key", delivery, "--passphrase-file", good],
         "not a key holder's key"),
        ("rotate: missing holder", [*rotate, "--holder-key", missing,
                                    "--passphrase-file", good], "no key holder file"),
        ("split: wrong passphrase", [*split, "--holder-key", holder,
                                     "--passphrase-file", wrong], "Wrong passphrase"),
        ("split: no holder key", split, "needs the vetting key"),
        ("remove: no such holder", ["keys", "remove-holder", "--staff", "nobody", "--yes"],
         "No such key holder"),
    ]


def test_key_commands_fail_with_a_message_and_exit_1_never_a_traceback(world: World) -> None:
    for name, args, message in _failures(world):
        result = world.cli(*args)
        assert result.exit_code == 1, (name, result.output)
        assert message in result.output, (name, result.output)
        assert "Traceback" not in result.output, name
        assert isinstance(result.exception, SystemExit), (name, result.exception)
    assert not (world.tmp / "out.key").exists(), "no key file left by a failed enrol"


def test_a_holder_passphrase_typed_at_the_prompt_works_too(world: World) -> None:
    out = world.tmp / "typed.key"
    result = world.cli("keys", "enrol", "--staff", COORDINATOR_ONE, "--key-out", str(out),
                       "--holder-key", str(world.holder(1)),
                       input=f"{holder_passphrase(1)}\n{NEW_PASSPHRASE}\n{NEW_PASSPHRASE}\n")
    assert result.exit_code == 0, result.output
    assert _opens_current(world, out, NEW_PASSPHRASE)
