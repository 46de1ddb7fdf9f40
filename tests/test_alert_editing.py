"""Alerts from a report and after publishing: the report's facts carried over, identifiers
in one normal form, an edit that asks whether to notify members again, and a version
history that says what changed, in UK time."""

from __future__ import annotations

from datetime import timedelta

from app.alerts import service
from app.common.clock import uk_time
from app.vault import log as disclosure_log
from app.web.state import state
from tests.flows import coordinator_client
from tests.people import make_member, make_report, signed_in_client
from tests.test_alerts import _act, _alert_form, _member_in, _new_alert
from tests.webtools import plain, post_form, text


def _checked(page: str, name: str) -> set[str]:
    """The values of the ticked boxes named `name` in a page."""
    import re

    return {re.search(r'value="([^"]*)"', tag).group(1)  # type: ignore[union-attr]
            for tag in re.findall(r"<input[^>]*>", page)
            if f'name="{name}"' in tag and " checked" in tag}


def _draft_from_report(coordinator, report_id: str) -> str:
    url = f"/coordinator/reports/{report_id}"
    started = post_form(coordinator, f"{url}/alert", {}, form_url=url)
    assert started.status_code == 302
    return started.headers["Location"].rsplit("/", 1)[-1]


def test_alert_from_report_prefills_area_categories_and_date(app, conn) -> None:
    day = (state(app).clock() - timedelta(days=3)).date().isoformat()
    report_id = make_report(app, area="sco", categories=["robbery", "threats"],
                            incident_date=day)
    coordinator, _ = coordinator_client(app)
    alert_id = _draft_from_report(coordinator, report_id)
    page = coordinator.get(f"/coordinator/alerts/{alert_id}").get_data(as_text=True)
    assert _checked(page, "areas") == {"sco"}
    assert _checked(page, "categories") == {"robbery", "threats"}
    assert f'name="incident_date" value="{day}"' in page
    # Nothing was opened to do it: the report's area, categories and date are not sealed.
    assert [b for b in (dict(e.body) for e in disclosure_log.entries(conn))
            if "event" not in b] == []


def test_alert_not_from_a_report_starts_empty(app) -> None:
    coordinator, _ = coordinator_client(app)
    page = coordinator.get(f"/coordinator/alerts/{_new_alert(coordinator)}"
                           ).get_data(as_text=True)
    assert _checked(page, "areas") == set() and _checked(page, "categories") == set()


def test_a_saved_alert_from_a_report_keeps_what_the_coordinator_chose(app) -> None:
    report_id = make_report(app, area="sco", categories=["robbery"])
    coordinator, _ = coordinator_client(app)
    alert_id = _draft_from_report(coordinator, report_id)
    assert _act(coordinator, alert_id, "save", **_alert_form(app)).status_code == 302
    page = coordinator.get(f"/coordinator/alerts/{alert_id}").get_data(as_text=True)
    assert _checked(page, "areas") == {"ldn"} and _checked(page, "categories") == {
        "non_payment"}


IDENTIFIERS = {
    "identifiers-0-kind": "phone", "identifiers-0-value": "07700 900123",
    "identifiers-0-publish": "y",
    "identifiers-1-kind": "plate", "identifiers-1-value": "ab12 cde",
    "identifiers-1-publish": "y",
    "identifiers-2-kind": "email", "identifiers-2-value": "  Dodgy.Dave@Example.ORG ",
    "identifiers-2-publish": "y",
}
NORMAL = ("+447700900123", "AB12CDE", "dodgy.dave@example.org")


def test_identifiers_are_shown_in_normal_form_on_preview_and_published_alert(app) -> None:
    coordinator, _ = coordinator_client(app)
    alert_id = _new_alert(coordinator)
    preview = text(_act(coordinator, alert_id, "preview", **_alert_form(app), **IDENTIFIERS))
    preview = preview[preview.index("Preview: what members will see"):]
    preview = preview[:preview.index("</article>")]
    assert all(value in preview for value in NORMAL)
    assert "07700 900123" not in preview and "ab12 cde" not in preview
    assert _act(coordinator, alert_id, "publish", **_alert_form(app),
                **IDENTIFIERS).status_code == 302
    member = signed_in_client(app, make_member(app))
    published = text(member.get(f"/alerts/{alert_id}"))
    assert all(value in published for value in NORMAL)
    assert "07700 900123" not in published and "Dodgy.Dave" not in published


def test_two_spellings_of_one_identifier_are_published_once(app) -> None:
    draft = service.AlertDraft(
        title="t", national=True, areas=(), categories=["threats"],
        incident_date=state(app).clock().date().isoformat(), description="d",
        identifiers=[("phone", "07700 900123"), ("phone", "+44 7700 900123")])
    checked = service.check_draft(draft, state(app).clock().date())
    assert checked.identifiers == (("phone", "+447700900123"),)


def _edits(conn) -> list[dict]:
    return [dict(e.body) for e in disclosure_log.entries(conn)
            if e.body.get("event") == "alert_edited"]


def _published(app, coordinator) -> str:
    alert_id = _new_alert(coordinator)
    assert _act(coordinator, alert_id, "publish", **_alert_form(app)).status_code == 302
    return alert_id


def test_alert_edit_asks_whether_to_notify_members_again(app, conn) -> None:
    _member_in(app, "ldn")
    coordinator, _ = coordinator_client(app)
    alert_id = _published(app, coordinator)
    page = coordinator.get(f"/coordinator/alerts/{alert_id}").get_data(as_text=True)
    assert "Notify members again?" in page and 'name="notify_again"' in page
    unanswered = _act(coordinator, alert_id, "save", **_alert_form(app, title="Changed"))
    assert unanswered.status_code == 400
    assert "Say whether members should be notified again" in plain(unanswered)
    assert service.get(conn, alert_id).version == 1  # type: ignore[union-attr]
    assert _edits(conn) == []
    # A draft is not asked: nobody has been notified yet.
    draft_page = coordinator.get(f"/coordinator/alerts/{_new_alert(coordinator)}")
    assert 'name="notify_again"' not in draft_page.get_data(as_text=True)


def test_alert_edit_can_notify_again(app, conn) -> None:
    london = _member_in(app, "ldn")
    coordinator, _ = coordinator_client(app)
    alert_id = _published(app, coordinator)
    for title in ("Second version", "Third version"):
        saved = _act(coordinator, alert_id, "save", **_alert_form(app, title=title),
                     notify_again="yes")
        assert saved.status_code == 302
    queued = conn.execute("SELECT member_id, kind, dedupe_key FROM outbox ORDER BY id"
                          ).fetchall()
    assert [(m, k) for m, k, _key in queued] == [(london.member_id, "alert")] * 3
    assert len({key for _m, _k, key in queued}) == 3  # one per version
    assert [(b["version"], b["notify_again"], b["notices"]) for b in _edits(conn)] == [
        (2, True, 1), (3, True, 1)]


def test_alert_edit_without_notifying_only_records_the_edit(app, conn) -> None:
    _member_in(app, "ldn")
    coordinator, _ = coordinator_client(app)
    alert_id = _published(app, coordinator)
    saved = _act(coordinator, alert_id, "save", **_alert_form(app, title="Quiet fix"),
                 notify_again="no")
    assert saved.status_code == 302
    assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (1,)
    assert [(b["version"], b["notify_again"], b["notices"]) for b in _edits(conn)] == [
        (2, False, 0)]
    assert service.get(conn, alert_id).title == "Quiet fix"  # type: ignore[union-attr]


def test_notify_again_reaches_the_new_version_s_areas(app, conn) -> None:
    _member_in(app, "ldn")
    scotland = _member_in(app, "sco")
    coordinator, _ = coordinator_client(app)
    alert_id = _published(app, coordinator)
    _act(coordinator, alert_id, "save", **_alert_form(app, areas=["ldn", "sco"]),
         notify_again="yes")
    assert scotland.member_id in {r[0] for r in conn.execute("SELECT member_id FROM outbox")}


def test_version_history_shows_what_changed_with_uk_times(app, conn) -> None:
    coordinator, _ = coordinator_client(app)
    alert_id = _new_alert(coordinator)
    _act(coordinator, alert_id, "publish", **_alert_form(app), **{
        "identifiers-0-kind": "phone", "identifiers-0-value": "07700 900123",
        "identifiers-0-publish": "y"})
    _act(coordinator, alert_id, "save", notify_again="no", **_alert_form(
        app, title="Grey van, now also a blue car", areas=["ldn", "sco"],
        categories=["threats"], description="Now also seen in a blue car."), **{
        "identifiers-0-kind": "plate", "identifiers-0-value": "XY99 ZZZ",
        "identifiers-0-publish": "y"})
    page = plain(coordinator.get(f"/coordinator/alerts/{alert_id}/versions"))
    newest = page[page.index("Version 2"):page.index("Version 1")]
    assert "was: Man in a grey van refusing to pay" in newest
    assert "now: Grey van, now also a blue car" in newest
    assert "Now also seen in a blue car." in newest
    assert "Areas added Scotland" in newest and "Areas removed" not in newest
    assert "Categories added Threats or intimidation" in newest
    assert "Categories removed Refusing to pay, or fraud" in newest
    assert "Identifiers added Vehicle registration: XY99ZZZ" in newest
    assert "Identifiers removed Phone number: +447700900123" in newest
    assert "First version: Man in a grey van refusing to pay" in page
    for version in service.versions(conn, alert_id):
        assert f"Saved {uk_time(version.edited_at)}" in page
        assert version.edited_at not in page  # no raw ISO stamps
    assert uk_time(service.versions(conn, alert_id)[0].edited_at).endswith(("GMT", "BST"))


def test_feed_shows_an_edited_alert_as_edited_not_the_card_read_before(app, conn) -> None:
    """The feed renders each alert's card once per version: an edit must be a new card."""
    member = signed_in_client(app, make_member(app))
    coordinator, _ = coordinator_client(app)
    alert_id = _published(app, coordinator)
    assert "Man in a grey van refusing to pay" in text(member.get("/alerts"))
    saved = _act(coordinator, alert_id, "save",
                 **_alert_form(app, title="Man in a red van refusing to pay",
                               description="Now also asks for the address first."),
                 notify_again="no")
    assert saved.status_code == 302
    feed = text(member.get("/alerts"))
    assert "Man in a red van refusing to pay" in feed
    assert "Now also asks for the address first." in feed
    assert "grey van" not in feed
    post_form(coordinator, f"/coordinator/alerts/{alert_id}/withdraw",
              {"reason": "inaccurate", "confirm": "y"},
              form_url=f"/coordinator/alerts/{alert_id}/withdraw")
    assert "red van" not in text(member.get("/alerts"))


def test_a_withdrawn_alerts_cards_leave_memory_and_undo_shows_it_again(app, conn) -> None:
    from app.alerts.cards import FEED_CARD

    member = signed_in_client(app, make_member(app))
    coordinator, _ = coordinator_client(app)
    alert_id = _published(app, coordinator)
    assert "grey van" in text(member.get("/alerts"))
    kept = app.extensions["uglymugs.same_for_everyone"]
    assert any(k[0] == FEED_CARD and k[3] == alert_id for k in kept)
    post_form(coordinator, f"/coordinator/alerts/{alert_id}/withdraw",
              {"reason": "inaccurate", "confirm": "y"},
              form_url=f"/coordinator/alerts/{alert_id}/withdraw")
    assert not any(k[0] == FEED_CARD and k[3] == alert_id for k in kept)
    assert "grey van" not in text(member.get("/alerts"))
    post_form(coordinator, f"/coordinator/alerts/{alert_id}/withdraw/undo",
              {"reason": "withdrawn_by_mistake", "confirm": "y"},
              form_url=f"/coordinator/alerts/{alert_id}/withdraw/undo")
    assert "grey van" in text(member.get("/alerts"))


def test_a_card_withdrawn_while_its_page_is_listed_is_not_kept_empty(app, conn) -> None:
    """Listed, then withdrawn before its text is read: shown as nothing, and not kept."""
    from app.alerts.cards import FEED_CARD

    member = signed_in_client(app, make_member(app))
    coordinator, _ = coordinator_client(app)
    alert_id = _published(app, coordinator)
    real = service.published_alerts
    service.published_alerts = lambda c, ids: {}  # as if withdrawn in between
    try:
        assert "grey van" not in text(member.get("/alerts"))
    finally:
        service.published_alerts = real
    kept = app.extensions.get("uglymugs.same_for_everyone", {})
    assert not any(k[0] == FEED_CARD and k[3] == alert_id for k in kept)
    assert "grey van" in text(member.get("/alerts"))
