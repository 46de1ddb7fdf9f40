from __future__ import annotations

import pytest

from app.alerts import service
from app.vault import db
from app.vault import log as disclosure_log
from app.web.state import state
from crypto.keystore import load_server_keys
from tests.flows import coordinator_client, unlock
from tests.people import make_member, make_report, signed_in_client
from tests.webtools import plain, post_form, text


def _alert_form(app, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": "Man in a grey van refusing to pay", "areas": ["ldn"],
        "categories": ["non_payment"], "incident_date": state(app).clock().date().isoformat(),
        "description": "Books by text, then refuses to pay and turns aggressive.",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _new_alert(coordinator) -> str:
    response = post_form(coordinator, "/coordinator/alerts/new", {},
                         form_url="/coordinator/alerts/")
    return response.headers["Location"].rsplit("/", 1)[-1]


def _act(coordinator, alert_id: str, action: str, **changes: object):
    return post_form(coordinator, f"/coordinator/alerts/{alert_id}",
                     {**changes, "action": action}, form_url=f"/coordinator/alerts/{alert_id}")


def _member_in(app, area: str, channel: str = "email"):
    person = make_member(app)
    st = state(app)
    conn = db.connect(st.config.database_path,
                      load_server_keys(st.config.keys_dir).database_key)
    try:
        conn.execute("UPDATE members SET alert_channel = ? WHERE id = ?",
                     (channel, person.member_id))
        service.set_member_areas(conn, person.member_id, [area])
    finally:
        conn.close()
    return person


def test_preview_shows_the_alert_and_publishes_nothing(app, conn) -> None:
    coordinator, _ = coordinator_client(app)
    alert_id = _new_alert(coordinator)
    response = _act(coordinator, alert_id, "preview", **_alert_form(app))
    assert response.status_code == 200
    assert "Preview: what members will see" in text(response)
    assert "Man in a grey van" in text(response)
    assert conn.execute("SELECT status, current_version FROM alerts").fetchone() == ("draft", 0)


def test_publishing_notifies_members_in_the_area_only_once(app, conn) -> None:
    coordinator, _ = coordinator_client(app)
    london, manchester = _member_in(app, "ldn"), _member_in(app, "nw")
    quiet = _member_in(app, "ldn", channel="none")
    alert_id = _new_alert(coordinator)
    published = _act(coordinator, alert_id, "publish", **_alert_form(app))
    assert published.status_code == 302
    queued = conn.execute("SELECT member_id, kind, channel FROM outbox").fetchall()
    assert queued == [(london.member_id, "alert", "email")]
    with pytest.raises(service.AlertInvalid):
        service.publish(conn, None, alert_id, "x", state(app).clock())  # type: ignore[arg-type]
    assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
    for person, sees in ((london, True), (manchester, False), (quiet, True)):
        page = text(signed_in_client(app, person).get("/alerts"))
        assert ("Man in a grey van" in page) is sees


def test_national_alert_reaches_every_opted_in_member(app, conn) -> None:
    coordinator, _ = coordinator_client(app)
    members = [_member_in(app, area) for area in ("ldn", "sco", "ie")]
    alert_id = _new_alert(coordinator)
    _act(coordinator, alert_id, "publish", **_alert_form(app, areas=None, national="y"))
    assert {r[0] for r in conn.execute("SELECT member_id FROM outbox")} == {
        m.member_id for m in members}


def test_identifiers_are_published_only_when_ticked_and_found_by_the_checker(app, conn):
    coordinator, _ = coordinator_client(app)
    alert_id = _new_alert(coordinator)
    _act(coordinator, alert_id, "publish", **_alert_form(app), **{
        "identifiers-0-kind": "phone", "identifiers-0-value": "07700 900123",
        "identifiers-0-publish": "y",
        "identifiers-1-kind": "plate", "identifiers-1-value": "AB12 CDE"})
    member = signed_in_client(app, make_member(app))
    page = text(member.get(f"/alerts/{alert_id}"))
    # Shown in its normal form (E.164), the one spelling the checker matches.
    assert "+447700900123" in page and "AB12" not in page
    found = post_form(member, "/check", {"kind": "phone", "value": "+44 7700 900123"})
    assert "1 published alert" in text(found)
    not_published = post_form(member, "/check", {"kind": "plate", "value": "AB12CDE"})
    assert "No published alert mentions this" in text(not_published)


def test_editing_keeps_every_version_and_reindexes(app, conn) -> None:
    coordinator, _ = coordinator_client(app)
    alert_id = _new_alert(coordinator)
    _act(coordinator, alert_id, "publish", **_alert_form(app), **{
        "identifiers-0-kind": "phone", "identifiers-0-value": "07700 900123",
        "identifiers-0-publish": "y"})
    _act(coordinator, alert_id, "save", **_alert_form(app, title="Corrected title"), **{
        "identifiers-0-kind": "phone", "identifiers-0-value": "07700 900999",
        "identifiers-0-publish": "y", "notify_again": "no"})
    assert [v.title for v in service.versions(conn, alert_id)] == [
        "Corrected title", "Man in a grey van refusing to pay"]
    member = signed_in_client(app, make_member(app))
    assert "No published" in text(post_form(member, "/check",
                                             {"kind": "phone", "value": "07700 900123"}))
    assert "1 published alert" in text(post_form(member, "/check",
                                                  {"kind": "phone", "value": "07700900999"}))


def test_withdrawing_hides_the_alert_and_cancels_unsent_notices(app, conn) -> None:
    coordinator, _ = coordinator_client(app)
    _member_in(app, "ldn")
    alert_id = _new_alert(coordinator)
    _act(coordinator, alert_id, "publish", **_alert_form(app), **{
        "identifiers-0-kind": "handle", "identifiers-0-value": "dodgy_dave",
        "identifiers-0-publish": "y"})
    post_form(coordinator, f"/coordinator/alerts/{alert_id}/withdraw",
              {"reason": "inaccurate", "confirm": "y"},
              form_url=f"/coordinator/alerts/{alert_id}/withdraw")
    member = signed_in_client(app, make_member(app))
    assert member.get(f"/alerts/{alert_id}").status_code == 404
    assert "No published" in text(post_form(member, "/check",
                                             {"kind": "handle", "value": "dodgy_dave"}))
    assert conn.execute("SELECT status FROM outbox").fetchone() == ("cancelled",)


def test_alert_from_a_report_brings_identifiers_in_unticked_and_logs_the_read(app, conn,
                                                                             keys_dir):
    report_id = make_report(app, identifiers=(("phone", "07700 900456"),))
    coordinator, _ = coordinator_client(app)
    unlock(coordinator, keys_dir)
    started = post_form(coordinator, f"/coordinator/reports/{report_id}/alert", {},
                        form_url=f"/coordinator/reports/{report_id}")
    alert_id = started.headers["Location"].rsplit("/", 1)[-1]
    page = _act(coordinator, alert_id, "from_report", **_alert_form(app))
    body = page.get_data(as_text=True)
    assert 'value="07700 900456"' in body
    row = body[body.index('value="07700 900456"'):][:400]
    assert "checked" not in row.split("</div>")[0], "not ticked until the coordinator ticks it"
    assert disclosure_log.entries(conn)[-1].body["purpose"] == "report_review"
    _act(coordinator, alert_id, "publish", **_alert_form(app))
    assert conn.execute("SELECT status FROM reports").fetchone() == ("alert_published",)
    assert conn.execute("SELECT count(*) FROM alert_identifier_index").fetchone() == (0,)


@pytest.mark.parametrize("changes, message", [
    ({"title": ""}, "short title"),
    ({"areas": None}, "Choose the areas"),
    ({"categories": None}, "at least one kind"),
    ({"incident_date": "2999-01-01"}, "in the future"),
    ({"description": "x\x00"}, "control characters"),
    ({"identifiers-0-kind": "phone", "identifiers-0-value": "nonsense",
      "identifiers-0-publish": "y"}, "not a possible phone number"),
])
def test_bad_alerts_are_refused_and_nothing_is_saved(app, conn, changes, message) -> None:
    coordinator, _ = coordinator_client(app)
    alert_id = _new_alert(coordinator)
    response = _act(coordinator, alert_id, "publish", **_alert_form(app, **changes))
    assert response.status_code == 400 and message.lower() in plain(response).lower()
    assert conn.execute("SELECT status, current_version FROM alerts").fetchone() == ("draft", 0)
    assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)


def test_members_choose_their_areas(app, conn) -> None:
    person = make_member(app)
    client = signed_in_client(app, person)
    post_form(client, "/alerts/areas", {"areas": ["ldn", "sco"]})
    assert service.member_areas(conn, person.member_id) == ["ldn", "sco"]
    assert post_form(client, "/alerts/areas", {"areas": ["atlantis"]}).status_code == 400
    assert service.member_areas(conn, person.member_id) == ["ldn", "sco"]


# --- the members' feed, a page at a time ---------------------------------------------------

def _published(conn, n: int, *, area: str | None = "ldn", national: bool = False,
               title: str = "Alert") -> list[str]:
    """`n` published alerts, the i-th published on day i (so the last is the newest)."""
    ids = []
    with db.transaction(conn):
        for i in range(n):
            alert_id = f"{title.lower().replace(' ', '-')}-{i:04}"
            conn.execute("INSERT INTO alerts (id, status, current_version, created_at, "
                         "published_at) VALUES (?, 'published', 1, ?, ?)",
                         (alert_id, "2026-01-01T09:00:00+00:00",
                          f"2026-01-01T10:{i // 60:02}:{i % 60:02}+00:00"))
            conn.execute("INSERT INTO alert_versions (alert_id, version, title, national, "
                         "areas, categories, incident_date, description, identifiers, "
                         "edited_at) VALUES (?, 1, ?, ?, ?, 'threats', '2026-01-01', 'x', "
                         "'[]', '2026-01-01T09:00:00+00:00')",
                         (alert_id, f"{title} {i:04}", int(national),
                          "" if national or area is None else area))
            if area is not None and not national:
                conn.execute("INSERT INTO alert_areas (alert_id, area) VALUES (?, ?)",
                             (alert_id, area))
            ids.append(alert_id)
    return ids


def _titles(page: str, title: str = "Alert") -> list[str]:
    import re

    return re.findall(rf"<h2>({title} \d{{4}})</h2>", page)


def test_feed_shows_20_alerts_a_page_newest_first_with_plain_links(app, conn) -> None:
    _published(conn, 45)
    member = signed_in_client(app, make_member(app))
    first = text(member.get("/alerts"))
    assert _titles(first) == [f"Alert {i:04}" for i in range(44, 24, -1)]
    assert 'href="/alerts?page=2" rel="next"' in first and 'rel="prev"' not in first
    assert "Page 1" in first
    second = text(member.get("/alerts?page=2"))
    assert _titles(second) == [f"Alert {i:04}" for i in range(24, 4, -1)]
    assert 'href="/alerts?page=1" rel="prev"' in second
    last = text(member.get("/alerts?page=3"))
    assert _titles(last) == [f"Alert {i:04}" for i in range(4, -1, -1)]
    assert 'rel="next"' not in last


@pytest.mark.parametrize("asked", ["0", "-3", "abc", ""])
def test_feed_page_below_one_or_not_a_number_shows_the_first_page(app, conn, asked: str) -> None:
    _published(conn, 45)
    member = signed_in_client(app, make_member(app))
    response = member.get(f"/alerts?page={asked}")
    assert response.status_code == 200
    assert _titles(text(response))[0] == "Alert 0044"


@pytest.mark.parametrize("asked", ["4", "99", "9" * 40])
def test_feed_page_past_the_end_says_so_and_links_back(app, conn, asked: str) -> None:
    _published(conn, 45)
    member = signed_in_client(app, make_member(app))
    response = member.get(f"/alerts?page={asked}")
    assert response.status_code == 200
    page = text(response)
    assert _titles(page) == [] and "There are no older alerts." in page
    assert 'href="/alerts?page=' in page and 'rel="prev"' in page


def test_feed_pages_keep_to_the_members_areas_and_national_alerts(app, conn) -> None:
    _published(conn, 15, area="sco", title="Scotland")
    _published(conn, 15, area="ldn", title="London")
    _published(conn, 10, national=True, title="National")
    person = make_member(app)
    service.set_member_areas(conn, person.member_id, ["ldn"])
    member = signed_in_client(app, person)
    pages = [text(member.get(f"/alerts?page={n}")) for n in (1, 2)]
    shown = [t for page in pages for t in _titles(page, "(?:London|National|Scotland)")]
    assert len(shown) == 25 and not any(t.startswith("Scotland") for t in shown)
    assert 'rel="next"' not in pages[1]


def test_member_without_areas_pages_through_every_published_alert(app, conn) -> None:
    _published(conn, 15, area="sco", title="Scotland")
    _published(conn, 10, national=True, title="National")
    member = signed_in_client(app, make_member(app))
    page = service.feed_page(conn, "no-such-member", 2)
    assert not page.has_next and len(page.entries) == 5
    assert 'href="/alerts?page=2" rel="next"' in text(member.get("/alerts"))
