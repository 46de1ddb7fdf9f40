"""Two-step recovery codes: ten single-use codes a member gets when they turn two-step on.

A code stands in for one authenticator code, once, for someone who lost their device. The
database keeps only a keyed hash of each (the index key, as reset codes do): the codes are
over 59 random bits, so a keyed hash is enough and a slow password hash would buy nothing. This
module owns every write to the `recovery_codes` table.
"""

from __future__ import annotations

import secrets

from app.vault.db import Connection, count
from crypto.blind_index import BlindIndexer
from crypto.keystore import ServerKeys

CODES = 10
# Lowercase letters and digits a person cannot confuse (no 0/o, 1/l/i): 31 symbols.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_GROUPS, _GROUP_CHARS = 3, 4  # 12 symbols of log2(31) bits each: over 59 bits
CODE_CHARS = _GROUPS * _GROUP_CHARS


def _new_code() -> str:
    symbols = "".join(secrets.choice(_ALPHABET) for _ in range(CODE_CHARS))
    return "-".join(symbols[i:i + _GROUP_CHARS] for i in range(0, CODE_CHARS, _GROUP_CHARS))


def normalise(code: str) -> str:
    """What a person typed, as it is hashed: case, spaces and hyphens do not matter."""
    return "".join(ch for ch in code.lower() if ch not in " -\t")


def looks_like_a_code(code: str) -> bool:
    text = normalise(code)
    return len(text) == CODE_CHARS and all(ch in _ALPHABET for ch in text)


def _hash(keys: ServerKeys, account_id: str, code: str) -> bytes:
    return BlindIndexer(keys.index_key).compute("recovery_codes", "code", account_id,
                                                normalise(code))


def replace_codes(conn: Connection, keys: ServerKeys, account_id: str) -> list[str]:
    """Ten new codes for the account, any old ones gone; inside the caller's transaction.

    The codes are returned to be shown once; only their hashes are kept.
    """
    conn.execute("DELETE FROM recovery_codes WHERE account_id = ?", (account_id,))
    codes = [_new_code() for _ in range(CODES)]
    conn.executemany("INSERT INTO recovery_codes (account_id, code_hash) VALUES (?, ?)",
                     [(account_id, _hash(keys, account_id, code)) for code in codes])
    return codes


def use_code(conn: Connection, keys: ServerKeys, account_id: str, code: str) -> bool:
    """True once for each code: the delete that finds it is what spends it."""
    if not looks_like_a_code(code):
        return False
    used = conn.execute("DELETE FROM recovery_codes WHERE account_id = ? AND code_hash = ?",
                        (account_id, _hash(keys, account_id, code)))
    return used.rowcount == 1


def remaining(conn: Connection, account_id: str) -> int:
    return count(conn, "SELECT count(*) FROM recovery_codes WHERE account_id = ?",
                 (account_id,))


def delete_all(conn: Connection, account_id: str) -> None:
    conn.execute("DELETE FROM recovery_codes WHERE account_id = ?", (account_id,))
