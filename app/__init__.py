"""uglymugs web application: `create_app(config)` builds it."""

from __future__ import annotations

import logging
from types import TracebackType

from flask import Blueprint, Flask, abort, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFProtect

from app import cli
from app.auth.current import load_current_account, require_password_change
from app.common.clock import uk_day_shown, uk_time
from app.common.passwords import Passwords
from app.common.turns import Turns
from app.vault.db import StartupError
from app.web import access, errors, front_door, logs, security, shared_pages, translations, turns
from app.web import language as page_language
from app.web.config import Config
from app.web.navigation import return_to
from app.web.state import AppState, LazyKeySessionInterface, close_db, state, verify_ready

log = logging.getLogger("uglymugs.app")
ExcInfo = tuple[type, BaseException, TracebackType] | tuple[None, None, None]


class App(Flask):
    def log_exception(self, exc_info: ExcInfo) -> None:
        """Log where it failed, never the message: messages can quote what a user typed."""
        error = exc_info[1]
        if error is None:
            return
        log.error("unhandled error on %s: %s", request.endpoint or "-", errors.frames_only(error))


def _start_monitoring_flush(app: Flask) -> None:
    """Count waiting monitoring answers on a schedule, and once more at a clean exit."""
    import atexit

    from app.membership.monitoring import Flusher, connector

    st = state(app)
    keys = st.keys
    assert keys is not None  # on_ready runs after the keys loaded
    flusher = Flusher(st.tally, connector(st.config.database_path, keys.database_key),
                      st.clock, st.config.monitoring_flush_seconds)
    flusher.start()
    atexit.register(flusher.stop)


def blueprints() -> list[Blueprint]:
    """Every page of the service: one blueprint per views module, each its own `bp`.

    Imported here, when an app is built, so that importing a service module (as the
    worker and the CLI do) never drags in the views.
    """
    from app.account import views as account
    from app.alerts import admin_views as alert_admin
    from app.alerts import views as alerts
    from app.audit import views as audit
    from app.auth import views as auth
    from app.checker import views as checker
    from app.coordinator import report_views as report_review
    from app.coordinator import staff_views as staff_admin
    from app.coordinator import views as coordinator
    from app.disclosures import message_views as messages
    from app.disclosures import views as disclosures
    from app.language import views as language_choice
    from app.membership import views as membership
    from app.organisation import views as organisation
    from app.public import views as public
    from app.reports import views as reports
    from app.statistics import views as statistics
    from app.support import views as support

    return [public.bp, membership.bp, auth.bp, account.bp, coordinator.bp, report_review.bp,
            organisation.bp, checker.bp, reports.bp, audit.bp, statistics.bp, alerts.bp,
            alert_admin.bp, disclosures.bp, messages.bp, staff_admin.bp, language_choice.bp,
            support.bp]


def create_app(config: Config | None = None) -> Flask:
    """Build the app from an explicit config (from the environment when none is given).

    Creating the app reads no key and opens no database, so the CLI can run the key
    ceremony and init-db on an empty machine; `verify_ready` checks both before serving.
    """
    config = config or Config.from_env()
    app = App(__name__)
    app.config.update(
        TESTING=config.testing,
        MAX_CONTENT_LENGTH=config.max_content_length,
        MAX_FORM_MEMORY_SIZE=config.max_content_length,
        WTF_CSRF_TIME_LIMIT=3600,
        **config.extra,
    )
    request_turns = Turns()
    app.extensions["uglymugs"] = AppState(
        config=config,
        passwords=Passwords(max_concurrent=config.max_concurrent_hashes,
                            wait_seconds=config.hash_wait_seconds,
                            cheap_for_tests=config.cheap_password_hashing,
                            turns=request_turns),
        turns=request_turns,
    )
    app.session_interface = LazyKeySessionInterface()
    if config.monitoring_flush_seconds > 0 and not config.testing:
        app.extensions["uglymugs"].on_ready.append(_start_monitoring_flush)
    # Flask offers `config` to every template; a template has no business with SECRET_KEY.
    app.jinja_env.globals.pop("config", None)
    app.add_template_filter(uk_time, "uk_time")
    app.add_template_filter(uk_day_shown, "uk_day")
    app.add_template_global(return_to, "return_to")

    # Aliased: importing the app.language package (the chooser) sets app.language.
    page_language.install(app, config)
    # After Babel is set up: templates then read the request's translations once.
    translations.install(app)
    security.install(app, secure_cookies=config.secure_cookies)
    shared_pages.install(app)
    errors.install(app)
    logs.install(app)

    @app.before_request
    def require_ready() -> None:
        if request.endpoint == access.HEALTH_ENDPOINT:
            return  # it answers 503 itself, with no page and no detail
        if not state(app).ready:
            try:
                verify_ready(app)
            except StartupError as error:
                log.error("not ready: %s", error)
                abort(503)

    app.before_request(load_current_account)
    app.before_request(require_password_change)
    app.before_request(access.enforce_roles)
    # After require_ready: the CSRF check needs the session key that readiness loads.
    CSRFProtect(app)
    app.teardown_appcontext(close_db)

    @app.context_processor
    def template_globals() -> dict[str, object]:
        role = access.current_role()
        return {"quick_exit_url": config.quick_exit_url, "current_role": role,
                "signed_in": role in access.SIGNED_IN or role == access.PENDING,
                "site_name": config.site_name or gettext("Safety notices"),
                "scheme_contact": {"email": config.scheme_contact_email,
                                   "phone": config.scheme_contact_phone,
                                   "hours": config.scheme_contact_hours}}

    for blueprint in blueprints():
        app.register_blueprint(blueprint)
    cli.register(app)
    # Flask runs in turns; the front door answers a stranger before that, as its answer
    # is made in a few microseconds and waiting for a turn would cost more than it saves.
    turns.install(app, request_turns)
    front_door.install(app)
    return app


__all__ = ["Config", "StartupError", "create_app", "verify_ready"]
