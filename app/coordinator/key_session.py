"""The vetting key a coordinator unlocked, as seen from the request in hand.

The keyring (app/vault/keyring.py) holds each unlocked key under a digest of the session
token, wrapped under a key that only this coordinator's cookie carries; this module is
the one place that joins the two for a request.
"""

from __future__ import annotations

from datetime import datetime

from flask import current_app, session

from app.auth.current import SESSION_TOKEN
from app.common.ids import token_hash
from app.membership import decisions
from app.vault import keyring
from app.vault.contact_index import ContactIndexer
from app.vault.db import Connection
from app.web.state import load_keys, now, state
from crypto.keys import BoxPrivateKey

_WRAPPING = "vetting_wrap"
MAX_KEY_FILE_BYTES = keyring.MAX_KEY_FILE_BYTES


def _holder() -> bytes:
    return token_hash(session[SESSION_TOKEN])


def held_vetting_key() -> BoxPrivateKey | None:
    """The vetting key this coordinator unlocked, if it is still held."""
    return keyring.held_key(state().unlocks, _holder(), session.get(_WRAPPING), now())


def held_indexer() -> ContactIndexer | None:
    """The contact-index key held beside this coordinator's unlocked vetting key."""
    return keyring.held_indexer(state().unlocks, _holder(), session.get(_WRAPPING), now())


def unlocked_until() -> datetime | None:
    if SESSION_TOKEN not in session:
        return None
    return state().unlocks.expires_at(_holder(), now())


def unlock(conn: Connection, key_file: bytes, passphrase: str, actor_id: str) -> None:
    """Open this coordinator's own key file for this session (logged).

    Raises crypto.errors.KeyFileError subclasses (app.vault.holders says which).
    """
    wrapping, _expires = keyring.unlock(
        conn, state().unlocks, key_file=key_file, passphrase=passphrase, holder=_holder(),
        account_id=actor_id, now=now())
    session[_WRAPPING] = wrapping.hex()
    # Members approved while the key was locked can be reached from now on.
    key = held_vetting_key()
    if key is not None:
        decisions.catch_up_delivery(conn, load_keys(current_app), key, now())


def lock() -> None:
    state().unlocks.forget(_holder())
    session.pop(_WRAPPING, None)
