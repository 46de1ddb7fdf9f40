"""The architecture, held by tests: the rules the layout states, checked against the code.

Import direction lives in import-linter's contracts (setup.cfg, run by `make test`); this
module checks what those cannot: no import cycle at all, one owner per table, rows read
by name, statuses that match the schema, and one blueprint convention.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import grimp
import pytest

from app import blueprints, create_app
from app.alerts.service import AlertStatus
from app.auth.account_notices import AccessNoticeKind
from app.auth.accounts import AccountStatus
from app.membership.records import Decision, MemberStatus
from app.reports.records import ReportAction, ReportStatus
from app.vault.log import LegalBasis
from app.vault.outbox import Channel, NoticeKind, NoticeStatus

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app"
SCHEMA = (REPO / "schema.sql").read_text(encoding="utf-8")


def _app_modules() -> list[Path]:
    return sorted(APP.rglob("*.py"))


def _cycles(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Every module that can reach itself, with one path that shows how."""
    found = []
    for start in sorted(modules):
        for imported in graph.find_modules_directly_imported_by(start):
            if imported in modules and graph.chain_exists(imported, start):
                chain = graph.find_shortest_chain(imported, start) or ()
                found.append([start, *chain])
                break
    return found


def test_app_has_no_import_cycle_counting_imports_inside_functions() -> None:
    # grimp reads every import statement in a module, inside functions too; imports under
    # `if TYPE_CHECKING:` never run, so they are left out.
    graph = grimp.build_graph("app", exclude_type_checking_imports=True)
    modules = set(graph.modules)
    # A package's __init__ imports what it imports; a module importing its own package
    # (`from app.membership import bp`) is a real edge to the __init__: both count.
    assert _cycles(graph, modules) == []


def test_no_views_module_imports_a_views_module() -> None:
    graph = grimp.build_graph("app", exclude_type_checking_imports=True)
    views = {m for m in graph.modules if m.rsplit(".", 1)[-1].endswith("views")}
    offenders = [(m, other) for m in views for other in graph.find_modules_directly_imported_by(m)
                 if other in views]
    assert offenders == []


_WRITE = re.compile(r"\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE(?!\s+SET\b)|DELETE\s+FROM)\s+(\w+)",
                    re.IGNORECASE)


def _written_tables() -> dict[str, set[str]]:
    owners: dict[str, set[str]] = defaultdict(set)
    for path in _app_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for table in _WRITE.findall(node.value):
                    owners[table].add(str(path.relative_to(REPO)))
    return owners


def test_each_table_is_written_by_one_module() -> None:
    shared = {table: sorted(mods) for table, mods in _written_tables().items() if len(mods) > 1}
    assert shared == {}


def test_every_table_in_the_schema_has_an_owner_or_is_read_only() -> None:
    tables = set(re.findall(r"CREATE TABLE (\w+)", SCHEMA))
    assert set(_written_tables()) <= tables, "a write names a table the schema lacks"


# row[0], r[2], fetchone()[0], Summary(*row), a, b = row: reading by position.
_BY_POSITION = re.compile(
    r"\b(?:row|rows\[\d+\]|r|values)\[\d+\]|fetchone\(\)\[\d+\]|\(\*(?:row|r|values)\)"
    r"|^\s*\w+(?:\s*,\s*\w+)+\s*=\s*row\s*$|for\s+\(\w+,\)\s+in\s+conn|dict\(conn\.execute",
    re.MULTILINE)


def test_rows_are_read_by_name_not_by_position() -> None:
    offenders = []
    for path in _app_modules():
        text = path.read_text(encoding="utf-8")
        for match in _BY_POSITION.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            if text.splitlines()[line - 1].endswith("# a query's one value"):
                continue  # vault.db.scalar: a single value has no name to read it by
            offenders.append(f"{path.relative_to(REPO)}:{line}: {match.group(0).strip()}")
    assert offenders == []


def _check_values(table: str, column: str) -> set[str]:
    body = re.search(rf"CREATE TABLE {table} \((.*?)\n\) STRICT;", SCHEMA, re.S)
    assert body, table
    found = re.search(
        rf"\n\s+{column}\s+[^\n]*?(?:\n\s+[^\n]*?)*?CHECK \({column} IN \(([^)]*)\)\)",
        body.group(1))
    assert found, f"{table}.{column} has no CHECK (... IN ...)"
    return set(re.findall(r"'([^']+)'", found.group(1)))


@pytest.mark.parametrize(("enum", "table", "column"), [
    (MemberStatus, "members", "status"),
    (AccountStatus, "accounts", "status"),
    (Decision, "membership_decisions", "action"),
    (ReportStatus, "reports", "status"),
    (ReportAction, "report_events", "action"),
    (AlertStatus, "alerts", "status"),
    (NoticeStatus, "outbox", "status"),
    (NoticeKind, "outbox", "kind"),
    (Channel, "outbox", "channel"),
    (LegalBasis, "disclosure_requests", "legal_basis"),
    (AccessNoticeKind, "account_notices", "kind"),
])
def test_each_status_enum_matches_its_schema_check(enum, table: str, column: str) -> None:
    assert {member.value for member in enum} == _check_values(table, column)


def test_every_views_module_has_one_blueprint_and_create_app_registers_them_all() -> None:
    declaring = []
    for path in _app_modules():
        text = path.read_text(encoding="utf-8")
        count = len(re.findall(r"^bp = Blueprint\(", text, re.MULTILINE))
        assert count == len(re.findall(r"Blueprint\(", text)), f"{path}: only `bp = Blueprint`"
        if count:
            assert count == 1 and path.stem.endswith("views"), path
            declaring.append(path)
    registered = blueprints()
    assert len(registered) == len(declaring) == len({bp.name for bp in registered})
    app = create_app()
    assert set(app.blueprints) == {bp.name for bp in registered}


def test_templates_cannot_reach_the_app_config() -> None:
    app = create_app()
    assert "config" not in app.jinja_env.globals


_GETTEXT = {"_", "gettext", "ngettext", "_l", "lazy_gettext"}


def test_gettext_is_only_ever_given_literal_text() -> None:
    # A catalogue can translate only what it can see: `_(str(error))` is never translated,
    # and a message built at run time could carry what someone typed into a catalogue.
    offenders = []
    for path in _app_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in _GETTEXT and node.args
                    and not (isinstance(node.args[0], ast.Constant)
                             and isinstance(node.args[0].value, str))):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []
