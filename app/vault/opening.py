"""Opening one value group: the raw step under `unseal` and the worker's delivery claims.

Only app/vault may import this module (an import-linter contract): it logs nothing, so a
caller elsewhere could read sealed values without a disclosure-log entry. Everything
outside the vault asks `app.vault.unseal.unseal` or `app.vault.outbox.claim_due`, which
write the entry first.
"""

from __future__ import annotations

import json

from app.vault.sealing import associated_data, check_place
from crypto import envelope
from crypto.errors import MalformedEnvelope
from crypto.keys import BoxPrivateKey


def open_group(
    table: str, column: str, row_id: str, sealed: bytes, key: BoxPrivateKey
) -> dict[str, str]:
    check_place(table, column)
    payload = envelope.open_envelope(sealed, key, associated_data(table, column, row_id))
    values = json.loads(payload.decode("utf-8"))
    if not isinstance(values, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        raise MalformedEnvelope("value group is not an object of text fields")
    return values
