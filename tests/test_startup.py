from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import fields, replace
from pathlib import Path

import pytest

from app import create_app
from app.vault import db
from app.web.state import state, verify_ready
from crypto import keystore
from crypto.keyfile import write_secret_file

REPO = Path(__file__).resolve().parent.parent


def _flask(env_overrides: dict[str, str], *args: str,
           timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UGLYMUGS_")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


@pytest.fixture
def wrong_keys_dir(tmp_path: Path, keys_dir: Path) -> Path:
    """The real key set with a different database key."""
    copy = tmp_path / "wrong-keys"
    shutil.copytree(keys_dir, copy)
    (copy / "database.key").unlink()
    write_secret_file(copy / "database.key", os.urandom(32))
    return copy


def test_wrong_database_key_stops_startup_with_a_clear_message(app, config, wrong_keys_dir) -> None:
    result = _flask({"UGLYMUGS_KEYS_DIR": str(wrong_keys_dir),
                     "UGLYMUGS_DATABASE": str(config.database_path)}, "serve", "--port", "0")
    assert result.returncode == 1
    assert "does not open with the database key" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert "hmac check failed" not in result.stderr, "SQLCipher's own noise is silenced"


def test_missing_database_stops_startup_with_a_clear_message(config, keys_dir) -> None:
    result = _flask({"UGLYMUGS_KEYS_DIR": str(keys_dir),
                     "UGLYMUGS_DATABASE": str(config.database_path)}, "serve", "--port", "0")
    assert result.returncode == 1
    assert "init-db" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_keys_stop_startup_with_a_clear_message(tmp_path: Path) -> None:
    result = _flask({"UGLYMUGS_KEYS_DIR": str(tmp_path / "none"),
                     "UGLYMUGS_DATABASE": str(tmp_path / "x.db")}, "serve", "--port", "0")
    assert result.returncode == 1
    assert "keys init" in result.stderr
    assert "Traceback" not in result.stderr


def test_schema_version_mismatch_stops_startup(app, config, conn) -> None:
    conn.execute("PRAGMA user_version = 99")
    fresh = create_app(config)
    with pytest.raises(db.StartupError,
                       match=rf"schema version 99.*needs version {db.SCHEMA_VERSION}: the "
                             "code is older than the data. Install the matching release"):
        verify_ready(fresh)


def test_requests_get_503_not_500_when_the_database_is_wrong(app, config, conn) -> None:
    conn.execute("PRAGMA user_version = 99")
    response = create_app(config).test_client().get("/")
    assert response.status_code == 503
    assert "Traceback" not in response.get_data(as_text=True)


def test_web_process_loads_no_private_key(config, database_key, tmp_path: Path,
                                          keys_dir: Path) -> None:
    public_only = tmp_path / "public-only"
    shutil.copytree(keys_dir, public_only)
    for private in ("vetting.key", "delivery.key", "audit.key"):
        # A ceremony with key holders writes no vetting.key at all.
        (public_only / private).unlink(missing_ok=True)
    cfg = replace(config, keys_dir=public_only)
    db.init_database(cfg.database_path, database_key, cfg.schema_path)
    app = create_app(cfg)
    assert app.test_client().get("/").status_code == 200
    held = state(app).keys
    names = {f.name for f in fields(held)}
    assert names == {"database_key", "index_key", "session_key", "vetting_public",
                     "delivery_public", "audit_verify_key"}
    assert type(held.audit_verify_key).__name__ == "VerifyKey"


def test_server_keys_repr_shows_no_secret(server_keys: keystore.ServerKeys) -> None:
    shown = repr(server_keys)
    for secret in (server_keys.database_key, server_keys.index_key, server_keys.session_key):
        assert secret.hex() not in shown


def test_gunicorn_entry_point_refuses_a_wrong_database_key(app, config, wrong_keys_dir) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UGLYMUGS_")}
    env.update(UGLYMUGS_KEYS_DIR=str(wrong_keys_dir), UGLYMUGS_DATABASE=str(config.database_path))
    result = subprocess.run([sys.executable, "-c", "import app.wsgi"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "Not starting:" in result.stderr and "Traceback" not in result.stderr


def test_gunicorn_entry_point_builds_a_ready_app(app, config, keys_dir) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UGLYMUGS_")}
    env.update(UGLYMUGS_KEYS_DIR=str(keys_dir), UGLYMUGS_DATABASE=str(config.database_path))
    probe = ("import app.wsgi as w; c = w.app.test_client(); "
             "print(c.get('/').status_code)")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.strip() == "200", result.stderr
