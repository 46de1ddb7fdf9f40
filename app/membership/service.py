"""Applying for membership, without a Flask request: check, hash, then write in one go.

`apply_individual` and `apply_organisation` take what the applicant typed (plain strings),
check all of it, and only then write the member and the account inside one transaction;
the monitoring answers go to a tally that is counted later, in a batch. Anything wrong
raises `ApplicationInvalid` before a single byte is written; a failure while writing
rolls the whole application back.

What is stored:
  * identity and contact, sealed (app/membership/records.insert_member): the server cannot
    read them back;
  * an account with a generated username, the password's Argon2id hash, status pending;
  * for individuals, +1 on each monitoring answer actually given: bare counters, with no
    member id and no time, added later in a random-order batch
    (app/membership/monitoring.py), so an answer cannot be traced to whoever gave it;
  * the area the applicant wants alerts for, as their alert-area setting (asked apart
    from the monitoring question), so that from approval on, notices reach them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l

from app.alerts import service as alert_settings
from app.auth import accounts
from app.common import choices, validation
from app.common.passwords import Passwords, password_problem
from app.common.tally import Tally
from app.membership import records as member_records
from app.vault.db import Connection, transaction
from crypto.keystore import ServerKeys

INDIVIDUAL = "individual"
ORGANISATION_KINDS = ("project", "site")


class ApplicationInvalid(Exception):
    """What the applicant typed cannot be used; `problems` maps field name -> message."""

    def __init__(self, problems: Mapping[str, object]) -> None:
        # Field names only: the messages and values stay out of anything that logs this.
        super().__init__(f"problems with: {', '.join(sorted(problems))}")
        self.problems = dict(problems)


class ApplicationsFull(Exception):
    """The overall cap on new applications in an hour is reached; try again at `retry_at`.

    The cap is counted from the stored applications themselves, so it needs nothing about
    who is applying (no address, no cookie) and survives a restart.
    """

    def __init__(self, retry_at: datetime) -> None:
        super().__init__("applications are full for now")
        self.retry_at = retry_at


CAP_WINDOW = timedelta(hours=1)


def check_room(conn: Connection, now: datetime, per_hour: int | None) -> None:
    """ApplicationsFull unless another application fits under the cap (None: no cap)."""
    if per_hour is None:
        return
    made, first = member_records.applications_since(conn, now - CAP_WINDOW)
    if made >= per_hour:
        raise ApplicationsFull((first or now) + CAP_WINDOW)


@dataclass(frozen=True)
class IndividualApplication:
    """An individual sex worker's application, as typed. Field names match the form."""

    work_name: str = ""
    real_name: str = ""
    email: str = ""
    mobile: str = ""
    alert_channel: str = ""
    gender: str = choices.PREFER_NOT_TO_SAY
    sector: str = choices.PREFER_NOT_TO_SAY
    area: str = choices.PREFER_NOT_TO_SAY
    alert_area: str = ""
    agree_terms: bool = False
    password: str = field(default="", repr=False)
    password_again: str = field(default="", repr=False)


@dataclass(frozen=True)
class OrganisationApplication:
    """A project's or a site/establishment's application, as typed."""

    kind: str = "project"
    org_name: str = ""
    org_website: str = ""
    org_email: str = ""
    key_contact: str = ""
    org_description: str = ""
    alert_channel: str = ""
    alert_area: str = ""
    agree_terms: bool = False
    password: str = field(default="", repr=False)
    password_again: str = field(default="", repr=False)


@dataclass(frozen=True)
class Applied:
    """The result of a stored application. Show `username` once; keep no copy of it."""

    member_id: str
    account_id: str
    username: str = field(repr=False)


@dataclass(frozen=True)
class _Checked:
    kind: str
    role: str
    identity: dict[str, str]
    contact: dict[str, str]
    alert_channel: str
    monitoring: dict[str, str]
    alert_areas: tuple[str, ...] = ()


class _Problems(validation.Problems):
    @property
    def found(self) -> dict[str, object]:
        return self

    def raise_if_any(self) -> None:
        if self:
            raise ApplicationInvalid(dict(self))


def _name(raw: str, required_message: object | None = None) -> str:
    return validation.single_line(raw, max_chars=validation.MAX_NAME_CHARS,
                                  required_message=required_message)


def _check_password(problems: _Problems, password: str, again: str) -> None:
    password = password if isinstance(password, str) else ""
    again = again if isinstance(again, str) else ""
    problem = password_problem(password)
    if problem is not None:
        message = problem
        problems.add("password", message)
    elif password != again:
        problems.add("password_again", _l("The two passwords are not the same. Type the "
                                          "same password in both boxes."))


def _check_official_email(problems: _Problems, site: validation.Website | None,
                          raw_email: str) -> validation.Email | None:
    """An organisation's official email: required, and at its own website's domain."""
    email = problems.check("org_email", validation.email, raw_email)
    if email is None and "org_email" not in problems.found:
        problems.add("org_email", _l("Enter your organisation's official email address."))
    if site is not None and email is not None and not validation.email_belongs_to_website(
            email.ascii_domain, site.ascii_host):
        problems.add("org_email", _l(
            "Use an official email address at your website's own domain (%(domain)s), not a "
            "personal or free webmail address.", domain=site.ascii_host.removeprefix("www.")))
    return email


def _check_terms(problems: _Problems, agreed: bool) -> None:
    if agreed is not True:
        problems.add("agree_terms", _l("You need to agree to the membership terms to join."))


def _check_alert_area(problems: _Problems, answer: str) -> tuple[str, ...]:
    areas = choices.alert_areas_for(answer if isinstance(answer, str) else "")
    if areas is None:
        problems.add("alert_area", _l("Choose the area you want alerts for, or all of the UK "
                                      "and Ireland. You can change it later."))
        return ()
    return areas


def _check_contact(problems: _Problems, raw_email: str, raw_mobile: str,
                   channel: str, text_alerts: bool = True) -> tuple[dict[str, str], str]:
    """An individual's contact group and alert channel, checked together.

    `text_alerts` is False where no text-message gateway is configured: a text channel
    would then never deliver, while the pages said alerts (and reset codes) were on
    their way.
    """
    email = problems.check("email", validation.email, raw_email)
    mobile = problems.check("mobile", validation.mobile, raw_mobile)
    email_ok = "email" not in problems.found
    mobile_ok = "mobile" not in problems.found
    if email_ok and mobile_ok and email is None and mobile is None:
        problems.add("email", _l("Give an email address, a mobile number, or both, so that "
                                 "we can send you alerts."))
    if channel not in choices.values(choices.ALERT_CHANNELS):
        problems.add("alert_channel", _l("Choose how you want to receive alerts."))
    elif channel == "sms" and not text_alerts:
        problems.add("alert_channel", _l("Text alerts cannot be sent yet: choose email, or "
                                         "no alerts sent to you."))
    elif channel == "sms" and mobile is None and mobile_ok:
        problems.add("alert_channel", _l("Text alerts need a mobile number: add one above, "
                                         "or choose another way."))
    elif channel == "email" and email is None and email_ok:
        problems.add("alert_channel", _l("Email alerts need an email address: add one "
                                         "above, or choose another way."))
    contact = {}
    if email is not None:
        contact["email"] = email.address
    if mobile is not None:
        contact["mobile"] = mobile
    return contact, channel


def replace_contact(conn: Connection, keys: ServerKeys, member_id: str, raw_email: str,
                    raw_mobile: str, channel: str, *, text_alerts: bool = True) -> None:
    """A member's new contact and channel, sealed afresh; ApplicationInvalid if wrong.

    The old contact cannot be shown or re-wrapped here (only the vetting key opens it), so
    the member types what we should use and it replaces what we held; its indexes go and
    the member waits for the next unlock to be indexed again (no key here to index with).
    The delivery key is a recipient only for email or text alerts, as at apply time.
    """
    problems = _Problems()
    contact, channel = _check_contact(problems, raw_email, raw_mobile, channel, text_alerts)
    problems.raise_if_any()
    member_records.replace_contact(conn, keys, member_id, contact, channel)


def replace_org_contact(conn: Connection, keys: ServerKeys, member_id: str, *,
                        raw_website: str, raw_email: str, raw_key_contact: str,
                        channel: str) -> None:
    """An organisation's key contact changes the official email (and the contact's name).

    The server cannot read the sealed website to check the new address against, so the
    key contact types the website again: the address must belong to it. That website and
    any new key contact's name are sealed for the coordinators, who compare them with the
    sealed originals when they next open the membership.
    """
    problems = _Problems()
    site = problems.check("org_website", validation.website, raw_website)
    if site is None and "org_website" not in problems.found:
        problems.add("org_website", _l("Type your organisation's official website."))
    email = _check_official_email(problems, site, raw_email)
    key_contact = problems.check("key_contact", _name, raw_key_contact)
    if channel not in choices.values(choices.ORG_ALERT_CHANNELS):
        problems.add("alert_channel", _l("Choose how you want to receive alerts."))
    problems.raise_if_any()
    assert site is not None and email is not None
    change = {"org_website": site.url}
    if key_contact:
        change["key_contact"] = key_contact
    with transaction(conn):
        member_records.replace_contact(conn, keys, member_id, {"org_email": email.address},
                                       channel)
        member_records.record_identity_change(conn, keys, member_id, change)


def check_individual(application: IndividualApplication, *,
                     text_alerts: bool = True) -> _Checked:
    """Everything checked and cleaned, or ApplicationInvalid naming each problem."""
    problems = _Problems()
    work_name = problems.check("work_name", _name, application.work_name, _l(
        "Enter a work name: the name you work under, or any name you would like us to use."))
    real_name = problems.check("real_name", _name, application.real_name)
    contact, channel = _check_contact(problems, application.email, application.mobile,
                                      application.alert_channel, text_alerts)
    alert_areas = _check_alert_area(problems, application.alert_area)

    monitoring: dict[str, str] = {}
    for question, options in choices.MONITORING_QUESTIONS.items():
        answer = getattr(application, question)
        if answer == choices.PREFER_NOT_TO_SAY:
            continue
        if answer not in choices.values(options):
            problems.add(question, _l("Choose one of the options, or \"Prefer not to say\"."))
        else:
            monitoring[question] = answer

    _check_terms(problems, application.agree_terms)
    _check_password(problems, application.password, application.password_again)
    problems.raise_if_any()

    assert work_name is not None  # raise_if_any() above: a missing one is a problem
    identity = {"work_name": work_name}
    if real_name:
        identity["real_name"] = real_name
    return _Checked(kind=INDIVIDUAL, role="member", identity=identity, contact=contact,
                    alert_channel=channel, monitoring=monitoring, alert_areas=alert_areas)


def check_organisation(application: OrganisationApplication) -> _Checked:
    """Everything checked and cleaned, or ApplicationInvalid naming each problem."""
    if application.kind not in ORGANISATION_KINDS:
        raise ValueError("unknown organisation kind")  # the URL decides this, not a form
    problems = _Problems()
    org_name = problems.check("org_name", _name, application.org_name,
                              _l("Enter your organisation's name."))
    site = problems.check("org_website", validation.website, application.org_website)
    email = _check_official_email(problems, site, application.org_email)
    key_contact = problems.check("key_contact", _name, application.key_contact,
                                 _l("Enter the name of your organisation's key contact."))
    description = problems.check(
        "org_description", validation.multi_line, application.org_description,
        max_chars=validation.MAX_DESCRIPTION_CHARS,
        required_message=_l("Tell us briefly about your organisation's work with sex workers."))
    channel = application.alert_channel
    if channel not in choices.values(choices.ORG_ALERT_CHANNELS):
        problems.add("alert_channel", _l("Choose how you want to receive alerts."))
    alert_areas = _check_alert_area(problems, application.alert_area)
    _check_terms(problems, application.agree_terms)
    _check_password(problems, application.password, application.password_again)
    problems.raise_if_any()

    # raise_if_any() above: every required value is here, or it was a problem.
    assert org_name and site and key_contact and description and email
    identity = {"org_name": org_name, "org_website": site.url, "key_contact": key_contact,
                "org_description": description}
    return _Checked(kind=application.kind, role="org_contact", identity=identity,
                    contact={"org_email": email.address}, alert_channel=channel,
                    monitoring={}, alert_areas=alert_areas)



def _store(conn: Connection, keys: ServerKeys, passwords: Passwords, now: datetime,
           checked: _Checked, password: str, tally: Tally | None,
           per_hour: int | None) -> Applied:
    # Checked before hashing too, so a flood past the cap costs no Argon2id work.
    check_room(conn, now, per_hour)
    # Hashed before the write lock is taken: the hash is the slow part.
    password_hash = passwords.hash(password)
    with transaction(conn):
        # Again under the write lock: two applications at once cannot both take the last place.
        check_room(conn, now, per_hour)
        member_id = member_records.insert_member(
            conn, keys, kind=checked.kind, identity=checked.identity,
            contact=checked.contact, alert_channel=checked.alert_channel, now=now)
        account = accounts.create_login(conn, role=checked.role, password_hash=password_hash,
                                        now=now, member_id=member_id, status="pending")
        account_id, username = account.id, account.username
        alert_settings.set_member_areas(conn, member_id, checked.alert_areas)
    # Counted later, in a batch (app/membership/monitoring.py): never in the transaction
    # that made the member, where a snapshot could tie the two together.
    if checked.monitoring and tally is not None:
        tally.add(checked.monitoring, now)
    return Applied(member_id=member_id, account_id=account_id, username=username)


def apply_individual(conn: Connection, keys: ServerKeys, passwords: Passwords, now: datetime,
                     application: IndividualApplication, tally: Tally | None = None, *,
                     text_alerts: bool = True, per_hour: int | None = None) -> Applied:
    """Check and store an individual's application; its monitoring answers go to `tally`.

    `per_hour` caps new applications across everyone (ApplicationsFull past it).
    """
    checked = check_individual(application, text_alerts=text_alerts)
    return _store(conn, keys, passwords, now, checked, application.password, tally, per_hour)


def apply_organisation(conn: Connection, keys: ServerKeys, passwords: Passwords, now: datetime,
                       application: OrganisationApplication,
                       per_hour: int | None = None) -> Applied:
    """Check and store a project's or a site/establishment's application."""
    checked = check_organisation(application)
    return _store(conn, keys, passwords, now, checked, application.password, None, per_hour)
