from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from app.vault import db
from app.web.config import Config

REPO = Path(__file__).resolve().parent.parent
CLIENT_IP = "203.0.113.77"
USER_AGENT = "CanaryBrowser/9.9 (canary-agent-4471)"


def test_request_log_has_no_ip_or_user_agent(client, all_logs) -> None:
    client.get("/", environ_base={"REMOTE_ADDR": CLIENT_IP},
               headers={"User-Agent": USER_AGENT, "X-Forwarded-For": CLIENT_IP})
    client.get("/no-such-page?email=canary@example.org",
               environ_base={"REMOTE_ADDR": CLIENT_IP})
    text = all_logs.text
    assert "public.index 200" in text, "requests are still logged, by endpoint"
    for leak in (CLIENT_IP, USER_AGENT, "canary@example.org", "/no-such-page"):
        assert leak not in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_served_process_writes_no_client_address(tmp_path: Path, keys_dir: Path,
                                                 database_key: bytes) -> None:
    database = tmp_path / "served.db"
    db.init_database(database, database_key, Config().schema_path)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("UGLYMUGS_")}
    env.update(UGLYMUGS_KEYS_DIR=str(keys_dir), UGLYMUGS_DATABASE=str(database),
               UGLYMUGS_INSECURE_COOKIES="1", PORT=str(port))
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "serve"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/",
                                                 headers={"User-Agent": USER_AGENT})
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                    assert response.status == 200
                    assert response.headers["X-Frame-Options"] == "DENY"
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert "public.index 200" in output
    assert "127.0.0.1 -" not in output
    assert USER_AGENT not in output and "CanaryBrowser" not in output
