"""Counts read right in English: "1 entry", "2 entries", never "1 entries" or "(s)"."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

REPO = Path(__file__).resolve().parent.parent
MAXIMUMS = re.compile(r"at (?:most|least) %\(count\)d|every %\(days\)d|last %\(n\)d",
                      re.IGNORECASE)


def _sources() -> list[Path]:
    return sorted([*(REPO / "app").rglob("*.py"), *(REPO / "app" / "templates").rglob("*.html")])


def test_no_message_says_s_in_brackets() -> None:
    offenders = [str(p.relative_to(REPO)) for p in _sources()
                 if re.search(r"[a-z]\(s\)[ \"]",
                              p.read_text(encoding="utf-8").replace("http(s)", ""))]
    assert offenders == []


def test_templates_count_through_ngettext() -> None:
    offenders = []
    for path in (REPO / "app" / "templates").rglob("*.html"):
        for match in re.finditer(r'\b_\(\s*"([^"]*%\(\w+\)d (?:matching )?[a-z]+s\b[^"]*)"',
                                 path.read_text(encoding="utf-8")):
            if not MAXIMUMS.search(match.group(1)):
                offenders.append((path.name, match.group(1)[:60]))
    assert offenders == []


@pytest.mark.parametrize(("hours", "shown"), [
    (1, "1 business hour"), (0.5, "0.5 business hours"), (3, "3 business hours"),
    (8, "1 business day and 0 hours"), (9, "1 business day and 1 hour"),
    (17.5, "2 business days and 1.5 hours")])
def test_queue_ages_are_plural_only_when_more_than_one(app: Flask, hours: float,
                                                       shown: str) -> None:
    from app.coordinator.views import business_age

    with app.test_request_context("/"):
        assert business_age(hours) == shown
