"""Applications that cannot bury the queue: an overall cap, and clearing many at once."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

import pytest

from app.web.state import state
from tests.flows import INDIVIDUAL, ORGANISATION, USERNAME, coordinator_client
from tests.webtools import hidden_fields, plain, post_form

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, 10:00 UK time (GMT)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(app) -> Clock:
    simulated = Clock()
    state(app).clock = simulated
    return simulated


def _tables(conn) -> dict[str, int]:
    names = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # noqa: S608
            for name in names}


def _waiting(conn) -> int:
    return conn.execute("SELECT count(*) FROM members WHERE status = 'pending'").fetchone()[0]


def _flood(app, clock: Clock, conn, posts: int, over: timedelta) -> list[int]:
    """`posts` individual applications through /apply over `over`; their status codes."""
    client = app.test_client()
    fields = hidden_fields(client, "/apply/individual")
    answers = []
    for i in range(posts):
        before = _tables(conn) if i % 50 == 49 else None
        response = client.post("/apply/individual", data={
            **fields, **INDIVIDUAL, "submission": secrets.token_urlsafe(16),
            "email": f"flood{i}@example.org"})
        answers.append(response.status_code)
        if before is not None and response.status_code == 429:
            assert _tables(conn) == before, "a refused application leaves nothing behind"
        clock.now += over / posts
    return answers


def test_five_hundred_applications_in_a_minute_leave_at_most_the_cap(app, clock, conn) -> None:
    cap = state(app).config.applications_per_hour
    answers = _flood(app, clock, conn, 500, timedelta(minutes=1))
    assert answers.count(200) == cap and answers.count(429) == 500 - cap
    assert _waiting(conn) == cap


def test_the_polite_page_says_when_to_try_again_and_a_genuine_applicant_then_gets_in(
        app, clock, conn) -> None:
    late = app.test_client()
    form = hidden_fields(late, "/apply/individual")  # opened before the flood, sent after
    _flood(app, clock, conn, 40, timedelta(minutes=1))
    refused = late.post("/apply/individual", data={**form, **INDIVIDUAL})
    assert refused.status_code == 429
    assert "Please come back after 11:00 (UK time)" in plain(refused)
    assert int(refused.headers["Retry-After"]) > 0
    assert app.test_client().get("/apply/project").status_code == 429, \
        "told before filling the form in"
    clock.now = T0 + timedelta(hours=1, minutes=1)
    accepted = post_form(app.test_client(), "/apply/individual", INDIVIDUAL)
    assert accepted.status_code == 200 and USERNAME.search(accepted.get_data(as_text=True))


def test_the_cap_counts_every_kind_of_application_together(app, clock, conn) -> None:
    state(app).config = state(app).config.__class__(
        **{**state(app).config.__dict__, "applications_per_hour": 2})
    assert post_form(app.test_client(), "/apply/individual", INDIVIDUAL).status_code == 200
    assert post_form(app.test_client(), "/apply/project", ORGANISATION).status_code == 200
    assert app.test_client().get("/apply/site").status_code == 429


def _queue_ids(page) -> list[str]:
    return re.findall(r'name="shown" value="([^"]+)"', page.get_data(as_text=True))


def test_a_coordinator_clears_a_flood_in_three_clicks(app, clock, conn) -> None:
    _flood(app, clock, conn, 500, timedelta(minutes=1))
    coordinator, person = coordinator_client(app)
    page = coordinator.get("/coordinator/")
    shown = _queue_ids(page)
    assert len(shown) == _waiting(conn) > 0
    # 1: tick "every application shown"; 2: choose the reason; 3: press Reject.
    done = coordinator.post("/coordinator/reject-applications", data={
        **hidden_fields(coordinator, "/coordinator/"), "shown": shown, "all_shown": "y",
        "reason": "not_genuine"})
    assert done.status_code == 302
    assert _waiting(conn) == 0
    decisions = conn.execute("SELECT member_id, action, reason, actor_id FROM "
                             "membership_decisions").fetchall()
    assert sorted(d[0] for d in decisions) == sorted(shown), "one decision per application"
    assert {(d[1], d[2], d[3]) for d in decisions} == {("reject", "not_genuine",
                                                        person.account_id)}
    assert conn.execute("SELECT DISTINCT status FROM accounts WHERE member_id IS NOT NULL"
                        ).fetchall() == [("disabled",)]
    assert "No application is waiting" in plain(coordinator.get("/coordinator/"))


def test_rejecting_ticked_applications_leaves_the_others(app, clock, conn) -> None:
    _flood(app, clock, conn, 3, timedelta(minutes=1))
    coordinator, _ = coordinator_client(app)
    first, second, third = _queue_ids(coordinator.get("/coordinator/"))
    done = post_form(coordinator, "/coordinator/reject-applications",
                     {"shown": [first, second, third], "member_ids": [first, third],
                      "reason": "not_genuine"}, form_url="/coordinator/")
    assert done.status_code == 302
    assert _queue_ids(coordinator.get("/coordinator/")) == [second]


@pytest.mark.parametrize("data, message", [
    ({"member_ids": ["no-such-application"], "reason": "not_genuine"}, "no such membership"),
    ({"member_ids": [], "reason": "not_genuine"}, "Choose the applications"),
    ({"member_ids": ["x"], "reason": ""}, "Choose a reason"),
    ({"member_ids": ["x"], "reason": "because"}, "Not a valid choice"),
])
def test_a_bad_reject_many_is_refused_whole_with_a_message(app, clock, conn, data,
                                                           message) -> None:
    _flood(app, clock, conn, 2, timedelta(minutes=1))
    coordinator, _ = coordinator_client(app)
    [one, _two] = _queue_ids(coordinator.get("/coordinator/"))
    if data["member_ids"]:
        data = {**data, "member_ids": [one, *data["member_ids"]]}
    before = _tables(conn)
    refused = post_form(coordinator, "/coordinator/reject-applications", data,
                        form_url="/coordinator/")
    assert refused.status_code == 400 and message.lower() in plain(refused).lower()
    assert _tables(conn) == before


def test_the_queue_filters_by_type_and_uk_date(app, clock, conn) -> None:
    post_form(app.test_client(), "/apply/individual", INDIVIDUAL)
    clock.now = T0 + timedelta(days=1)
    post_form(app.test_client(), "/apply/project", ORGANISATION)
    coordinator, _ = coordinator_client(app)
    assert len(_queue_ids(coordinator.get("/coordinator/"))) == 2
    assert len(_queue_ids(coordinator.get("/coordinator/?kind=project"))) == 1
    assert len(_queue_ids(coordinator.get("/coordinator/?kind=site"))) == 0
    day_one = coordinator.get("/coordinator/?applied_from=2026-03-02&applied_to=2026-03-02")
    assert len(_queue_ids(day_one)) == 1 and "Individual" in plain(day_one)
    assert len(_queue_ids(coordinator.get("/coordinator/?applied_from=2026-03-03"))) == 1
    bad = coordinator.get("/coordinator/?applied_from=yesterday&kind=spaceship")
    assert bad.status_code == 400 and len(_queue_ids(bad)) == 2
