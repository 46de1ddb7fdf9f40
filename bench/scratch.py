"""Scratch keys and a scratch database for the run, made fresh in a temporary folder."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nacl.pwhash import argon2id

from app import create_app
from app.auth import accounts
from app.common import identifiers
from app.membership.records import insert_member
from app.vault import db
from app.web.config import Config
from app.web.state import state
from crypto import keystore
from crypto.blind_index import BlindIndexer

VETTING = "bench vetting passphrase, scratch only"
DELIVERY = "bench delivery passphrase, scratch only"
PASSWORD = "a long bench password"
CHECKED = ("phone", "07700 900123")  # published in one alert, so a check finds it


@dataclass(frozen=True)
class Scratch:
    root: Path
    keys_dir: Path
    database: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("UGLYMUGS_")}
        env.update(UGLYMUGS_KEYS_DIR=str(self.keys_dir), UGLYMUGS_DATABASE=str(self.database),
                   UGLYMUGS_INSECURE_COOKIES="1")
        return env

    def config(self) -> Config:
        return Config(keys_dir=self.keys_dir, database_path=self.database,
                      secure_cookies=False, checkpoint_seconds=None)

    def connect(self) -> db.Connection:
        return db.connect(self.database, keystore.load_server_keys(self.keys_dir).database_key)


def make(root: Path) -> Scratch:
    keys_dir = root / "keys"
    keystore.init_keys(keys_dir, vetting_passphrase=VETTING, delivery_passphrase=DELIVERY,
                       kdf_opslimit=argon2id.OPSLIMIT_INTERACTIVE,
                       kdf_memlimit=argon2id.MEMLIMIT_INTERACTIVE)
    scratch = Scratch(root, keys_dir, root / "var" / "bench.db")
    db.init_database(scratch.database, keystore.load_server_keys(keys_dir).database_key,
                     Config().schema_path)
    return scratch


def add_member_login(scratch: Scratch, n: int = 1) -> list[str]:
    """`n` active members with logins (real Argon2id hashes); returns their usernames."""
    app = create_app(scratch.config())
    st = state(app)
    keys = keystore.load_server_keys(scratch.keys_dir)
    conn = scratch.connect()
    hashed = st.passwords.hash(PASSWORD)
    names = []
    try:
        with db.transaction(conn):
            for i in range(n):
                member_id = insert_member(conn, keys, kind="individual",
                                          identity={"work_name": f"Bench {i}"},
                                          contact={"email": f"bench{i}@example.org"})
                conn.execute("UPDATE members SET status = 'active' WHERE id = ?", (member_id,))
                conn.execute("INSERT INTO member_alert_areas (member_id, area) "
                             "VALUES (?, 'ldn')", (member_id,))
                account = accounts.create_login(conn, role="member", password_hash=hashed,
                                                now=datetime.now(UTC), member_id=member_id)
                names.append(account.username)
    finally:
        conn.close()
    return names


def publish_alerts(scratch: Scratch, alerts: int, identifier_rows: int) -> None:
    """`alerts` published alerts (London or national) and `identifier_rows` index rows."""
    keys = keystore.load_server_keys(scratch.keys_dir)
    indexer = BlindIndexer(keys.index_key)
    conn = scratch.connect()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        with db.transaction(conn):
            for i in range(alerts):
                alert_id = f"bench-alert-{i:05}"
                at = (start + timedelta(minutes=i)).isoformat(timespec="seconds")
                national = i % 5 == 0
                conn.execute("INSERT INTO alerts (id, status, current_version, created_at, "
                             "published_at) VALUES (?, 'published', 1, ?, ?)",
                             (alert_id, at, at))
                conn.execute(
                    "INSERT INTO alert_versions (alert_id, version, title, national, areas, "
                    "categories, incident_date, description, identifiers, edited_at) "
                    "VALUES (?, 1, ?, ?, ?, 'threats', '2026-01-01', ?, '[]', ?)",
                    (alert_id, f"Bench alert {i}", int(national), "" if national else "ldn",
                     "Books by text, then refuses to pay and turns aggressive. " * 3, at))
                if not national:
                    conn.execute("INSERT INTO alert_areas (alert_id, area) VALUES (?, 'ldn')",
                                 (alert_id,))
            names = [name for name, _ in identifiers.index_values(indexer, *CHECKED)]
            rows_per_alert = max(1, identifier_rows // alerts)
            # Sorted as the lookup index orders them, so the b-tree is filled in order
            # (random order takes minutes): the bench measures reads, not this load.
            rows = sorted((names[i % len(names)], secrets.token_bytes(32),
                            f"bench-alert-{(i // rows_per_alert) % alerts:05}")
                           for i in range(identifier_rows))
            conn.execute("PRAGMA cache_size = -262144")
            conn.executemany("INSERT INTO alert_identifier_index (index_name, value, "
                             "alert_id) VALUES (?, ?, ?)", rows)
            del rows
            conn.executemany("INSERT INTO alert_identifier_index (alert_id, index_name, "
                             "value) VALUES ('bench-alert-00001', ?, ?)",
                             identifiers.index_values(indexer, *CHECKED))
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@dataclass(frozen=True)
class Browser:
    """What wrk needs to act as a signed-in member: the cookie and a CSRF token."""

    cookie: str
    csrf_token: str


def signed_in(scratch: Scratch, username: str, form_page: str) -> Browser:
    """Sign in through the real pages (in process), then read a form's CSRF token."""
    app = create_app(replace(scratch.config()))
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = _CSRF.search(page)
    assert token, "no CSRF token on /login"
    response = client.post("/login", data={"csrf_token": token.group(1), "username": username,
                                           "password": PASSWORD})
    assert response.status_code in (302, 303), response.status_code
    page = client.get(form_page).get_data(as_text=True)
    token = _CSRF.search(page)
    assert token, f"no CSRF token on {form_page}"
    cookie = client.get_cookie("session")
    assert cookie is not None
    state(app).shutdown()
    return Browser(cookie=f"session={cookie.value}", csrf_token=token.group(1))
