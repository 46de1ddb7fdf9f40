"""deploy/: the systemd units pass systemd-analyze, and every file keeps the promises the
operator's guide makes (sandboxing, one gunicorn process, no client address in any log)."""

from __future__ import annotations

import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

from app.cli.worker import CREDENTIAL_NAME

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
# What a CI machine cannot have: the venv the units run from.
MISSING_BINARY = re.compile(
    r"^\S+\.service: Command /opt/uglymugs/\S+ is not executable: No such file or directory$")


def _settings(unit: Path) -> list[tuple[str, str]]:
    pairs = []
    for line in unit.read_text().splitlines():
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            pairs.append((key.strip(), value.strip()))
    return pairs


def test_there_are_units_for_the_web_service_and_the_worker() -> None:
    assert [u.name for u in UNITS] == ["uglymugs-web.service", "uglymugs-worker.service"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed (apt-get install systemd)")
def test_systemd_analyze_verify_passes_but_for_the_missing_venv() -> None:
    result = subprocess.run(["systemd-analyze", "verify", *map(str, UNITS)],
                            capture_output=True, text=True, timeout=120, check=False)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    unexpected = [line for line in lines if not MISSING_BINARY.match(line)]
    assert unexpected == []


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_each_unit_is_sandboxed_and_writes_only_the_data_directory(unit: Path) -> None:
    settings = _settings(unit)
    values = dict(settings)
    for key, wanted in (("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                        ("NoNewPrivileges", "yes"), ("ProtectHome", "yes"),
                        ("User", "uglymugs"), ("WorkingDirectory", "/opt/uglymugs"),
                        ("UMask", "0077"), ("CapabilityBoundingSet", "")):
        assert values.get(key) == wanted, key
    assert [v for k, v in settings if k == "ReadWritePaths"] == ["/var/lib/uglymugs"]
    assert values["ExecStart"].startswith("/opt/uglymugs/.venv/bin/")
    for key, value in settings:
        if key == "Environment" and "UGLYMUGS_" in value:
            assert "PASSPHRASE=" not in value and "PASSWORD=" not in value, value


def test_the_worker_gets_its_passphrase_from_an_encrypted_credential() -> None:
    settings = dict(_settings(DEPLOY / "systemd" / "uglymugs-worker.service"))
    name, _, source = settings["LoadCredentialEncrypted"].partition(":")
    assert source.startswith("/etc/credstore.encrypted/")
    # The name the worker looks for in $CREDENTIALS_DIRECTORY (app/cli/worker.py).
    assert name == CREDENTIAL_NAME


def test_gunicorn_runs_one_process_on_loopback_without_an_access_log() -> None:
    config = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert config["workers"] == 1 and config["threads"] > 1
    assert config["bind"].startswith("127.0.0.1:")
    assert config["accesslog"] is None
    assert config["max_requests"] == 0
    # Caddy's X-Forwarded-Proto is trusted from loopback only, so behind TLS the app knows it
    # is https and Flask-WTF also checks that each POST's Referer is our own origin.
    assert config["secure_scheme_headers"] == {"X-FORWARDED-PROTO": "https"}
    assert set(config["forwarded_allow_ips"].split(",")) == {"127.0.0.1", "::1"}
    web = (DEPLOY / "systemd" / "uglymugs-web.service").read_text()
    assert "--config /opt/uglymugs/deploy/gunicorn.conf.py app.wsgi:app" in web


def test_caddy_sets_hsts_proxies_to_gunicorn_and_logs_no_client_address() -> None:
    site = (DEPLOY / "caddy" / "uglymugs.caddy").read_text()
    bind = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["bind"]
    assert "Strict-Transport-Security" in site
    assert f"reverse_proxy {bind}" in site
    for field in ("request>remote_ip delete", "request>client_ip delete",
                  "request>remote_port delete", "request>headers delete"):
        assert field in site
    assert "header_up -X-Forwarded-For" in site
    assert "encode" not in site, "no compression (BREACH)"
    assert "Onion-Location" in site


def test_the_onion_service_points_at_caddys_onion_port() -> None:
    torrc = (DEPLOY / "tor" / "uglymugs.torrc").read_text()
    port = re.search(r"^HiddenServicePort 80 127\.0\.0\.1:(\d+)$", torrc, re.M)
    assert port, torrc
    site = (DEPLOY / "caddy" / "uglymugs.caddy").read_text()
    assert f"http://:{port.group(1)} {{" in site and "bind 127.0.0.1" in site
