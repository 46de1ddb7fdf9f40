"""/check: a member asks whether any published alert names a phone, email, plate or handle.

Thin on purpose: the rules are in service.py. POST only for the value (never in a URL);
the answer page and the form never show the value again.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for

from app.auth.current import current_account
from app.checker import service
from app.checker.forms import DEFAULT_KIND, CheckForm
from app.web.access import MEMBERS, allow
from app.web.shared_pages import same_page, shared_fragment
from app.web.state import AppState, get_db, load_keys, now, state
from crypto.blind_index import BlindIndexer

bp = Blueprint("checker", __name__)

def _flush_counts(st: AppState) -> None:
    pool = st.connection_pool()
    conn = pool.acquire()
    try:
        service.flush_counts(conn, st.check_tally)
    finally:
        pool.release(conn)


def _counting() -> AppState:
    """The app state, with the job that writes the day's counts started on first use."""
    st = state()
    st.start_periodic("check-counts", st.config.check_flush_seconds,
                      lambda: _flush_counts(st))
    return st


def _form_page(form: CheckForm, status: int = 200) -> tuple[str, int]:
    form.forget_value()
    return render_template("checker/check.html", form=form), status


@bp.route("/check", methods=["GET", "POST"])
@allow(*MEMBERS)
def check() -> tuple[str, int]:
    if request.method == "GET":
        return _form_page(CheckForm())
    # Counted before anything else, valid or not, so probing formats costs the same.
    if not state().check_limiter.allow(current_account().id):
        return render_template("checker/too_many.html"), 429
    # Read as CheckForm reads them (a missing kind is its default, phone); the form itself
    # is built only when a problem sends it back.
    kind = request.form.get("kind", DEFAULT_KIND)
    raw = request.form.get("value", "")
    try:
        result = service.run_check(get_db(), BlindIndexer(load_keys(current_app).index_key),
                                   kind, raw, now(), _counting().check_tally)
    except service.InvalidCheck as problem:
        form = CheckForm()
        form.show_problem(problem.field, str(problem.message))
        return _form_page(form, 400)

    def render() -> str:
        links = {alert.alert_id: url_for("alerts.show", alert_id=alert.alert_id)
                 for alert in result.alerts}
        # A fresh, empty form to check something else; only the kind is kept. It is the
        # same for every member but for the token: rendered once per language and kind.
        again = shared_fragment("checker.form", (result.kind,), lambda: render_template(
            "checker/_form.html", form=CheckForm(formdata=None, kind=result.kind)))
        return render_template("checker/answer.html", result=result, links=links,
                               entered=service.YOU_ENTERED[result.kind], check_form=again)

    # The answer never shows the value checked, only its kind and the published alerts
    # that mention it: every member who gets that answer reads the same page.
    return same_page("checker.answer", (result.kind, *(
        f"{a.alert_id}:{a.published_on or ''}:{a.title}" for a in result.alerts)), render), 200
