"""Members reading alerts, and choosing the areas they want them for."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.alerts import service
from app.alerts.cards import feed_cards
from app.alerts.forms import AreasForm
from app.auth.current import current_account
from app.common import choices, identifiers
from app.web.access import MEMBERS, allow
from app.web.shared_pages import same_page
from app.web.state import get_db
from app.web.translations import labels_per_language

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


@bp.context_processor
def labels() -> dict[str, object]:
    return {"category_labels": labels_per_language("categories",
                                                   lambda: dict(choices.REPORT_CATEGORIES)),
            "area_labels": labels_per_language("areas", lambda: dict(choices.AREAS)),
            "identifier_labels": labels_per_language("identifier kinds",
                                                     lambda: identifiers.KINDS)}


def _member_id() -> str:
    member_id = current_account().member_id
    assert member_id is not None
    return member_id


@bp.get("")
@allow(*MEMBERS)
def index() -> str:
    conn = get_db()
    # A page number that is not a number reads as the first page, like the audit log's.
    page = service.feed_page(conn, _member_id(), request.args.get("page", 1, type=int))
    areas = service.member_areas(conn, _member_id())
    whole: list[bool] = []

    def render() -> str:
        links = {"previous": url_for("alerts.index", page=page.number - 1)
                 if page.number > 1 else None,
                 "next": url_for("alerts.index", page=page.number + 1)
                 if page.has_next else None}
        cards = feed_cards(page.entries, lambda ids: service.published_alerts(conn, ids))
        whole.append(all(cards))  # a card is empty if its alert went while listed
        return render_template("alerts/feed.html", cards=cards, page=page,
                               page_links=links, areas=areas)

    if not page.entries:  # past the end: nothing worth keeping
        return render()
    # Every member whose areas give the same alerts on this page reads the same page.
    return same_page("alerts.feed", (
        str(page.number), str(page.has_next), str(bool(areas)),
        *(f"{e.id}:{e.version}:{e.published_at}:{e.edited_at or ''}" for e in page.entries),
    ), render, query="" if page.number == 1 else f"page={page.number}", keep=lambda: all(whole))


@bp.get("/<alert_id>")
@allow(*MEMBERS)
def show(alert_id: str) -> str:
    alert = service.get(get_db(), alert_id)
    if alert is None or alert.status != service.AlertStatus.PUBLISHED:
        abort(404)
    return render_template("alerts/show.html", alert=alert)


@bp.route("/areas", methods=["GET", "POST"])
@allow(*MEMBERS)
def areas() -> Response | str:
    form = AreasForm()
    if form.is_submitted():
        try:
            service.set_member_areas(get_db(), _member_id(), form.areas.data or [])
        except ValueError:
            abort(400)
        flash(_("Your alert areas are saved."))
        return redirect(url_for("alerts.index"))
    form.areas.data = service.member_areas(get_db(), _member_id())
    return render_template("alerts/areas.html", form=form)
