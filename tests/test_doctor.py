"""`flask --app app doctor`: fail for what endangers members, ok on a correct layout."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app import create_app
from app.audit.checkpoints import make_checkpoint
from app.cli import doctor
from app.vault import backup, db
from app.vault import log as vault_log
from app.web.config import Config
from crypto import keystore
from tests.conftest import FAST_KDF
from tests.loopback import closed_port, http_stub, smtp_server


@pytest.fixture
def layout(tmp_path: Path, keys_dir: Path, config: Config, app) -> Config:
    """A correct server: keys without the vetting private key, a checkpoint, a backup."""
    keys = tmp_path / "server-keys"
    shutil.copytree(keys_dir, keys)
    (keys / keystore.VETTING_KEY).unlink(missing_ok=True)  # the holders' ceremony makes none
    os.chmod(keys, 0o700)
    correct = replace(config, keys_dir=keys)
    conn = db.connect(correct.database_path, keystore.load_server_keys(keys).database_key)
    try:
        with db.transaction(conn):
            vault_log.append(conn, vault_log.key_unlocked(
                at=datetime.now(UTC), actor="c1", key_fingerprint="test"))
        make_checkpoint(conn, keystore.load_audit_signing_key(keys), datetime.now(UTC))
    finally:
        conn.close()
    made = create_app(correct).test_cli_runner().invoke(args=["backup", "create"])
    assert made.exit_code == 0, made.output
    return correct


def _doctor(config: Config, env: dict[str, str], *args: str):
    clean = {k: None for k in os.environ if k.startswith("UGLYMUGS_")}
    return create_app(config).test_cli_runner().invoke(args=["doctor", *args],
                                                       env={**clean, **env})


def _lines(output: str, level: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(level.upper())]


def test_doctor_is_ok_on_a_correct_layout(layout) -> None:
    with smtp_server() as smtp:
        result = _doctor(layout, {"UGLYMUGS_SMTP_PORT": str(smtp.port)})
        assert smtp.messages == [], "nothing was sent"
    assert result.exit_code == 0, result.output
    assert _lines(result.output, "fail") == []
    for name in ("key files", "key permissions", "personal keys off the server",
                 "secure cookies", "database", "disclosure log", "last checkpoint",
                 "last backup", "SMTP relay", "SMS provider", "free disk"):
        assert f"OK   {name}:" in result.output, name


def test_doctor_fails_for_a_vetting_key_file_left_in_keys(layout, tmp_path) -> None:
    # A deployment from before key holders had one shared vetting key file.
    old = tmp_path / "old-release" / "keys"
    keystore.init_keys(old, vetting_passphrase="an old shared passphrase",
                       delivery_passphrase="an old delivery passphrase", **FAST_KDF)
    shutil.copy(old / keystore.VETTING_KEY, layout.keys_dir / "spare-copy.json")
    result = _doctor(layout, {}, "--no-network")
    assert result.exit_code == 1
    [line] = [x for x in _lines(result.output, "fail") if "personal keys" in x]
    assert "spare-copy.json (vetting key)" in line
    assert "shred" in result.output


def test_doctor_fails_for_a_key_holder_file_but_not_the_delivery_key(layout) -> None:
    holder = (layout.keys_dir / keystore.DELIVERY_KEY).read_text().replace(
        '"kind":"delivery"', '"kind":"holder"').replace('"kind": "delivery"', '"kind": "holder"')
    assert '"holder"' in holder
    (layout.keys_dir / "coordinator-ann.key").write_text(holder)
    result = _doctor(layout, {}, "--no-network")
    assert result.exit_code == 1
    assert "coordinator-ann.key (holder key)" in result.output
    assert "delivery.key" not in "".join(_lines(result.output, "fail"))


def test_doctor_fails_for_readable_keys_insecure_cookies_and_no_relay(layout) -> None:
    os.chmod(layout.keys_dir / keystore.DATABASE_KEY, 0o644)
    result = _doctor(replace(layout, secure_cookies=False),
                     {"UGLYMUGS_SMTP_PORT": str(closed_port())})
    assert result.exit_code == 1
    failed = "\n".join(_lines(result.output, "fail"))
    for name in ("key permissions", "secure cookies", "SMTP relay"):
        assert name in failed, name
    local = _doctor(replace(layout, secure_cookies=False), {}, "--local", "--no-network")
    assert "OK   secure cookies" in local.output


def test_doctor_asks_twilio_for_the_account_without_sending(layout) -> None:
    with http_stub(200) as stub:
        env = {"UGLYMUGS_SMTP_PORT": str(closed_port()), "UGLYMUGS_SMS_PROVIDER": "twilio",
               "UGLYMUGS_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
               "UGLYMUGS_TWILIO_AUTH_TOKEN": "token", "UGLYMUGS_TWILIO_FROM": "UglyMugs",
               "UGLYMUGS_TWILIO_BASE_URL": stub.url}
        result = _doctor(layout, env)
        [request] = stub.requests
    assert request.method == "GET" and not request.path.endswith("/Messages.json")
    assert "OK   SMS provider: twilio answers" in result.output


def test_doctor_warns_without_a_recent_backup_and_fails_a_damaged_log(layout) -> None:
    for path in backup.backups_in(layout.backups_path):
        old = (datetime.now(UTC) - timedelta(days=10)).timestamp()
        os.utime(path, (old, old))
    conn = db.connect(layout.database_path,
                      keystore.load_server_keys(layout.keys_dir).database_key)
    try:
        conn.execute("UPDATE disclosure_log SET body = replace(body, 'c1', 'c2')")
    finally:
        conn.close()
    result = _doctor(layout, {}, "--no-network")
    failed = "\n".join(_lines(result.output, "fail"))
    assert "last backup" in failed and "disclosure log" in failed


def test_the_clock_check_fails_when_time_went_backwards() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = now + timedelta(hours=1)
    assert doctor.check_clock(now, later, synchronised=lambda: True).level == doctor.FAIL
    assert doctor.check_clock(later, now, synchronised=lambda: True).level == doctor.OK
    assert doctor.check_clock(later, None, synchronised=lambda: False).level == doctor.WARN
