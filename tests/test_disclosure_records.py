"""app/disclosures/records.py: its status enums are the schema's, and it writes only
inside the caller's transaction."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

import pytest

from app.disclosures import records
from app.disclosures.records import ContactStatus, MessageKind, RequestStatus

SCHEMA = Path(__file__).resolve().parent.parent / "schema.sql"


def _check_values(schema_sql: str, table: str, column: str) -> list[str]:
    """The values of `CHECK (column IN (...))` in table's CREATE TABLE, in schema order."""
    created = re.search(rf"CREATE TABLE {table} \((.*?)\n\) STRICT;", schema_sql, re.DOTALL)
    assert created, f"schema.sql creates no table {table}"
    checks = re.findall(rf"CHECK \(\s*{column}\s+IN\s*\(([^)]*)\)\s*\)", created.group(1))
    assert len(checks) == 1, f"{table}.{column}: expected one CHECK ({column} IN (...))"
    return re.findall(r"'([^']*)'", checks[0])


@pytest.mark.parametrize(("enum", "table", "column"), [
    (RequestStatus, "disclosure_requests", "status"),
    (ContactStatus, "contact_requests", "status"),
    (MessageKind, "member_messages", "kind"),
])
def test_each_enum_holds_exactly_the_values_the_schema_allows(
        enum: type[StrEnum], table: str, column: str) -> None:
    allowed = _check_values(SCHEMA.read_text(encoding="utf-8"), table, column)
    assert allowed, f"no values parsed for {table}.{column}"
    assert sorted(member.value for member in enum) == sorted(allowed)


def test_the_check_parser_reads_the_column_it_is_asked_about() -> None:
    schema = SCHEMA.read_text(encoding="utf-8")
    assert _check_values(schema, "disclosure_requests", "subject_table") == [
        "members", "reports"]
    # "status NOT IN (...)" elsewhere in disclosure_requests is not the column's CHECK.
    assert _check_values(schema, "disclosure_requests", "status") == [
        "pending", "approved", "refused", "disclosed"]


def test_records_refuse_to_write_outside_the_callers_transaction(conn) -> None:
    with pytest.raises(RuntimeError, match="caller's transaction"):
        records.mark_message_read(conn, "no-such-message", "2030-01-01T00:00:00+00:00")
    with pytest.raises(RuntimeError, match="caller's transaction"):
        records.set_contact_status(conn, "no-such-request", ContactStatus.SHARED)
