"""`make run` stops cleanly: Ctrl+C or SIGTERM to its process group ends all three processes
with no error, no traceback and no "Segmentation fault" (the old shell trap's recursion)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
            return reply.status == 200
    except OSError:
        return False


def _pids_with(marker: str) -> list[int]:
    """Processes whose environment names our temporary keys folder: the ones make started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def first_demo() -> dict[str, Path]:
    """The keys folder and database the first run made, for the next to start from.

    The first run makes the demo's keys and database (its key ceremony was most of the
    time); the second starts from a copy of them, as `make run` does on every run after
    the first, so between them both paths are walked.
    """
    return {}


@pytest.mark.skipif(shutil.which("make") is None or not Path("/proc").is_dir(),
                    reason="needs make and /proc")
# Both runs use the checkout's Makefile, which compiles translations/*.mo beside the
# catalogues when stale: one worker runs them in turn, so two makes never write one file.
@pytest.mark.xdist_group("make-run")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_make_run_stops_cleanly_on_a_signal_to_its_process_group(tmp_path, sig,
                                                                 first_demo) -> None:
    keys = tmp_path / "keys"
    if first_demo:
        shutil.copytree(first_demo["keys"], keys)
        for made in first_demo["database"].parent.glob("u.db*"):  # with its WAL, if any
            shutil.copy2(made, tmp_path / made.name)
    port, sink_port = _free_port(), _free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("UGLYMUGS_")},
           "UGLYMUGS_KEYS_DIR": str(keys), "UGLYMUGS_DATABASE": str(tmp_path / "u.db"),
           "PYTHONPATH": str(REPO)}
    # -o: the test's venv is already installed; make must not pip-install into it.
    make = subprocess.Popen(
        ["make", "--no-print-directory", "-o", f"{BIN}/.installed-demo", "run", f"BIN={BIN}",
         f"PORT={port}", f"SINK_PORT={sink_port}"],
        cwd=REPO, env=env, start_new_session=True, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not _answers(port):
            assert make.poll() is None, make.stdout.read().decode() if make.stdout else ""
            assert time.monotonic() < deadline, "make run never served"
            time.sleep(0.2)
        while len(_pids_with(str(keys))) < 5 and time.monotonic() < deadline:
            time.sleep(0.2)  # make, the supervisor, sink, worker, web server
        assert len(_pids_with(str(keys))) >= 5
        time.sleep(1)  # the worker past its start-up
        os.killpg(make.pid, sig)
        output = make.communicate(timeout=60)[0].decode()
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
    for bad in ("Segmentation fault", "Traceback", "Error", "***", "Aborted"):
        assert bad not in output, output[-2000:]
    assert "Stopped the web server, the worker and the SMTP sink." in output
    # make ends as the signal asked (its own convention), having waited for everything.
    assert make.returncode in (0, -sig)
    time.sleep(0.5)
    assert _pids_with(str(keys)) == [], "nothing make started is left running"
    assert not _answers(port)
    first_demo.setdefault("keys", keys)
    first_demo.setdefault("database", tmp_path / "u.db")
