"""32 sign-ins at once through the service (accounts.authenticate and its bounded
Argon2id), against the same Argon2id verifies on two threads. Run as its own process
(`python -m bench.signin`), so its peak memory is its own: prints one JSON line."""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from app.auth import accounts
from app.common.passwords import Passwords
from bench import scratch as scratch_data

SIGN_INS = 32
SLOTS = 2  # Config.max_concurrent_hashes


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-signin-"))
    scratch = scratch_data.make(root)
    names = scratch_data.add_member_login(scratch, SIGN_INS)
    conn = scratch.connect()
    passwords = Passwords(max_concurrent=SLOTS, wait_seconds=600)
    hasher = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)
    stored = conn.execute("SELECT password_hash FROM accounts LIMIT 1").fetchone()[0]
    idle = _rss_mib()
    results = {"limit": [], "figure": []}

    def limit() -> float:
        start = time.perf_counter()
        with ThreadPoolExecutor(SLOTS) as pool:
            list(pool.map(lambda _: hasher.verify(stored, scratch_data.PASSWORD),
                          range(SIGN_INS)))
        return time.perf_counter() - start

    def figure() -> float:
        def one(name: str) -> None:
            assert accounts.authenticate(conn, passwords, name, scratch_data.PASSWORD)

        start = time.perf_counter()
        threads = [threading.Thread(target=one, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - start

    for _ in range(2):  # A/B/A/B
        results["limit"].append(limit())
        results["figure"].append(figure())
    peak = _rss_mib()
    memory_cost_mib = RFC_9106_LOW_MEMORY.memory_cost / 1024
    print(json.dumps({**results, "idle_mib": idle, "peak_mib": peak,
                      "allowed_mib": (idle + SLOTS * memory_cost_mib) * 1.2}))
    conn.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
