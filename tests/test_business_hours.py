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
