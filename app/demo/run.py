"""`make run`'s three processes (SMTP sink, worker, web server), started and stopped as one.

`python -m app.demo.run [--port 5000] [--sink-port 8025]`, after `demo-setup`.

Why not a shell `trap 'kill 0' INT TERM EXIT` in the Makefile, as before: `kill 0` signals
the trap's own shell too, which runs the trap again, and again, until bash overflows its
stack and make reports "Segmentation fault". Here each child runs in its own session, so
Ctrl+C in the terminal (SIGINT to make's process group) or SIGTERM to that group reaches
only this supervisor; it sends each child SIGTERM, waits for all three, and exits 0. Make
then sees a recipe that succeeded, and nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

from app.cli.keys import DEMO_DELIVERY_PASSPHRASE_FILE
from app.web.config import Config

_STOP_WAIT_SECONDS = 10.0


class Stop(Exception):
    """Raised in the main thread by the first SIGINT or SIGTERM."""


class _StopOnce:
    """The signal handler. Make passes a SIGTERM it gets on to us, so the group's SIGTERM
    arrives twice: only the first may interrupt, or the second would cut the stopping
    short and leave the children running."""

    def __init__(self) -> None:
        self.stopping = False

    def __call__(self, _signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            self.stopping = True
            raise Stop


def _die_with_parent() -> None:
    """In each child (Linux): SIGTERM when the supervisor dies, even by SIGKILL."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# Example contact details for the demo's pages (a reserved domain and an Ofcom drama
# number); the environment's own values win.
DEMO_SCHEME_CONTACT = {"UGLYMUGS_SCHEME_CONTACT_EMAIL": "coordinator@scheme.example.org",
                       "UGLYMUGS_SCHEME_CONTACT_PHONE": "01632 960 123",
                       "UGLYMUGS_SCHEME_CONTACT_HOURS": "Monday to Friday, 10:00 to 16:00"}


def commands(port: int, sink_port: int) -> list[tuple[str, list[str], dict[str, str]]]:
    """(name, argv, environment) of each process."""
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    base = dict(os.environ)
    keys_dir = Config.from_env(base).keys_dir
    return [
        ("the SMTP sink", [*flask, "smtp-sink", "--port", str(sink_port)], base),
        ("the worker", [*flask, "worker"], {
            **base, "UGLYMUGS_SMTP_PORT": str(sink_port),
            "UGLYMUGS_DELIVERY_PASSPHRASE_FILE": str(keys_dir / DEMO_DELIVERY_PASSPHRASE_FILE)}),
        ("the web server", [*flask, "serve"],
         {**DEMO_SCHEME_CONTACT, **base, "UGLYMUGS_INSECURE_COOKIES": "1", "PORT": str(port)}),
    ]


def _stop_all(children: Sequence[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + _STOP_WAIT_SECONDS
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def supervise(port: int, sink_port: int) -> int:
    """Run the three until a signal (exit 0) or until one of them ends (its status)."""
    handler = _StopOnce()
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    children: list[subprocess.Popen[bytes]] = []
    names: list[str] = []
    status = 0
    try:
        for name, command, env in commands(port, sink_port):
            # Its own session: the terminal's Ctrl+C is ours to pass on, once, as SIGTERM.
            children.append(subprocess.Popen(  # noqa: S603 (our own argv)
                command, env=env, start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None))
            names.append(name)
        while True:
            for name, child in zip(names, children, strict=True):
                code = child.poll()
                if code is not None:
                    print(f"{name} stopped (exit {code}); stopping the others.",
                          file=sys.stderr)
                    status = code or 1
                    raise Stop
            time.sleep(0.2)
    except Stop:
        pass
    finally:
        handler.stopping = True
        _stop_all(children)
    if status == 0:
        print("Stopped the web server, the worker and the SMTP sink.", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--sink-port", type=int, default=8025)
    args = parser.parse_args(argv)
    raise SystemExit(supervise(args.port, args.sink_port))


if __name__ == "__main__":
    main()
