"""The feed's alert cards, rendered once per language and version, not once per reader.

A published alert's card reads the same to every member in a language, and rendering the
20 cards of a page was most of GET /alerts. The cards are kept in process memory by
app/web/shared_pages.same_for_everyone, named by the alert's id, version and dates, so an
edit or a new publication is a new card; a withdrawal drops the alert's cards.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from flask import render_template
from markupsafe import Markup

from app.alerts.service import Alert, FeedEntry
from app.web.shared_pages import forget_same_for_everyone, forget_same_pages, same_for_everyone

FEED_CARD = "alerts.card"


def feed_cards(entries: list[FeedEntry],
               fetch: Callable[[list[str]], dict[str, Alert]]) -> list[Markup]:
    """The page's cards; `fetch` reads the alerts' text, once, only if a card is missing."""
    fetched: dict[str, Alert] = {}

    def card(entry: FeedEntry) -> str | None:
        if not fetched:
            fetched.update(fetch([e.id for e in entries]))
        alert = fetched.get(entry.id)
        # Withdrawn since the page was listed: nothing to show, and nothing kept.
        return None if alert is None else render_template("alerts/_feed_card.html", a=alert)

    return same_for_everyone(FEED_CARD, [
        ((e.id, str(e.version), e.published_at, e.edited_at or ""), partial(card, e))
        for e in entries])


def forget(alert_id: str) -> None:
    """A withdrawn alert's cards, and every kept page that may show it, leave memory."""
    forget_same_for_everyone(FEED_CARD, alert_id)
    forget_same_pages()
