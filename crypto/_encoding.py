"""Small encoding helpers shared by the modules that hash or authenticate structured data.

Hashes and associated data built from several fields must be *unambiguous*: ("ab", "c")
and ("a", "bc") must never encode to the same bytes, or one binding could be passed off
as another. Length-prefixing every field is the simplest encoding with that property.
"""

from __future__ import annotations

import re

_HEX_RE = re.compile(r"[0-9a-f]*")


def utf8(text: str, what: str) -> bytes:
    """Encode text strictly, turning lone surrogates into a ValueError naming the field."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, not {type(text).__name__}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not encodable as UTF-8") from exc


def length_prefixed(*parts: bytes) -> bytes:
    """Concatenate byte strings, each preceded by its length as 4 big-endian bytes."""
    out = bytearray()
    for part in parts:
        if len(part) >= 2**32:
            raise ValueError("field too long to encode")
        out += len(part).to_bytes(4, "big")
        out += part
    return bytes(out)


def strict_hex(text: object, length: int | None = None) -> bytes | None:
    """Decode lower-case hex of an exact byte length, or return None.

    ``bytes.fromhex`` tolerates whitespace and upper case; a key file must have exactly
    one spelling of each value so that its checksum and associated data are canonical.
    """
    if not isinstance(text, str) or len(text) % 2 or not _HEX_RE.fullmatch(text):
        return None
    raw = bytes.fromhex(text)
    if length is not None and len(raw) != length:
        return None
    return raw
