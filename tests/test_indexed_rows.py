"""Numbered form rows: read by number, never by position, and never a 500."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from app.alerts.forms import rows_with_choice
from app.common.rows import MAX_ROW_NUMBER, indexed_rows
from app.reports.forms import identifier_rows
from tests.flows import coordinator_client
from tests.test_alerts import _act, _alert_form, _new_alert
from tests.test_reports import TABLES, _counts, _member_client, _report_form
from tests.webtools import post_form, text

FIELDS = ("kind", "value")

# Row numbers that str.isdigit() accepts but that are not plain ASCII decimals, and other
# relatives of the "identifiers-²-kind" post that once gave a 500.
MALFORMED_NUMBERS = ["²", "٣", "\uff10", "①", "1²", "-1", "+1", " 1", "1 ", "01", "007", "1_0",
                     "", "x", "1e3", "0x1", "\x00", "1\x00", str(MAX_ROW_NUMBER + 1),
                     "9" * 400, "\ud800"]


def test_rows_are_matched_by_number_not_by_position() -> None:
    form = MultiDict([("identifiers-7-value", "seven"), ("identifiers-2-kind", "phone"),
                      ("identifiers-7-kind", "plate"), ("identifiers-2-value", "two"),
                      ("other", "ignored")])
    rows = indexed_rows(form, "identifiers", FIELDS)
    assert rows.unreadable == 0 and rows.problem is None
    assert rows.values("kind", "value") == [("phone", "two"), ("plate", "seven")]
    assert [number for number, _row in rows.rows] == [2, 7]


def test_a_missing_field_reads_as_empty_and_a_repeated_key_gives_its_first_value() -> None:
    form = MultiDict([("identifiers-0-value", "first"), ("identifiers-0-value", "second")])
    assert identifier_rows(form) == [("", "first")]


@pytest.mark.parametrize("number", MALFORMED_NUMBERS)
def test_a_malformed_row_number_makes_the_rows_unreadable_without_raising(number) -> None:
    rows = indexed_rows(MultiDict([(f"identifiers-{number}-kind", "phone"),
                                   ("identifiers-0-kind", "plate")]), "identifiers", FIELDS)
    assert rows.unreadable == 1 and rows.problem is not None
    assert rows.values("kind") == [("plate",)], "the well-formed row is still read"


@pytest.mark.parametrize("key", ["identifiers-0", "identifiers-0-", "identifiers-0-colour",
                                 "identifiers--kind", "identifiers-0-kind-extra"])
def test_an_unknown_field_or_shape_under_the_prefix_is_unreadable(key) -> None:
    assert indexed_rows(MultiDict([(key, "x")]), "identifiers", FIELDS).unreadable == 1


def test_keys_outside_the_prefix_are_ignored() -> None:
    rows = indexed_rows(MultiDict([("identifiersX-0-kind", "x"), ("title", "y"),
                                   ("identifiers", "z")]), "identifiers", FIELDS)
    assert rows.rows == () and rows.unreadable == 0


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(
    st.one_of(st.text(st.characters(codec=None)),
              st.builds(lambda n, f: f"identifiers-{n}-{f}",
                        st.text(st.characters(codec=None), max_size=4),
                        st.sampled_from([*FIELDS, "publish", "", "x"]))),
    st.text(st.characters(codec=None), max_size=20)), max_size=30))
def test_the_parser_never_raises_and_only_ascii_numbers_in_range_name_rows(pairs) -> None:
    rows = indexed_rows(MultiDict(pairs), "identifiers", FIELDS)
    for number, row in rows.rows:
        assert 0 <= number <= MAX_ROW_NUMBER
        assert set(row) <= set(FIELDS)
    rows_with_choice(MultiDict(pairs))


def test_a_gap_in_row_numbers_never_moves_a_publish_tick() -> None:
    # Rows 0 and 5 only; only row 5 is ticked. By position the tick would land on row 0.
    form = MultiDict([("identifiers-0-kind", "phone"), ("identifiers-0-value", "07700 900111"),
                      ("identifiers-5-kind", "plate"), ("identifiers-5-value", "AB12CDE"),
                      ("identifiers-5-publish", "y")])
    assert rows_with_choice(form) == [("phone", "07700 900111", False),
                                      ("plate", "AB12CDE", True)]


def test_a_tick_for_a_row_with_no_identifier_publishes_nothing() -> None:
    form = MultiDict([("identifiers-0-kind", "phone"), ("identifiers-0-value", "07700 900111"),
                      ("identifiers-1-publish", "y")])
    assert rows_with_choice(form) == [("phone", "07700 900111", False), ("", "", True)]


@pytest.mark.parametrize("number", ["²", "٣", "01", "1000", "\x00"])
def test_a_report_with_a_malformed_row_number_gets_a_400_and_writes_nothing(app, conn,
                                                                          number) -> None:
    client, _ = _member_client(app)
    response = post_form(client, "/reports/new",
                         _report_form(app, **{f"identifiers-{number}-kind": "phone"}))
    assert response.status_code == 400
    assert "could not be read, so nothing was saved" in text(response)
    assert _counts(conn) == dict.fromkeys(TABLES, 0)


def test_an_alert_with_a_malformed_row_number_gets_a_400_and_saves_nothing(app, conn) -> None:
    coordinator, _ = coordinator_client(app)
    alert_id = _new_alert(coordinator)
    response = _act(coordinator, alert_id, "publish", **_alert_form(app), **{
        "identifiers-0-kind": "phone", "identifiers-0-value": "07700 900123",
        "identifiers-²-publish": "y"})
    assert response.status_code == 400
    assert "could not be read, so nothing was saved" in text(response)
    assert conn.execute("SELECT status, current_version FROM alerts").fetchone() == ("draft", 0)
    assert conn.execute("SELECT count(*) FROM alert_identifier_index").fetchone()[0] == 0


def test_a_gap_in_the_alert_form_publishes_only_the_ticked_identifier(app, conn) -> None:
    from tests.people import make_member, signed_in_client

    coordinator, _ = coordinator_client(app)
    alert_id = _new_alert(coordinator)
    published = _act(coordinator, alert_id, "publish", **_alert_form(app), **{
        "identifiers-0-kind": "phone", "identifiers-0-value": "07700 900111",
        "identifiers-3-kind": "plate", "identifiers-3-value": "AB12 CDE",
        "identifiers-3-publish": "y"})
    assert published.status_code == 302
    member = signed_in_client(app, make_member(app))
    kept_private = post_form(member, "/check", {"kind": "phone", "value": "07700 900111"})
    assert "No published alert mentions this" in text(kept_private)
    ticked = post_form(member, "/check", {"kind": "plate", "value": "AB12CDE"})
    assert "1 published alert" in text(ticked)

