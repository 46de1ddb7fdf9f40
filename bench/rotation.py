"""`rotation 1M`: the vetting rotation's real code path (app.vault.rotation.rewrap_places)
over N synthetic envelopes in a scratch database with the service's pragmas, against the
raw limit measured in the same run: (open one sealed-box wrap + make one new wrap + one
row update) x N / cores.

Run on its own (`python -m bench.rotation`) it prints one JSON line, so its peak RSS is
its own. N is BENCH_ROTATION_N (default 100,000: populating and rotating 1,000,000 takes
longer than the two minutes a bench row may on a 2-core machine); the figure is also
given scaled to 1,000,000 (rotation is linear in N: batches by rowid, memory flat).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING

import nacl.bindings as sodium
import nacl.utils

from crypto import envelope
from crypto.keys import BoxPrivateKey, PublicKey, generate_box_keypair

if TYPE_CHECKING:
    from app.vault import db

# app/ is imported where it is used, not here: a spawned worker imports this module (the
# run's __main__), and importing any app module imports Flask and all of the app with
# it, where `flask --app app keys rotate`'s workers import only flask's script, its __main__.

N = int(os.environ.get("BENCH_ROTATION_N", "100000"))
REPS = int(os.environ.get("BENCH_ROTATION_REPS", "2"))
CORES = os.cpu_count() or 1
PLACE = ("members", "identity")
CHUNK = 5000
PAYLOAD = '{{"work_name":"Bench {i}"}}'


def _sealed(args: tuple[int, int, bytes]) -> list[tuple[str, str, str, bytes]]:
    """Envelopes for rows start..start+count, sealed to the given vetting public key."""
    start, count, public = args
    key = PublicKey("vetting", public)
    return [(f"m{i:08d}", "individual", "active", envelope.seal(
        PAYLOAD.format(i=i).encode(), [key], envelope.bind("members", "identity", f"m{i:08d}")))
        for i in range(start, start + count)]


def populate(path: Path, key: bytes, n: int, vetting: PublicKey) -> None:
    from app.vault import db
    from app.web.config import Config

    db.init_database(path, key, Config().schema_path)
    conn = db.connect(path, key)
    try:
        with ProcessPoolExecutor(CORES) as pool:
            jobs = [(start, min(CHUNK, n - start), vetting.raw) for start in range(0, n, CHUNK)]
            for rows in pool.map(_sealed, jobs):
                with db.transaction(conn):
                    conn.executemany("INSERT INTO members (id, kind, status, created_at, "
                                     "identity) VALUES (?, ?, ?, '2026-01-01T00:00:00+00:00', ?)",
                                     rows)
    finally:
        conn.close()


def raw_limit_seconds(conn: db.Connection, old: BoxPrivateKey, new: PublicKey, n: int,
                      sample: int = 2000) -> float:
    """(sealed-box open + sealed-box seal + one row update) per envelope, x n / cores."""
    from app.vault import db

    sealed = [bytes(row["identity"]) for row in conn.execute(
        "SELECT identity FROM members ORDER BY rowid LIMIT ?", (sample,))]
    wraps = [dict(envelope.parse_envelope(s).wraps)[old.key_id] for s in sealed]
    public, secret, new_public = old.public.raw, old.raw, new.raw
    start = time.perf_counter()
    for wrap in wraps:
        sodium.crypto_box_seal(sodium.crypto_box_seal_open(wrap, public, secret), new_public)
    crypto = (time.perf_counter() - start) / len(wraps)
    start = time.perf_counter()
    with db.transaction(conn):
        for rid in range(1, len(sealed) + 1):
            conn.execute("UPDATE members SET identity = identity WHERE rowid = ?", (rid,))
    update = (time.perf_counter() - start) / len(sealed)
    return (crypto + update) * n / CORES


def _raw_loop(args: tuple[int, bytes, bytes, bytes, bytes]) -> float:
    """Seconds per (sealed-box open + seal) over `count` opens of one wrap, in this process."""
    count, wrap, public, secret, new_public = args
    start = time.perf_counter()
    for _ in range(count):
        sodium.crypto_box_seal(sodium.crypto_box_seal_open(wrap, public, secret), new_public)
    return (time.perf_counter() - start) / count


def free_cores(old: BoxPrivateKey, new: PublicKey, count: int = 3000) -> float:
    """How many cores' worth of the raw work this machine gives at once right now: one
    process's rate against CORES processes' together (2.0 on an idle 2-core machine; about
    1 when other work holds a core). The limit divides by CORES, which only a free machine
    can reach; this says how far the figure's gap is the machine's."""
    wrap = sodium.crypto_box_seal(nacl.utils.random(32), old.public.raw)
    args = (count, wrap, old.public.raw, old.raw, new.raw)
    alone = _raw_loop(args)
    with ProcessPoolExecutor(CORES) as pool:
        together = list(pool.map(_raw_loop, [args] * CORES))
    return CORES * alone / median(together)


def rotate_seconds(conn: db.Connection, old: BoxPrivateKey, new: BoxPrivateKey) -> float:
    from app.vault import rotation

    start = time.perf_counter()
    moved = rotation.rewrap_places(conn, [PLACE], old, new.public)
    seconds = time.perf_counter() - start
    assert moved.get(PLACE) == N, moved
    return seconds


def main() -> None:
    from app.vault import db, rotation

    keys = [generate_box_keypair("vetting"), generate_box_keypair("vetting")]
    with tempfile.TemporaryDirectory(prefix="uglymugs-bench-rotation-") as tmp:
        path = Path(tmp) / "rotation.db"
        key = nacl.utils.random(32)
        started = time.perf_counter()
        populate(path, key, N, keys[0].public)
        populated = time.perf_counter() - started
        conn = db.connect(path, key)
        limits, figures, free = [], [], []
        try:
            for rep in range(REPS):
                # A/B/A/B; each rotation moves every envelope to the other key and back.
                old, new = keys[rep % 2], keys[(rep + 1) % 2]
                limits.append(raw_limit_seconds(conn, old, new.public, N))
                figures.append(rotate_seconds(conn, old, new))
                free.append(free_cores(old, new.public))
        finally:
            conn.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"n": N, "cores": CORES, "limit": limits, "figure": figures,
                      "populate_s": populated, "peak_mib": peak_mib, "free_cores": free,
                      "workers": rotation.WORKERS, "batch": rotation.BATCH_SIZE}))


if __name__ == "__main__":
    sys.exit(main())
