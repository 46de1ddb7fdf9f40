"""Plant-and-search helpers: a canary must not appear in any byte we store or log.

A canary is searched for in every encoding a test can think of: UTF-8, UTF-16 (both byte
orders), hex (both cases) and base64 (standard and URL-safe, at all three alignments, so a
canary inside a longer encoded blob is still found).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from pathlib import Path

import sqlcipher3


def encodings(canary: str) -> dict[str, bytes]:
    raw = canary.encode("utf-8")
    found = {
        "utf-8": raw,
        "utf-16-le": canary.encode("utf-16-le"),
        "utf-16-be": canary.encode("utf-16-be"),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "casefold": canary.casefold().encode("utf-8"),
    }
    for shift in range(3):
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            encoded = encode(b"\0" * shift + raw)
            # Drop the characters that depend on the unknown neighbouring bytes.
            start = (shift * 4 + 2) // 3 + (1 if shift else 0)
            body = encoded[start: 4 * ((shift + len(raw)) // 3)]
            if len(body) >= 8:
                found[f"{name}+{shift}"] = body
    return found


def find(data: bytes, canaries: Iterable[str]) -> list[tuple[str, str]]:
    """Every (canary, encoding) present in data."""
    hits = []
    lowered = data.lower()
    for canary in canaries:
        for name, needle in encodings(canary).items():
            haystack = lowered if name == "casefold" else data
            if needle in haystack:
                hits.append((canary, name))
    return hits


def database_files(db_path: Path) -> list[Path]:
    """The database and every sidecar file next to it (WAL, shared memory, journals)."""
    return sorted(p for p in db_path.parent.iterdir() if p.name.startswith(db_path.name))


def decrypted_dump(db_path: Path, key: bytes) -> bytes:
    """Every value of every table, opened with the database key, as bytes."""
    conn = sqlcipher3.connect(str(db_path))
    try:
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        out = bytearray()
        tables = ["sqlite_master"] + [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        out += bytes(value)
                    elif value is not None:
                        out += str(value).encode("utf-8")
                    out += b"\n"
        return bytes(out)
    finally:
        conn.close()
