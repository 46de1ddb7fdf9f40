"""0010: key holders. A deployment with its shared vetting key file moves to holders.

The populated version-5 fixture is first brought to version 9 (the step before this one).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app import create_app
from app.audit.verification import verify_log
from app.vault import db, holders
from app.vault import log as disclosure_log
from app.vault.holders import VettingKeyState
from app.vault.rotation import DELIVERY_ONLY_PLACES
from app.web.config import Config
from crypto import envelope, keystore
from crypto.errors import UnknownKeyId
from crypto.keyfile import read_private_key_file
from tests.conftest import DELIVERY_PASSPHRASE, FAST_KDF
from tests.keyworld import COORDINATOR_ONE, COORDINATOR_TWO, envelopes, opened
from tests.migrations.databases import contents, upgrade_to
from tests.migrations.version5 import build_v5, populate_v5

SHARED_PASSPHRASE = "the shared vetting passphrase of old"
NEW_TABLES = {"vetting_keys", "key_holders", "holder_wraps", "key_rotations"}


@pytest.fixture(scope="module")
def old_release_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A keys folder as releases before holders made it: one shared vetting.key."""
    path = tmp_path_factory.mktemp("old-release") / "keys"
    keystore.init_keys(path, vetting_passphrase=SHARED_PASSPHRASE,
                       delivery_passphrase=DELIVERY_PASSPHRASE, **FAST_KDF)
    return path


def test_a_populated_v5_deployment_moves_from_the_shared_vetting_key_to_holders(
        tmp_path: Path, old_release_keys: Path) -> None:
    keys_dir = tmp_path / "keys"
    shutil.copytree(old_release_keys, keys_dir)
    server = keystore.load_server_keys(keys_dir)
    path = tmp_path / "var" / "uglymugs.db"
    build_v5(path, server.database_key)
    conn = db.connect(path, server.database_key)
    sealed = populate_v5(conn, server, keystore.load_audit_signing_key(keys_dir))
    # 0009 erases the reset codes of finished notices: nothing should open them any more.
    sealed = {place: values for place, values in sealed.items()
              if place[:2] != ("outbox", "payload")}
    upgrade_to(path, server.database_key, 9)
    before = contents(conn)
    config = Config(keys_dir=keys_dir, database_path=path, testing=True,
                    cheap_password_hashing=True)

    def cli(*args: str):
        result = create_app(config).test_cli_runner().invoke(args=list(args))
        assert "Traceback" not in result.output
        return result

    def text_file(name: str, text: str) -> str:
        (tmp_path / name).write_text(text + "\n")
        return str(tmp_path / name)

    # 1. The step adds the holder tables, empty, and changes no existing row; then the
    #    operator's `db upgrade` takes the database the rest of the way.
    upgrade_to(path, server.database_key, 10)
    after = contents(conn)
    assert set(after) - set(before) == NEW_TABLES
    assert all(after[table][1] == [] for table in NEW_TABLES)
    assert {t: after[t] for t in before} == before
    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    refused = cli("keys", "verify")
    assert refused.exit_code == 1 and "no key holders yet" in refused.output

    # 2. Every coordinator is enrolled: the first from the shared file, the next from a holder.
    shared = keys_dir / "vetting.key"
    one, two = tmp_path / "one.key", tmp_path / "two.key"
    first = cli("keys", "enrol", "--staff", COORDINATOR_ONE, "--key-out", str(one),
                "--vetting-key", str(shared),
                "--passphrase-file", text_file("shared.txt", SHARED_PASSPHRASE),
                "--new-passphrase-file", text_file("one.txt", "coordinator one's own words"))
    assert first.exit_code == 0, first.output
    assert "destroy every copy of the shared vetting key file" in first.output
    second = cli("keys", "enrol", "--staff", COORDINATOR_TWO, "--key-out", str(two),
                 "--holder-key", str(one),
                 "--passphrase-file", str(tmp_path / "one.txt"),
                 "--new-passphrase-file", text_file("two.txt", "coordinator two's own words"))
    assert second.exit_code == 0, second.output
    assert cli("keys", "verify").exit_code == 0

    # 3. The README says: destroy the shared file's copies, then rotate.
    rotated = cli("keys", "rotate", "vetting", "--holder-key", str(two),
                  "--passphrase-file", str(tmp_path / "two.txt"), "--yes")
    assert rotated.exit_code == 0, rotated.output
    verified = cli("keys", "verify")
    assert verified.exit_code == 0, verified.output
    old_key = read_private_key_file(shared, SHARED_PASSPHRASE)
    assert old_key.fingerprint not in verified.output

    # Every record opens with the new key, through either coordinator's own file...
    delivery = keystore.load_delivery_private_key(keys_dir, DELIVERY_PASSPHRASE)
    for key_file, words in ((one, "coordinator one's own words"),
                            (two, "coordinator two's own words")):
        holder_key = holders.open_holder_key(key_file.read_bytes(), words)
        new_key = holders.open_vetting_keys(conn, holder_key)[VettingKeyState.CURRENT]
        found = opened(conn, new_key, delivery)
        # The rotation's end made a fresh contact-index key, sealed to the new key.
        [made] = [place for place in found if place[0] == "contact_index_keys"]
        assert len(found.pop(made)["key"]) == 64
        assert found == sealed
    # ...and the old shared key file opens nothing, old or new.
    for (table, column, _row), value in envelopes(conn).items():
        if (table, column) not in DELIVERY_ONLY_PLACES:
            with pytest.raises(UnknownKeyId):
                envelope.open_envelope(value, old_key, b"")
    again = cli("keys", "enrol", "--staff", COORDINATOR_ONE, "--key-out",
                str(tmp_path / "again.key"), "--vetting-key", str(shared),
                "--passphrase-file", str(tmp_path / "shared.txt"),
                "--new-passphrase-file", str(tmp_path / "one.txt"))
    assert again.exit_code == 1 and "retired" in again.output

    # The disclosure log, with the old checkpoint, still verifies and names every step.
    verdict = verify_log(conn, server.audit_verify_key)
    assert verdict.ok, verdict.summary()
    events = [entry.body.get("event") for entry in disclosure_log.entries(conn)]
    for event in ("vetting_key_registered", "key_holder_added", "vetting_rotation_started",
                  "vetting_rotation_finished"):
        assert event in events
    conn.close()
