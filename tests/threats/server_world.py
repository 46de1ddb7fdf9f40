"""A running scheme, then what someone who takes the server carries away.

Members in every state (waiting, active with email, text or no alerts, rejected, revoked,
left), a coordinator who unlocked and opened the queue (so contact indexes exist under
the contact-index key), a report with offender identifiers, a published alert, and reset
codes in the outbox: sent, expired and still waiting. Then `taken` is the adversary's
loot: every file in keys/ (holder key files live outside it, as in production) and the
database, read with database.key.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import nacl.signing
from flask import Flask

from app.auth import reset
from app.membership import decisions
from app.vault import db, outbox
from app.web.state import state
from app.worker import retention
from crypto import keystore, normalise
from crypto.blind_index import BlindIndexer
from crypto.keys import BoxPrivateKey
from tests.flows import apply, coordinator_client, decide, member_id_of, unlock, unseal
from tests.people import make_published_alert, make_report

RESET_CODE = "493817"


@dataclass
class Scheme:
    """Who is in what state, and the contact values the adversary wants to test."""

    by_state: dict[str, list[str]] = field(default_factory=dict)
    mobiles: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    push_active: set[str] = field(default_factory=set)
    reset_rows: dict[str, int] = field(default_factory=dict)  # "sent"/"expired"/"waiting"
    # Whether the sent code was gone the moment it was marked sent (before any purge).
    erased_when_sent: bool = False

    def add(self, status: str, member_id: str) -> None:
        self.by_state.setdefault(status, []).append(member_id)


def _applied(app: Flask, conn, scheme: Scheme, n: int, channel: str) -> str:
    mobile, email = f"07700 900{n:03d}", f"threat.member.{n}@example.org"
    scheme.mobiles.append(mobile)
    scheme.emails.append(email)
    return member_id_of(conn, apply(app, work_name=f"Threat Worker {n}", mobile=mobile,
                                    email=email, alert_channel=channel))


def build_scheme(app: Flask, conn, keys_dir: Path) -> Scheme:
    st = state(app)
    keys = keystore.load_server_keys(keys_dir)
    scheme = Scheme()
    coordinator, person = coordinator_client(app)
    assert unlock(coordinator, keys_dir).status_code == 302
    plan = [("pending", "email"), ("pending", "sms"), ("pending", "none"),
            ("active", "email"), ("active", "sms"), ("active", "none"),
            ("rejected", "email"), ("revoked", "sms"), ("left", "email")]
    ids = [(_applied(app, conn, scheme, n, channel), status, channel)
           for n, (status, channel) in enumerate(plan)]
    for member_id, status, channel in ids:
        if status in ("active", "revoked", "left"):
            assert unseal(coordinator, member_id).status_code == 200
            assert decide(coordinator, member_id, "approve").status_code == 302
        if status == "rejected":
            decisions.reject(conn, member_id, "unverifiable", person.account_id, st.clock(),
                             keys=keys)
        elif status == "revoked":
            decisions.revoke(conn, member_id, "false_membership", person.account_id,
                             st.clock(), keys=keys, confirmed=True)
        elif status == "left":
            decisions.leave(conn, member_id, None, st.clock())
        elif status == "active" and channel != "none":
            scheme.push_active.add(member_id)
        scheme.add(status, member_id)
    # The queue, opened with the key unlocked, indexes every contact not yet indexed.
    assert coordinator.get("/coordinator/").status_code == 200
    assert db.count(conn, "SELECT count(*) FROM member_contact_index") > 0
    make_report(app, identifiers=(("phone", "07700 900999"), ("email", "bad@example.net")),
                narrative="Threat narrative canary")
    make_published_alert(app, identifiers=(("phone", PUBLISHED_IDENTIFIER),))
    _reset_codes(app, conn, scheme, keys)
    return scheme


def _reset_codes(app: Flask, conn, scheme: Scheme, keys: keystore.ServerKeys) -> None:
    """A reset code sent by the worker, one that expired unsent, one still waiting."""
    st = state(app)
    now = st.clock()
    delivery = keystore.load_delivery_private_key(st.config.keys_dir, _delivery_passphrase())
    target = sorted(scheme.push_active)[0]

    def queue(label: str, at) -> int:
        with db.transaction(conn):
            outbox.enqueue(conn, kind="reset", member_id=target, channel="email",
                           dedupe_key=f"reset:{label}", now=at, secret=RESET_CODE, keys=keys)
        return int(db.scalar(conn, "SELECT id FROM outbox WHERE dedupe_key = ?",
                             (f"reset:{label}",)))

    scheme.reset_rows["sent"] = queue("sent", now)
    # The worker's own steps: claim (logged, opened), send, mark sent.
    for claimed in outbox.claim_due(conn, delivery, now, 100):
        outbox.mark_sent(conn, claimed, now)
    scheme.erased_when_sent = db.scalar(conn, "SELECT payload FROM outbox WHERE id = ?",
                                        (scheme.reset_rows["sent"],)) is None
    scheme.reset_rows["expired"] = queue("expired", now - reset.CODE_LIFETIME
                                         - timedelta(minutes=1))
    retention.purge(conn, now)  # the nightly job (the delivery run does the same first)
    scheme.reset_rows["waiting"] = queue("waiting", now + timedelta(minutes=5))


def _delivery_passphrase() -> str:
    from tests.conftest import DELIVERY_PASSPHRASE

    return DELIVERY_PASSPHRASE


# --- what the adversary has ------------------------------------------------------------


@dataclass(frozen=True)
class Loot:
    files: dict[str, bytes]  # every file in keys/, by name
    cells: list[tuple[str, str, object]]  # (table, column, value) of every row
    envelopes: list[tuple[str, str, str, bytes]]  # (table, column, row id, envelope)
    account_ids: list[str]


def server_secrets(files: dict[str, bytes], keys_dir: Path) -> dict[str, bytes]:
    """Every 32-byte secret the server's files give without a passphrase."""
    found = {}
    for name in sorted(files):
        path = keys_dir / name
        try:
            found[name] = keystore.read_secret_file(path, keystore.SECRET_BYTES)
        except Exception:  # noqa: S112 (not a raw secret file: public or sealed)
            continue
    return found


def candidate_box_keys(secrets: dict[str, bytes]) -> Iterator[tuple[str, BoxPrivateKey]]:
    """Every X25519 private key the adversary can make from those secrets."""
    for name, raw in secrets.items():
        for kind in ("vetting", "delivery", "holder"):
            yield f"{name} as {kind}", BoxPrivateKey(kind=kind, raw=raw)
        if name == keystore.AUDIT_KEY:
            curve = nacl.signing.SigningKey(raw).to_curve25519_private_key()
            for kind in ("vetting", "delivery"):
                yield f"{name} (curve25519) as {kind}", BoxPrivateKey(kind=kind,
                                                                       raw=bytes(curve))


def take_server(config, keys_dir: Path, database_key: bytes) -> Loot:
    files = {p.name: p.read_bytes() for p in keys_dir.iterdir() if p.is_file()}
    conn = db.connect(config.database_path, database_key)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        cells: list[tuple[str, str, object]] = []
        for table in tables:
            cursor = conn.execute(f'SELECT * FROM "{table}"')  # noqa: S608
            columns = [d[0] for d in cursor.description]
            for row in cursor.fetchall():
                cells.extend((table, column, value) for column, value in zip(columns, row,
                                                                             strict=True))
        from app.vault.sealing import SEALED_PLACES

        envelopes = []
        for table, column in SEALED_PLACES:
            for row in conn.execute(f"SELECT id, {column} FROM {table} "  # noqa: S608
                                    f"WHERE {column} IS NOT NULL"):
                envelopes.append((table, column, str(row[0]), bytes(row[1])))
        account_ids = [row[0] for row in conn.execute("SELECT id FROM accounts")]
    finally:
        conn.close()
    return Loot(files, cells, envelopes, account_ids)


# --- every blind index the server's keys can compute -----------------------------------

_MEMBER_TRIPLES = [("members", "mobile", "e164"), ("members", "email", "exact"),
                   ("members", "email", "canonical")]
_OFFENDER_TRIPLES = [("offender_identifier", "phone", "e164"),
                     ("offender_identifier", "email", "exact"),
                     ("offender_identifier", "email", "canonical")]


# An offender's phone in a published alert: the server indexes it by design (the checker
# looks it up), so the membership search below must find it. Without that, a search that
# found nothing for members could be one that finds nothing at all.
PUBLISHED_IDENTIFIER = "07700 900998"


def normal_forms(value: str) -> list[str]:
    if "@" in value:
        return sorted({normalise.normalise_email(value), normalise.canonical_email(value)})
    return [normalise.normalise_phone(value)]


def triples(account_ids: Iterable[str]) -> list[tuple[str, str, str]]:
    """Every (table, field, index) the code computes a blind index under: the member
    contact triples (once under index.key), offender identifier and alert indexes, and the
    per-account reset and recovery code indexes."""
    per_account = [(table, "code", account_id) for account_id in account_ids
                   for table in ("password_resets", "recovery_codes")]
    return _MEMBER_TRIPLES + _OFFENDER_TRIPLES + per_account


def computed(indexers: list[BlindIndexer], value: str,
             combos: list[tuple[str, str, str]]) -> set[bytes]:
    """Every blind index of `value`, full length and truncated as 0001..0013 did."""
    found: set[bytes] = set()
    for indexer in indexers:
        for form in normal_forms(value):
            for table, field_name, index in combos:
                found.add(indexer.compute(table, field_name, index, form))
                found.add(indexer.compute(table, field_name, index, form, 20))
    return found


def encodings(digest: bytes) -> set[bytes]:
    forms = {digest, digest.hex().encode(), digest.hex().upper().encode(),
             base64.b64encode(digest), base64.urlsafe_b64encode(digest)}
    return forms | {form.rstrip(b"=") for form in forms}


class CellIndex:
    """Every cell's bytes, for exact matches, and every window of the lengths a full
    index takes in each encoding, for matches inside a larger cell (a log body, JSON).

    `holds(digest)` answers whether any of `encodings(digest)` is a cell (or, for a full
    index, a window). The test asks that of millions of digests, so the answer is read
    the other way round: each cell and window that is one of those text encodings of
    some bytes (checked by encoding the decoded bytes again: the same text, exactly) is
    decoded once here, and a digest is looked up among those bytes, as it is and with
    its trailing "=" stripped, instead of encoding every digest six ways.
    """

    def __init__(self, cells: list[tuple[str, str, object]]) -> None:
        self.exact: set[bytes] = set()
        self.windows: set[bytes] = set()
        lengths = {len(form) for form in encodings(bytes(32))}
        for _table, _column, value in cells:
            if value is None:
                continue
            data = (bytes(value) if isinstance(value, bytes | memoryview)
                    else str(value).encode("utf-8"))
            self.exact.add(data)
            for length in lengths:
                for start in range(len(data) - length + 1):
                    self.windows.add(data[start:start + length])
        self._exact_decoded = _decodings(self.exact)
        self._anywhere = self.exact | self.windows
        self._anywhere_decoded = self._exact_decoded | _decodings(self.windows)

    def holds(self, digest: bytes) -> bool:
        if len(digest) < 32:  # a truncated index would be a whole cell
            pool, decoded = self.exact, self._exact_decoded
        else:
            pool, decoded = self._anywhere, self._anywhere_decoded
        # encodings(digest): the digest itself and stripped of "=", or a text encoding.
        return digest in pool or digest.rstrip(b"=") in pool or digest in decoded


_HEX = re.compile(rb"[0-9a-fA-F]*")
_B64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_URL_B64 = re.compile(rb"[A-Za-z0-9_-]*={0,2}")


def _decodings(texts: Iterable[bytes]) -> set[bytes]:
    """Every byte string of which some text in `texts` is a text form in `encodings`:
    hex in either case, base64 or URL-safe base64, with its padding or stripped of it."""
    found: set[bytes] = set()
    for text in texts:
        if len(text) % 2 == 0 and _HEX.fullmatch(text):
            raw = bytes.fromhex(text.decode("ascii"))
            if text in (raw.hex().encode(), raw.hex().upper().encode()):
                found.add(raw)
        for pattern, decode, encode in (
                (_B64, base64.b64decode, base64.b64encode),
                (_URL_B64, base64.urlsafe_b64decode, base64.urlsafe_b64encode)):
            if not pattern.fullmatch(text):
                continue
            try:
                raw = decode(text + b"=" * (-len(text) % 4))
            except ValueError:
                continue
            if encode(raw) == text or (not text.endswith(b"=")
                                       and encode(raw).rstrip(b"=") == text):
                found.add(raw)
    return found


def random_others(count: int, seed: int, taken: set[str]) -> list[str]:
    """Random UK mobiles and email addresses, none of them a member's."""
    import random

    rng = random.Random(seed)  # test values, not secrets
    others: list[str] = []
    while len(others) < count:
        if len(others) % 2:
            value = (f"{''.join(rng.choices('abcdefghijklmnopqrstuvwxyz', k=9))}"
                     f"@{rng.choice(['example.org', 'gmail.com', 'outlook.com'])}")
        else:
            value = f"07{rng.choice('456789')}{rng.randrange(10**8):08d}"
            try:
                normalise.normalise_phone(value)
            except ValueError:
                continue
        if value not in taken:
            others.append(value)
    return others
