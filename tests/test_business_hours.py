from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.common.clock import UK, business_hours_between


def uk(*args: int) -> datetime:
    return datetime(*args, tzinfo=UK)


def test_a_working_day_has_eight_hours() -> None:
    assert business_hours_between(uk(2026, 11, 16, 8), uk(2026, 11, 16, 18)) == 8  # Monday


def test_weekend_hours_do_not_count() -> None:
    assert business_hours_between(uk(2026, 11, 20, 17), uk(2026, 11, 23, 9)) == 0  # Fri to Mon


def test_friday_afternoon_to_monday_morning() -> None:
    assert business_hours_between(uk(2026, 11, 20, 15), uk(2026, 11, 23, 10, 30)) == 3.5


def test_uk_time_not_utc_in_summer() -> None:
    # 07:30 UTC in July is 08:30 in London: by 08:30 UTC (09:30 BST) half an hour counts.
    start = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)
    assert business_hours_between(start, datetime(2026, 7, 1, 8, 30, tzinfo=UTC)) == 0.5


instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1),
                        timezones=st.just(UTC))


@given(instants, st.integers(min_value=0, max_value=60 * 24 * 30))
def test_age_never_exceeds_forty_hours_a_week(start: datetime, minutes: int) -> None:
    end = start + timedelta(minutes=minutes)
    hours = business_hours_between(start, end)
    weeks = minutes / (60 * 24 * 7)
    assert 0 <= hours <= 40 * (weeks + 1) + 1e-9
    assert hours <= minutes / 60 + 1e-9


@given(instants, st.integers(0, 10_000), st.integers(0, 10_000))
def test_age_is_additive(start: datetime, a: int, b: int) -> None:
    middle = start + timedelta(minutes=a)
    end = middle + timedelta(minutes=b)
    total = business_hours_between(start, end)
    parts = business_hours_between(start, middle) + business_hours_between(middle, end)
    assert abs(total - parts) < 1e-9


# Christmas 2026: Thursday 24 December 17:00 (the office has just shut) to Tuesday 29
# December 10:00. Fri 25 is Christmas Day, Sat 26 / Sun 27 the weekend, Mon 28 the
# substitute Boxing Day in England, Wales, Scotland and Northern Ireland; Tue 29 counts
# from 09:00 to 10:00. So 1 hour in England and in Scotland. Ireland keeps St Stephen's Day
# on the Saturday itself, so Monday 28 is a working day there: 8 + 1 = 9 hours.
def test_christmas_2026_counts_one_hour_in_england_and_scotland() -> None:
    start, end = uk(2026, 12, 24, 17), uk(2026, 12, 29, 10)
    assert business_hours_between(start, end) == 1
    assert business_hours_between(start, end, "ldn") == 1
    assert business_hours_between(start, end, "sco") == 1
    assert business_hours_between(start, end, "ie") == 9


# On to Tuesday 5 January 2027 10:00. England: Tue 29 to Thu 31 Dec are 3 x 8 = 24 hours,
# Fri 1 Jan is New Year's Day, Mon 4 Jan 8 hours, Tue 5 Jan 1 hour: 33 hours. Scotland also
# keeps 2 January, a Saturday in 2027, so Monday 4 January is its substitute: 24 + 1 = 25.
def test_new_year_2027_scotland_keeps_the_second_of_january() -> None:
    start, end = uk(2026, 12, 24, 17), uk(2027, 1, 5, 10)
    assert business_hours_between(start, end, "se") == 33
    assert business_hours_between(start, end, "sco") == 25


# Easter 2027: Thursday 25 March 15:00 GMT to Tuesday 30 March 10:00 BST (the clocks go
# forward on Sunday 28, which office hours in UK time do not notice). England: Thu 15:00 to
# 17:00 is 2 hours, Good Friday 26 and Easter Monday 29 are holidays, Tue 09:00 to 10:00 is
# 1 hour: 3 hours. Scotland has Good Friday but not Easter Monday: 2 + 8 + 1 = 11 hours.
# Northern Ireland keeps both, as England does (3); Ireland keeps Easter Monday but not Good
# Friday: 2 + 8 + 1 = 11.
def test_easter_2027_england_skips_both_days_scotland_only_good_friday() -> None:
    start, end = uk(2027, 3, 25, 15), uk(2027, 3, 30, 10)
    assert business_hours_between(start, end, "nw") == 3
    assert business_hours_between(start, end, "wal") == 3
    assert business_hours_between(start, end, "sco") == 11
    assert business_hours_between(start, end, "ni") == 3
    assert business_hours_between(start, end, "ie") == 11


def test_every_area_has_a_calendar_and_unknown_areas_count_as_england() -> None:
    from app.common.choices import AREAS
    from app.common.clock import ENGLAND, calendar_for

    assert calendar_for(None) == ENGLAND
    assert calendar_for("all") == ENGLAND
    assert {calendar_for(area) for area, _label in AREAS} == {
        ENGLAND, ("GB", "WLS"), ("GB", "SCT"), ("GB", "NIR"), ("IE", None)}


def test_staff_times_are_uk_local_with_the_zone_named() -> None:
    from app.common.clock import uk_time

    assert uk_time("2026-12-01T14:05:09+00:00") == "1 Dec 2026, 14:05 GMT"
    assert uk_time(datetime(2026, 7, 1, 13, 5, tzinfo=UTC)) == "1 Jul 2026, 14:05 BST"
    assert uk_time("2026-07-01T13:05:00") == "1 Jul 2026, 14:05 BST"  # naive: read as UTC
    assert uk_time(None) == ""


def test_queue_age_follows_the_applicants_alert_area(app, conn) -> None:
    from app.coordinator import vetting
    from tests.flows import apply, member_id_of

    scottish = member_id_of(conn, apply(app, alert_area="sco"))
    english = member_id_of(conn, apply(app, alert_area="ldn"))
    everywhere = member_id_of(conn, apply(app, alert_area="all"))
    conn.execute("UPDATE members SET created_at = ?",
                 (uk(2027, 3, 25, 15).astimezone(UTC).isoformat(timespec="seconds"),))
    ages = {a.member_id: a.age_hours
            for a in vetting.queue(conn, uk(2027, 3, 30, 10).astimezone(UTC))}
    # The Easter 2027 example above: 11 hours in Scotland, 3 in England (and for "all").
    assert ages == {scottish: 11, english: 3, everywhere: 3}
