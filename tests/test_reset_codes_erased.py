"""A reset code lives in the outbox (sealed to the delivery key) only until it is sent or
has expired: after that, not even the delivery key's holder finds it in the database."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from app.auth import accounts
from app.auth import reset as reset_codes
from app.delivery import DeliverySettings, SendRate, channels
from app.vault import db
from app.web.state import state
from app.worker import retention
from app.worker.delivery import Courier, deliver_all_due
from crypto import keystore
from tests import canary
from tests.conftest import DELIVERY_PASSPHRASE
from tests.loopback import smtp_server
from tests.people import make_member


@pytest.fixture
def delivery_key(keys_dir):
    return keystore.load_delivery_private_key(keys_dir, DELIVERY_PASSPHRASE)


def _courier(delivery_key, smtp) -> Courier:
    settings = replace(DeliverySettings(), smtp=smtp.settings())
    return Courier(key=delivery_key, channels=channels(settings),
                   rates={"email": SendRate(1_000_000), "sms": SendRate(1_000_000)},
                   settings=settings)


def _queue_code(app, conn, server_keys) -> tuple[str, bytes]:
    """Queue a reset code for a new member; the code and its sealed payload as stored."""
    person = make_member(app, alert_channel="email", email="erase.me@example.org")
    account = accounts.by_username(conn, person.username)
    assert account is not None
    with db.transaction(conn):
        assert reset_codes.send_code(conn, server_keys, account, state(app).clock()) == "email"
    row = conn.execute("SELECT payload FROM outbox WHERE kind = 'reset'").fetchone()
    assert isinstance(row["payload"], bytes)
    return person.username, bytes(row["payload"])


def _stored(config, database_key) -> bytes:
    return canary.decrypted_dump(config.database_path, database_key) + b"".join(
        path.read_bytes() for path in canary.database_files(config.database_path))


def test_reset_code_is_erased_from_outbox_once_sent(app, conn, config, server_keys,
                                                   delivery_key, database_key) -> None:
    _username, sealed = _queue_code(app, conn, server_keys)
    assert sealed in _stored(config, database_key), "the scan sees the sealed code before"
    with smtp_server() as smtp:
        deliver_all_due(conn, _courier(delivery_key, smtp), state(app).clock)
        [mail] = smtp.messages
    code = mail.body.split("code is ")[1][:8]
    stored = _stored(config, database_key)
    assert sealed not in stored
    assert canary.find(stored, [code]) == []
    assert conn.execute("SELECT count(*) FROM outbox WHERE payload IS NOT NULL"
                        ).fetchone()[0] == 0


def test_reset_code_is_erased_and_never_sent_once_expired(app, conn, config, server_keys,
                                                         delivery_key, database_key) -> None:
    _username, sealed = _queue_code(app, conn, server_keys)
    later = state(app).clock() + reset_codes.CODE_LIFETIME + timedelta(minutes=1)
    assert retention.erase_reset_codes(conn, later) == 1
    assert sealed not in _stored(config, database_key)
    with smtp_server() as smtp:
        deliver_all_due(conn, _courier(delivery_key, smtp), lambda: later)
        assert smtp.messages == []
    assert conn.execute("SELECT status FROM outbox WHERE kind = 'reset'").fetchone()[0] == \
        "cancelled"


def test_reset_code_not_yet_expired_stays_to_be_sent(app, conn, server_keys) -> None:
    _queue_code(app, conn, server_keys)
    sooner = state(app).clock() + reset_codes.CODE_LIFETIME - timedelta(minutes=1)
    assert retention.erase_reset_codes(conn, sooner) == 0


def test_a_replaced_reset_code_is_erased_with_its_cancelled_notice(app, conn, config,
                                                                  server_keys,
                                                                  database_key) -> None:
    username, first = _queue_code(app, conn, server_keys)
    account = accounts.by_username(conn, username)
    assert account is not None
    with db.transaction(conn):
        reset_codes.send_code(conn, server_keys, account, state(app).clock())
    assert first not in _stored(config, database_key)
