"""The monitoring statistics page: who sees it, and that it never publishes a count 1 to 9."""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta

import pytest

from app.common.clock import uk_day
from app.statistics import figures
from app.web.state import state
from tests.people import make_member, make_report, make_staff, signed_in_client

PUBLISHED_CELL = re.compile(r'<td class="num">(.*?)</td>', re.S)


def _insert_report(conn, *, area: str = "ldn", incident: str | None = None,
                   categories: tuple[str, ...] = ("threats",), malicious: int = 0) -> None:
    """A bare report row (statistics read only plain columns; the envelopes are dummies)."""
    report_id = secrets.token_urlsafe(16)
    incident = incident or date.today().isoformat()
    conn.execute(
        "INSERT INTO reports (id, created_at, incident_date, incident_time, area, late, "
        "third_party, consent_alert, consent_police_anonymous, consent_police_details, "
        "wants_support, malicious, narrative, offender) "
        "VALUES (?, ?, ?, 'evening', ?, 0, 0, 0, 0, 0, 0, ?, x'00', x'00')",
        (report_id, incident + "T12:00:00+00:00", incident, area, malicious))
    conn.executemany("INSERT INTO report_categories (report_id, category) VALUES (?, ?)",
                     [(report_id, c) for c in categories])


def _page(app, role: str = "coordinator") -> str:
    client = signed_in_client(app, make_staff(app, role))
    response = client.get("/statistics/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _table(html: str, key: str) -> dict[str, str]:
    """label -> published text for one breakdown (by its heading id), total included."""
    start = html.index(f'<h3 id="{key}">')
    end = html.find("<h3 ", start + 1)
    part = html[start: end if end != -1 else len(html)]
    rows = re.findall(r'<tr><th scope="row">(.*?)</th><td class="num">(.*?)</td></tr>', part,
                      re.S)
    return {_plain(label): _plain(value) for label, value in rows}


def _plain(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def _assert_no_small_number_published(html: str) -> None:
    cells = [_plain(c) for c in PUBLISHED_CELL.findall(html)]
    assert cells, "the page has tables"
    for cell in cells:
        if cell in ("fewer than 10", "not shown"):
            continue
        number = int(cell.replace(",", ""))
        assert number == 0 or (number >= 10 and number % 5 == 0), cell


@pytest.fixture
def some_data(app, conn) -> None:
    for _ in range(3):
        make_member(app)
    make_member(app, role="org_contact", kind="project")
    for _ in range(12):
        _insert_report(conn, area="ldn")
    for _ in range(3):
        _insert_report(conn, area="se", categories=("threats", "robbery"))
    _insert_report(conn, area="sw", malicious=1)
    conn.executemany("INSERT INTO monitoring_counts (question, answer, count) VALUES (?, ?, ?)",
                     [("gender", "woman", 23), ("gender", "man", 4), ("gender", "nb", 0),
                      ("sector", "indep", 41), ("area", "ldn", 2)])
    today = date.fromisoformat(uk_day(state(app).clock()))
    conn.executemany("INSERT INTO check_counts (day, count) VALUES (?, ?)",
                     [(today.isoformat(), 27), ((today - timedelta(days=1)).isoformat(), 4),
                      ((today - timedelta(days=40)).isoformat(), 500)])


@pytest.mark.parametrize("role", ["coordinator", "auditor"])
def test_statistics_render_for_coordinators_and_auditors(app, some_data, role: str) -> None:
    html = _page(app, role)
    assert "Monitoring statistics" in html
    assert "fewer than 10" in html
    _assert_no_small_number_published(html)


def test_members_and_others_cannot_see_statistics(app) -> None:
    member = signed_in_client(app, make_member(app))
    assert member.get("/statistics/").status_code == 403
    anonymous = app.test_client().get("/statistics/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_small_counts_show_as_fewer_than_10_and_their_neighbours_hide_them(app,
                                                                          some_data) -> None:
    html = _page(app)
    by_area = _table(html, "reports-area")
    # 12 in London and 3 in the South East: 15 - 12 would give the 3 away, so 12 is hidden.
    assert by_area["South East England"] == "fewer than 10"
    assert by_area["London"] == "not shown"
    assert by_area["Total"] == "15"
    assert by_area["Scotland"] == "0"
    by_kind = _table(html, "members-type")
    assert by_kind["Individual"] == "fewer than 10" and by_kind["Project"] == "fewer than 10"
    assert by_kind["Total"] == "fewer than 10"


def test_monitoring_answers_say_they_are_not_current_members(app, some_data) -> None:
    html = _page(app)
    assert "not of current members" in _plain(html)
    gender = _table(html, "monitoring-gender")
    assert gender["Woman (including trans women)"] == "not shown"  # 23, hiding the 4
    assert gender["Man (including trans men)"] == "fewer than 10"
    assert gender["Non-binary"] == "0"
    assert gender["Total"] == "25"
    assert _table(html, "monitoring-sector")["Independent escort"] == "40"


def test_malicious_reports_are_not_counted(app, some_data) -> None:
    assert _table(_page(app), "reports-area")["South West England"] == "0"


def test_scheme_wide_totals_are_rounded_not_suppressed(app, some_data) -> None:
    text = _plain(_page(app))
    assert "Active members 5" in text  # 4 active members
    assert "Reports received 15" in text  # 15 (the malicious one left out)


def test_checks_per_day_cover_the_last_30_days(app, some_data) -> None:
    html = _page(app)
    checks = _table(html, "checks-day")
    assert len(checks) == 31  # 30 days and the total
    values = list(checks.values())
    assert values[-2] == "not shown" and values[-3] == "fewer than 10"  # 27 hides the 4
    assert values[-1] == "30", "the total counts only the last 30 days"


def test_a_breakdown_too_small_to_protect_is_withheld(app, conn) -> None:
    today = date.fromisoformat(uk_day(state(app).clock()))
    conn.executemany("INSERT INTO check_counts (day, count) VALUES (?, 1)",
                     [((today - timedelta(days=k)).isoformat(),) for k in range(10)])
    html = _page(app)
    section = html[html.index('<h3 id="checks-day">'):]
    assert "too small to publish" in section.split("</table>")[0]
    _assert_no_small_number_published(html)


def test_reports_by_month_put_old_reports_in_one_earlier_row(app, conn) -> None:
    for _ in range(11):
        _insert_report(conn, incident="2001-02-03")
    make_report(app)  # one real report, this month
    with app.test_request_context():
        stats = figures.build(conn, state(app).clock())
    months = next(b for s in stats.sections for b in s.breakdowns if b.key == "reports-month")
    assert len(months.labels) == figures.MONTHS_SHOWN + 1
    assert str(months.labels[0]).startswith("Earlier than")
    assert months.table.cells[0].hidden, "11 earlier reports, hiding this month's one"
    assert months.table.cells[-1].small
    assert months.table.total.value == 10


def test_no_table_on_the_page_publishes_a_count_from_1_to_9(app, conn) -> None:
    for area, count in (("ldn", 1), ("se", 2), ("sw", 9), ("eoe", 10), ("em", 11),
                        ("wm", 13), ("yh", 1)):
        for _ in range(count):
            _insert_report(conn, area=area)
    html = _page(app, "auditor")
    _assert_no_small_number_published(html)
    by_area = _table(html, "reports-area")
    assert {by_area[name] for name in ("London", "South East England",
                                       "South West England")} == {"fewer than 10"}
