from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.account import service
from app.account.forms import ConfirmSettingsForm, ContactForm, OrgContactForm
from app.alerts import service as alert_settings
from app.auth import account_notices, accounts, recovery
from app.auth.current import current_account
from app.auth.forms import ChangePasswordForm, CodeForm, LeaveForm, TwoStepOffForm, forget_typed
from app.common import choices
from app.membership import decisions as memberships
from app.membership import records as member_records
from app.membership import service as membership_service
from app.membership.forms import offer_channels
from app.web.access import MEMBER, MEMBERS, ORG_CONTACT, SIGNED_IN, allow
from app.web.forms import show_problems
from app.web.state import get_db, load_keys, now, state

bp = Blueprint("account", __name__, url_prefix="/account")
_NEW_TOTP = "new_totp_secret"


def _alert_settings() -> dict[str, object]:
    """The member's channel and areas, for the pages that show them."""
    member_id = current_account().member_id
    if member_id is None:
        return {}
    conn = get_db()
    return {"channel": member_records.alert_channel(conn, member_id),
            "channel_labels": dict(choices.ALERT_CHANNELS),
            "alert_areas": alert_settings.member_areas(conn, member_id),
            "area_labels": dict(choices.AREAS)}


def _settings(password_form: ChangePasswordForm | None = None,
              error: str | None = None, status: int = 200,
              leave_form: LeaveForm | None = None,
              off_form: TwoStepOffForm | None = None,
              off_error: str | None = None) -> tuple[str, int]:
    account = current_account()
    conn = get_db()
    return render_template(
        "account/settings.html",
        account=account, **_alert_settings(),
        password_form=password_form or ChangePasswordForm(),
        leave_form=leave_form or LeaveForm(),
        off_form=off_form or TwoStepOffForm(),
        password_error=error,
        off_error=off_error,
        must_change=bool(g.get("password_must_change")),
        recovery_left=recovery.remaining(conn, account.id),
        notices=account_notices.recent(conn, account.id, now()),
    ), status


@bp.get("")
@allow(*SIGNED_IN)
def settings() -> tuple[str, int]:
    return _settings()


@bp.post("/password")
@allow(*SIGNED_IN)
def change_password() -> Response | tuple[str, int]:
    form = ChangePasswordForm()
    if not form.validate():
        return _settings(form, status=400)
    problem = service.change_password(get_db(), state().passwords, current_account(),
                                      form.current.data or "", form.new.data or "",
                                      keep_token=session["token"])
    if problem:
        return _settings(form, error=str(problem), status=400)
    flash(_("Your password is changed. Every other session has been signed out."))
    return redirect(url_for("account.settings"))


@bp.post("/sign-out-everywhere")
@allow(*SIGNED_IN)
def sign_out_everywhere() -> Response:
    token = session.get("token")
    service.sign_out_everywhere(get_db(), current_account().id)
    if token:
        state().forget_session(token)
    session.clear()
    flash(_("You are signed out on every device."))
    return redirect(url_for("auth.login"))


@bp.route("/welcome", methods=["GET", "POST"])
@allow(MEMBER, ORG_CONTACT)
def welcome() -> Response | str | tuple[str, int]:
    """First sign-in: confirm the areas and channel alerts use (asked once)."""
    account = current_account()
    assert account.member_id is not None
    conn = get_db()
    form = ConfirmSettingsForm()
    if not form.is_submitted():
        form.areas.data = alert_settings.member_areas(conn, account.member_id)
        return render_template("account/welcome.html", form=form, **_alert_settings())
    chosen = list(form.areas.data or [])
    if not chosen or not set(chosen) <= choices.values(choices.AREAS):
        form.areas.errors = [_("Choose at least one area, so that you are told of new "
                               "alerts.")]
        return render_template("account/welcome.html", form=form, **_alert_settings()), 400
    service.confirm_alert_settings(conn, account.member_id, chosen, now())
    flash(_("Your alert settings are saved. You can change them at any time from Your "
            "account."))
    return redirect(url_for("alerts.index"))


@bp.route("/contact", methods=["GET", "POST"])
@allow(MEMBER, ORG_CONTACT)
def contact() -> Response | str | tuple[str, int]:
    account = current_account()
    assert account.member_id is not None
    if account.role == ORG_CONTACT:
        return _org_contact(account.member_id)
    form = ContactForm()
    text_alerts = state().config.text_alerts
    offer_channels(form.alert_channel, text_alerts)
    if not form.is_submitted():
        form.alert_channel.data = member_records.alert_channel(get_db(), account.member_id)
        return render_template("account/contact.html", form=form)
    try:
        membership_service.replace_contact(get_db(), load_keys(current_app), account.member_id,
                                           form.email.data or "", form.mobile.data or "",
                                           form.alert_channel.data or "",
                                           text_alerts=text_alerts)
    except membership_service.ApplicationInvalid as invalid:
        show_problems(form, invalid.problems)
        return render_template("account/contact.html", form=form), 400
    flash(_("Your contact details and alert choice are saved. What you had before is gone."))
    return redirect(url_for("account.settings"))


def _org_contact(member_id: str) -> Response | str | tuple[str, int]:
    form = OrgContactForm()
    if not form.is_submitted():
        form.alert_channel.data = member_records.alert_channel(get_db(), member_id)
        return render_template("account/org_contact.html", form=form)
    try:
        membership_service.replace_org_contact(
            get_db(), load_keys(current_app), member_id,
            raw_website=form.org_website.data or "", raw_email=form.org_email.data or "",
            raw_key_contact=form.key_contact.data or "",
            channel=form.alert_channel.data or "")
    except membership_service.ApplicationInvalid as invalid:
        show_problems(form, invalid.problems)
        return render_template("account/org_contact.html", form=form), 400
    flash(_("Your organisation's official email is saved. A coordinator will compare the "
            "website you typed with the one on record."))
    return redirect(url_for("account.settings"))


@bp.post("/leave")
@allow(MEMBER, ORG_CONTACT)
def leave() -> Response | tuple[str, int]:
    form = LeaveForm()
    if not form.validate():
        return _settings(leave_form=form, status=400)
    account = current_account()
    assert account.member_id is not None
    try:
        memberships.leave(get_db(), account.member_id, account.id, now())
    except memberships.DecisionError:
        abort(409)
    state().forget_session(session.get("token", ""))
    session.clear()
    flash(_("You have left the scheme. Your name and contact details are deleted."))
    return redirect(url_for("public.index"))


@bp.route("/two-step", methods=["GET", "POST"])
@allow(*MEMBERS)
def two_step() -> Response | str | tuple[str, int]:
    account = current_account()
    if account.totp_secret is not None:
        flash(_("Two-step sign-in is already on."))
        return redirect(url_for("account.settings"))
    secret = session.get(_NEW_TOTP)
    if not secret:
        secret = accounts.new_totp_secret()
        session[_NEW_TOTP] = secret
    form = CodeForm()
    context = {"form": form, "secret": secret,
               "uri": accounts.totp_uri(secret, account.username,
                                         state().config.site_name)}
    if not form.is_submitted():
        return render_template("account/two_step.html", **context)
    if not form.validate():
        return render_template("account/two_step.html", **context), 400
    codes = service.turn_on_totp(get_db(), load_keys(current_app), account, secret,
                                 form.code.data or "", now())
    if codes is None:
        forget_typed(form.code)
        return render_template("account/two_step.html", failed=True, **context), 400
    session.pop(_NEW_TOTP, None)
    # Shown on this one response and never again: only their hashes are kept.
    return render_template("account/recovery_codes.html", codes=codes)


@bp.post("/two-step/off")
@allow(*MEMBERS)
def two_step_off() -> Response | tuple[str, int]:
    form = TwoStepOffForm()
    if not form.validate():
        return _settings(off_form=form, status=400)
    problem = service.turn_off_totp(get_db(), state().passwords, load_keys(current_app),
                                    current_account(), form.password.data or "",
                                    form.code.data or "", now())
    if problem:
        return _settings(off_form=form, off_error=str(problem), status=400)
    flash(_("Two-step sign-in is off, and your recovery codes no longer work."))
    return redirect(url_for("account.settings"))
