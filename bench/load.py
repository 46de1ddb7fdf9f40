"""Servers on free loopback ports, and load from wrk (or a Python generator without it)."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.stats import p99

REPO = Path(__file__).resolve().parent.parent
CONNECTIONS = 32
THREADS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        """SIGTERM by PID (gunicorn's clean shutdown), SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


def gunicorn(wsgi: str, env: dict[str, str]) -> Server:
    """`gunicorn -w 1 --threads 8 <wsgi>` on a free loopback port, ready when it answers."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "8",
               "-b", f"127.0.0.1:{port}", "--log-level", "warning", wsgi]
    process = subprocess.Popen(command, cwd=REPO, env={**env, "PYTHONPATH": str(REPO)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = Server(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{wsgi} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{wsgi} did not start")


@dataclass(frozen=True)
class Load:
    rps: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run(url: str, *, seconds: float, method: str = "GET", body: str = "",
        headers: dict[str, str] | None = None) -> Load:
    headers = dict(headers or {})
    if method == "POST":
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if have_wrk():
        return _wrk(url, seconds, method, body, headers)
    return _python(url, seconds, method, body, headers)


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_LATENCY = re.compile(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_TOTAL = re.compile(r"(\d+) requests in")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def _wrk(url: str, seconds: float, method: str, body: str, headers: dict[str, str]) -> Load:
    lines = [f"wrk.method = {_lua_string(method)}", f"wrk.body = {_lua_string(body)}"]
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    try:
        out = subprocess.run(["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s",
                              "--latency", "-s", script.name, url],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    value, unit = _LATENCY.search(out).groups()  # type: ignore[union-attr]
    p99_ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = int(m.group(1)) if (m := _NON_2XX.search(out)) else 0
    if m := _SOCKET.search(out):
        errors += sum(int(g) for g in m.groups())
    return Load(rps=float(_RPS.search(out).group(1)),  # type: ignore[union-attr]
                p99_ms=p99_ms, requests=int(_TOTAL.search(out).group(1)),  # type: ignore[union-attr]
                errors=errors)


def _python(url: str, seconds: float, method: str, body: str,
            headers: dict[str, str]) -> Load:
    """CONNECTIONS keep-alive connections on threads: slower than wrk, same shape."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    latencies: list[float] = []
    errors = [0]
    guard = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        mine: list[float] = []
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while time.monotonic() < stop_at:
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body.encode() if body else None,
                             headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    with guard:
                        errors[0] += 1
            except OSError:
                with guard:
                    errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                continue
            mine.append(time.perf_counter() - start)
        conn.close()
        with guard:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    return Load(rps=len(latencies) / elapsed, p99_ms=p99(latencies) * 1000,
                requests=len(latencies), errors=errors[0])
