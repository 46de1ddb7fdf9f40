"""Threat row: an auditor, with their login and nothing else.

The auditor reads the disclosure log so that nobody looks at a record unseen; they must
not get any sealed field themselves, by any route, even while a coordinator in the same
server process has the vetting key unlocked.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from app.audit.labels import EVENT_LABELS
from tests import canary
from tests.flows import unlock
from tests.people import make_staff
from tests.threats.planted import Planted, every_route, plant
from tests.webtools import csrf_token


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, keys_dir: Path) -> Planted:
    world = plant(tmp_path_factory.mktemp("auditor"), keys_dir)
    # A coordinator holds the key unlocked meanwhile: the server could open everything.
    coordinator = world.signed_in(world.coordinators[0])
    assert unlock(coordinator, keys_dir).status_code == 302
    return world


@pytest.fixture(scope="module")
def auditors(planted: Planted) -> list:
    """Signed-in auditors, one per test, signed in before any test posts to /login (whose
    failed tries count towards the sign-in limit)."""
    return [planted.signed_in(make_staff(planted.app, "auditor")) for _ in range(3)]


def _variants(ids: dict[str, str]) -> list[dict[str, str]]:
    """The planted ids, and the same with every other record a placeholder can name."""
    return [{**ids, "seq": "2"},
            {**ids, "member_id": ids["org_id"], "request_id": ids["refused_id"]},
            {**ids, "member_id": ids["member_member_id"], "seq": "3"}]


def _unseal_entries(planted: Planted) -> list[dict]:
    return [b for b in planted.log_bodies() if "event" not in b]


def test_auditor_cannot_reach_any_sealed_field_by_any_route(planted: Planted,
                                                            auditors: list) -> None:
    app = planted.app
    auditor = auditors[0]
    token = csrf_token(auditor, "/audit/checkpoints")
    unseals_before = _unseal_entries(planted)
    leaks: list[str] = []
    asked = 0
    for _endpoint, method, url in every_route(app, _variants(planted.ids)):
        asked += 1
        data = {"csrf_token": token} if method == "POST" else None
        response = auditor.open(url, method=method, data=data)
        assert response.status_code < 500, (method, url, response.status_code)
        seen = response.data + "".join(f"{k}: {v}\n" for k, v in response.headers.items()
                                       ).encode()
        leaks += [f"{method} {url}: {hit}" for hit in canary.find(seen, planted.canaries)]
    assert asked > len(list(app.url_map.iter_rules())), "every rule, some more than once"
    assert leaks == []
    assert _unseal_entries(planted) == unseals_before, "nothing opened for the auditor"


def test_auditor_cannot_unlock_or_unseal_even_with_a_coordinator_key_file(
        planted: Planted, auditors: list, keys_dir: Path) -> None:
    """A key file the auditor got hold of is no use: the unlock and unseal routes refuse."""
    app = planted.app
    auditor = auditors[1]
    token = csrf_token(auditor, "/audit/checkpoints")
    unseals_before = _unseal_entries(planted)
    key_file = planted.coordinators[0].key_file
    assert key_file is not None and planted.coordinators[0].key_passphrase
    refused = auditor.post("/coordinator/unlock", data={
        "csrf_token": token, "key_file": (io.BytesIO(key_file.read_bytes()), key_file.name),
        "passphrase": planted.coordinators[0].key_passphrase},
        content_type="multipart/form-data")
    assert refused.status_code == 403
    opening = [(endpoint, url) for endpoint, method, url in every_route(
        app, _variants(planted.ids))
        if method == "POST" and re.search(r"unseal|answers|details|disclose", url)]
    assert len(opening) >= 5, opening
    for _endpoint, url in opening:
        response = auditor.post(url, data={"csrf_token": token})
        assert response.status_code == 403, url
        assert canary.find(response.data, planted.canaries) == []
    assert _unseal_entries(planted) == unseals_before


# What a cell of the auditor's export may be made of: ids, records, stamps, usernames,
# numbers, hashes, key fingerprints and the service's own codes (events, purposes, legal
# bases, field codes). Free text has none of these shapes.
TOKENS = [re.compile(p) for p in (
    r"[A-Za-z0-9_-]{22}", r"[a-z_]+/[A-Za-z0-9_-]{22}", r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00",
    r"[a-z]+-[a-z]+-\d{4}", r"\d+", r"[0-9a-f]{64}", r"[0-9a-f]{4}(?:-[0-9a-f]{4}){7}",
    r"[a-z_]+(?:\.[a-z_]+)?", r"system|worker")]


def _only_ids_and_codes(cell: str) -> bool:
    if cell.startswith("{"):
        return all(_only_ids_and_codes(str(value)) for value in json.loads(cell).values())
    return all(any(t.fullmatch(token) for t in TOKENS) for token in cell.split())


def test_auditor_csv_holds_ids_labels_and_stamps_only(planted: Planted,
                                                      auditors: list) -> None:
    auditor = auditors[2]
    exported = auditor.get("/audit/log.csv")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    header, body = rows[0], rows[1:]
    assert len(body) == len(planted.log_bodies())
    assert canary.find(exported.data, planted.canaries) == []
    shown = " ".join(" ".join(row) for row in body)
    logged = {r for b in planted.log_bodies() for r in b.get("records", ())}
    assert logged and all(record in shown for record in logged), "each record followed"
    assert {row[header.index("event")] for row in body} - {""} <= set(EVENT_LABELS)
    odd = [(name, cell) for row in body for name, cell in zip(header, row, strict=True)
           if not _only_ids_and_codes(cell)]
    assert odd == []
