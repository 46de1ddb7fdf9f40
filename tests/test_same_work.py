"""Pages that take a username do the same work, and answer the same bytes, for every name.

/reset, /login (a wrong password, with or without a device cookie of another account) and
/reset/code (a wrong code, with or without a code pending) are each tried for an unknown
username and for accounts in every state (tests/work.py counts the work). Also: the
reset requests queued meanwhile still reach the one member who can receive a code, and
wrong codes counted in memory still use a code up after five.
scripts/measure_reset_timing.py measures the time over many samples.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from app.auth import reset as reset_codes
from app.vault import db
from app.web.state import load_keys, state
from tests import work
from tests.flows import resolve_waiting_resets
from tests.people import Person, make_member, sign_in
from tests.webtools import post_form
from tests.work import CASES, assert_all_alike, fresh_limits, try_each

counted, people = work.counted, work.people  # fixtures


def test_reset_request_does_the_same_work_and_answers_the_same_bytes_for_every_username(
        app, counted, people) -> None:
    results = try_each(app, counted, people, lambda client, person: post_form(
        client, "/reset", {"username": person.username}), "/reset")
    assert_all_alike(results)
    assert results["unknown"][1][0] == 200
    work = results["unknown"][0]
    assert (work.hashes, work.verifies, work.sealed, sum(work.blind_indexes.values())) == \
        (0, 0, 0, 0), "a request only queues the name; the lookup happens later"
    assert work.statements == [], "a request reads and writes nothing"


def test_queued_reset_requests_send_a_code_only_to_an_active_member_with_a_channel(
        app, conn, people) -> None:
    fresh_limits(app)
    before = conn.execute("SELECT count(*) FROM password_resets").fetchone()[0]
    for case in CASES:
        post_form(app.test_client(), "/reset", {"username": people[case].username})
    assert conn.execute("SELECT count(*) FROM password_resets").fetchone()[0] == before, \
        "nothing is written while the request is answered"
    resolve_waiting_resets(app)
    pending = {row["account_id"] for row in conn.execute("SELECT account_id FROM "
                                                         "password_resets")}
    assert pending == {people["active_push"].account_id,
                       people["active_push_with_code_pending"].account_id}
    assert len(state(app).reset_requests) == 0


def test_wrong_password_does_the_same_work_and_answers_the_same_bytes_for_every_username(
        app, counted, people) -> None:
    results = try_each(app, counted, people, lambda client, person: post_form(
        client, "/login", {"username": person.username, "password": "not the password"}),
        "/login")
    assert_all_alike(results)
    work = results["unknown"][0]
    assert work.statements, "the trace saw the request's statements"
    assert results["unknown"][1][0] == 401
    assert (work.verifies, work.hashes) == (1, 0), "one Argon2id verify, known or not"


def test_wrong_password_from_a_browser_known_to_another_account_does_the_same_work(
        app, counted, people) -> None:
    """A stranger with a device cookie of their own account: the same reads for every name."""
    own = make_member(app)

    def send(client, person: Person):
        assert sign_in(app, client, own).status_code == 302
        post_form(client, "/logout", {}, form_url="/account")
        with counted() as work:
            response = post_form(client, "/login", {"username": person.username,
                                                    "password": "not the password"})
        return work, response

    results = {}
    for case in CASES:
        fresh_limits(app)
        work, response = send(app.test_client(), people[case])
        results[case] = (work, response.status_code)
    assert results["unknown"][0].statements
    for case, (work, status) in results.items():
        assert (work.shape(), status) == (results["unknown"][0].shape(), 401), case


def test_wrong_reset_code_does_the_same_work_and_answers_the_same_bytes_for_every_username(
        app, counted, people) -> None:
    results = try_each(app, counted, people, lambda client, person: post_form(
        client, "/reset/code", {"username": person.username, "code": "00000000",
                                "new": "a brand new password",
                                "confirm": "a brand new password"}), "/reset/code")
    assert_all_alike(results)
    work = results["unknown"][0]
    assert work.statements, "the trace saw the request's statements"
    assert results["unknown"][1][0] == 400
    assert work.hashes == 1 and work.blind_indexes == Counter(
        {("password_resets", "code"): 1})
    assert not any(s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
                   for s in work.statements), "a wrong code is counted later, in a batch"


def test_wrong_reset_codes_still_use_up_a_code_after_five_tries(app, conn, people) -> None:
    person = people["active_push_with_code_pending"]
    for _ in range(reset_codes.MAX_TRIES):
        fresh_limits(app)
        post_form(app.test_client(), "/reset/code", {
            "username": person.username, "code": "00000000", "new": "a brand new password",
            "confirm": "a brand new password"})
    # Counted in memory until the batch writes them: the limit already holds.
    assert state(app).reset_failures.count(person.account_id) == reset_codes.MAX_TRIES
    resolve_waiting_resets(app)
    assert conn.execute("SELECT attempts FROM password_resets WHERE account_id = ?",
                        (person.account_id,)).fetchone()[0] == reset_codes.MAX_TRIES


def test_the_right_code_after_five_wrong_ones_is_refused_before_the_batch_is_written(
        app, conn, people) -> None:
    person = people["active_no_channel"]
    code = "24681357"
    with db.transaction(conn):
        conn.execute("INSERT INTO password_resets (account_id, code_hash, expires_at) "
                     "VALUES (?, ?, ?)", (person.account_id, reset_codes._code_hash(
                         load_keys(app), person.account_id, code),
                         (state(app).clock() + timedelta(minutes=5)).isoformat()))
    for _ in range(reset_codes.MAX_TRIES):
        fresh_limits(app)
        post_form(app.test_client(), "/reset/code", {
            "username": person.username, "code": "00000000", "new": "a brand new password",
            "confirm": "a brand new password"})
    fresh_limits(app)
    right = post_form(app.test_client(), "/reset/code", {
        "username": person.username, "code": code, "new": "a brand new password",
        "confirm": "a brand new password"})
    assert right.status_code == 400
