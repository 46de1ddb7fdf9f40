"""uglymugs web application: `create_app(config)` builds it."""

from __future__ import annotations

import logging

from flask import Flask, abort, request
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from . import access, cli, errors, logs, security
from .auth.current import load_current_account
from .auth.passwords import Passwords
from .config import Config
from .db import StartupError
from .state import AppState, LazyKeySessionInterface, close_db, state, verify_ready

log = logging.getLogger("uglymugs.app")


class App(Flask):
    def log_exception(self, exc_info) -> None:  # type: ignore[no-untyped-def]
        """Log where it failed, never the message: messages can quote what a user typed."""
        error = exc_info[1]
        log.error("unhandled error on %s: %s", request.endpoint or "-", errors.frames_only(error))


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
        BABEL_DEFAULT_LOCALE="en",
        WTF_CSRF_TIME_LIMIT=3600,
        **config.extra,
    )
    app.extensions["uglymugs"] = AppState(
        config=config,
        passwords=Passwords(max_concurrent=config.max_concurrent_hashes,
                            wait_seconds=config.hash_wait_seconds,
                            cheap_for_tests=config.cheap_password_hashing),
    )
    app.session_interface = LazyKeySessionInterface()

    Babel(app, locale_selector=lambda: "en")
    security.install(app, secure_cookies=config.secure_cookies)
    errors.install(app)
    logs.install(app)

    @app.before_request
    def require_ready() -> None:
        if not state(app).ready:
            try:
                verify_ready(app)
            except StartupError as error:
                log.error("not ready: %s", error)
                abort(503)

    app.before_request(load_current_account)
    app.before_request(access.enforce_roles)
    # After require_ready: the CSRF check needs the session key that readiness loads.
    CSRFProtect(app)
    app.teardown_appcontext(close_db)

    @app.context_processor
    def template_globals() -> dict[str, object]:
        role = access.current_role()
        return {"quick_exit_url": config.quick_exit_url, "current_role": role,
                "signed_in": role in access.SIGNED_IN}

    from .account.views import bp as account_bp
    from .alerts.admin_views import bp as alert_admin_bp
    from .alerts.views import bp as alerts_bp
    from .audit.views import bp as audit_bp
    from .auth.views import bp as auth_bp
    from .checker.views import bp as checker_bp
    from .coordinator.views import bp as coordinator_bp
    from .disclosures.views import bp as disclosures_bp
    from .disclosures.views import member_bp as messages_bp
    from .membership import bp as membership_bp
    from .organisation.views import bp as organisation_bp
    from .public import bp as public_bp
    from .reports.views import bp as reports_bp
    from .statistics.views import bp as statistics_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(membership_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(coordinator_bp)
    app.register_blueprint(organisation_bp)
    app.register_blueprint(checker_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(statistics_bp)
    app.register_blueprint(alerts_bp)
    app.register_blueprint(alert_admin_bp)
    app.register_blueprint(disclosures_bp)
    app.register_blueprint(messages_bp)
    cli.register(app)
    return app


__all__ = ["Config", "StartupError", "create_app", "verify_ready"]
