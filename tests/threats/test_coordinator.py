"""Threat row: a coordinator, with their own key file and login.

A coordinator must read records to vet; what they must not get is an unlogged look at a
record, or the use of another coordinator's unlock. So: every route, asked with real ids
while their key is unlocked, shows a sealed value only in a response whose request wrote
an unseal entry naming that record first; with the log refusing every entry, no route
shows one at all; and neither another coordinator's key file nor their unlock opens
anything for them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app.coordinator import key_session
from app.vault import log as disclosure_log
from app.web.state import state
from tests import canary
from tests.flows import unlock
from tests.people import Person, make_staff
from tests.threats.planted import Planted, every_route, plant
from tests.webtools import csrf_token


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory, keys_dir: Path) -> Planted:
    return plant(tmp_path_factory.mktemp("coordinator"), keys_dir)


def _requests(app: Flask, ids: dict[str, str]) -> Iterator[tuple[str, str, dict]]:
    """(method, url, form) for every rule and method, arguments filled with real ids,
    and the forms that make the opening routes open (the rest get an empty form)."""
    variants = [ids, {**ids, "member_id": ids["org_id"], "request_id": ids["refused_id"]},
                {**ids, "member_id": ids["member_member_id"]}]
    for _endpoint, method, url in every_route(app, variants):
        yield method, url, {}
    export = {"report_ids": [ids["report_id"]], "offender": "y", "narrative": "y",
              "reporter_details": "y"}
    yield "POST", "/coordinator/disclosures/export", export
    yield "POST", f"/coordinator/disclosures/{ids['request_id']}/disclose", {}


def _sweep(planted: Planted, client) -> list[tuple]:
    """Every request in turn: (method, url, canaries shown, unseal entries it wrote)."""
    seen = []
    token = csrf_token(client, "/coordinator/")  # one per session; sign-outs come last
    for method, url, form in _requests(planted.app, planted.ids):
        before = len(planted.log_bodies())
        try:
            response = client.open(url, method=method,
                                   data={"csrf_token": token, **form} if method == "POST"
                                   else None)
        except Exception:  # testing mode raises what would have been a 500
            shown: list[str] = []
        else:
            assert response.status_code < 500, (method, url)
            body = response.data + str(dict(response.headers)).encode()
            shown = sorted({found for found, _how in canary.find(body, planted.sealed)})
        written = [b for b in planted.log_bodies()[before:] if "event" not in b]
        seen.append((method, url, shown, written))
    return seen


def _signed_in_unlocked(planted: Planted, person: Person):
    client = planted.signed_in(person)
    assert unlock(client, planted.keys_dir).status_code == 302
    return client


def test_the_worker_sends_no_contact_it_could_not_log_first(
        planted: Planted, monkeypatch: pytest.MonkeyPatch) -> None:
    """`flask worker` is the one command that opens contacts (with the delivery key).

    First in this file: the sweeps below post to every route, leave and revoke included.
    """
    from app.worker.scheduler import Jobs
    from crypto import keystore
    from tests.conftest import DELIVERY_PASSPHRASE
    from tests.loopback import smtp_server
    from tests.test_worker import _courier

    config = state(planted.app).config
    delivery_key = keystore.load_delivery_private_key(planted.keys_dir, DELIVERY_PASSPHRASE)
    entries = len(planted.log_bodies())

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the disclosure log is full")

    with smtp_server() as smtp:
        jobs = Jobs(config.database_path, planted.database_key, _courier(delivery_key, smtp),
                    state(planted.app).clock, None)
        monkeypatch.setattr(disclosure_log, "append", refuse)
        with contextlib.suppress(RuntimeError):
            jobs.deliver()
        monkeypatch.undo()
        assert smtp.messages == [], "nothing opened, nothing sent"
        assert len(planted.log_bodies()) == entries
        jobs.deliver()
        # The planted member's two notices go out once the log takes their entry (the
        # pending organisation's cannot: an applicant's contact has no delivery wrap).
        sent = smtp.wait_for(2)
        assert {r for m in sent for r in m.recipients} == {
            "canaryzx.reporter@example.org"}
    delivered = [b for b in planted.log_bodies()[entries:]
                 if str(b.get("event", "")).startswith("deliver_")]
    # Batch entries count members, naming none; the claim logged before it opened.
    assert delivered and sum(b["member_count"] for b in delivered) >= 2


def test_coordinator_sees_no_sealed_value_without_an_unseal_entry_naming_it_first(
        planted: Planted) -> None:
    person = planted.coordinators[0]
    seen = _sweep(planted, _signed_in_unlocked(planted, person))
    unlogged = []
    for method, url, shown, written in seen:
        named = {record for entry in written for record in entry["records"]
                 if entry["actor"] == person.account_id}
        for value in shown:
            if not planted.holders_of(value) & named:
                unlogged.append((method, url, value))
    assert unlogged == []
    opened = {value for _m, _u, shown, _w in seen for value in shown}
    # The sweep really did open things: every kind of sealed record was shown to them.
    for record in ("members/", "reports/", "report_additions/", "application_questions/",
                   "disclosure_requests/", "contact_requests/"):
        assert any(planted.holders_of(v) & {r for r in planted.records
                                            if r.startswith(record)} for v in opened), record


def test_coordinator_sees_no_sealed_value_when_the_log_refuses_to_write(
        planted: Planted, monkeypatch: pytest.MonkeyPatch) -> None:
    person = make_staff(planted.app, "coordinator")
    client = _signed_in_unlocked(planted, person)
    entries = len(planted.log_bodies())

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the disclosure log is full")

    monkeypatch.setattr(disclosure_log, "append", refuse)
    seen = _sweep(planted, client)
    monkeypatch.undo()
    assert [(m, u, shown) for m, u, shown, _w in seen if shown] == []
    assert len(planted.log_bodies()) == entries


def test_another_coordinators_key_file_does_not_unlock_for_me(planted: Planted) -> None:
    mine, theirs = make_staff(planted.app, "coordinator"), make_staff(planted.app,
                                                                     "coordinator")
    assert theirs.key_file and theirs.key_passphrase
    client = planted.signed_in(mine)
    before = len(planted.log_bodies())
    refused = unlock(client, planted.keys_dir, key_file=theirs.key_file,
                     passphrase=theirs.key_passphrase)
    assert refused.status_code in (400, 403, 409, 422), refused.status_code
    assert planted.log_bodies()[before:] == [], "no unlock recorded for either of us"
    opened = client.post(f"/coordinator/reports/{planted.ids['report_id']}/unseal",
                         data={"csrf_token": csrf_token(client, "/coordinator/")})
    assert opened.status_code == 423
    assert canary.find(opened.data, planted.sealed) == []


def test_another_coordinators_unlock_cannot_be_used_from_my_session(planted: Planted) -> None:
    app = planted.app
    theirs = _signed_in_unlocked(planted, make_staff(app, "coordinator"))
    mine = planted.signed_in(make_staff(app, "coordinator"))
    # Their cookie's wrapping key, copied into my session (as if I had read it off their
    # screen or their browser): my session token is not the one the keyring holds it for.
    with theirs.session_transaction() as their_session:
        wrap, their_token = their_session["vetting_wrap"], dict(their_session)["token"]
    with mine.session_transaction() as my_session:
        my_session["vetting_wrap"] = wrap
        my_token = my_session["token"]
    before = len(planted.log_bodies())
    url = f"/coordinator/reports/{planted.ids['report_id']}/unseal"
    opened = mine.post(url, data={"csrf_token": csrf_token(mine, "/coordinator/")})
    assert opened.status_code == 423
    assert canary.find(opened.data, planted.sealed) == []
    assert planted.log_bodies()[before:] == []
    # And in the keyring itself: their entry needs their token and their cookie's key.
    unlocks, now = state(app).unlocks, state(app).clock()
    from app.common.ids import token_hash

    assert key_session.keyring.held_key(unlocks, token_hash(my_token), wrap, now) is None
    assert key_session.keyring.held_key(unlocks, token_hash(their_token), "00" * 32,
                                        now) is None
    assert key_session.keyring.held_key(unlocks, token_hash(their_token), wrap,
                                        now) is not None, "their own unlock still works"


def test_no_command_prints_a_sealed_value_or_opens_anything_unlogged(
        planted: Planted, tmp_path: Path) -> None:
    runner = planted.app.test_cli_runner()
    before = [b for b in planted.log_bodies() if "event" not in b]
    commands = [["keys", "show"], ["keys", "verify"], ["db", "status"], ["staff", "list"],
                ["audit", "checkpoint"], ["audit", "verify"],
                ["backup", "create", "--to", str(tmp_path)]]
    for command in commands:
        result = runner.invoke(args=command)
        assert result.exit_code == 0, (command, result.output)
        assert canary.find(result.output.encode(), planted.canaries) == [], command
    assert [b for b in planted.log_bodies() if "event" not in b] == before
    # The one file a coordinator could carry off, a backup, is sealed too.
    for path in tmp_path.iterdir():
        assert canary.find(path.read_bytes(), planted.canaries) == [], path.name

