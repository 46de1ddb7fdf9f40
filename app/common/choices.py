"""Option lists shared by membership (monitoring, alert channel) and, later, reports.

Each list is a tuple of (value, label): the value is a short ASCII code, which is what is
stored or counted; the label is shown to people and goes through gettext. "Prefer not to
say" is not in the lists themselves: monitoring questions add it as their first option and
never count it (see PREFER_NOT_TO_SAY).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2, not yet in types-WTForms

Choices = tuple[tuple[str, object], ...]

# The default answer to every optional monitoring question; never counted or stored.
PREFER_NOT_TO_SAY = "unsaid"
PREFER_NOT_TO_SAY_LABEL = _l("Prefer not to say")

# UK nations and English regions (the ITL1 regions), and Ireland.
AREAS: Choices = (
    ("ldn", _l("London")),
    ("se", _l("South East England")),
    ("sw", _l("South West England")),
    ("eoe", _l("East of England")),
    ("em", _l("East Midlands")),
    ("wm", _l("West Midlands")),
    ("yh", _l("Yorkshire and the Humber")),
    ("nw", _l("North West England")),
    ("ne", _l("North East England")),
    ("sco", _l("Scotland")),
    ("wal", _l("Wales")),
    ("ni", _l("Northern Ireland")),
    ("ie", _l("Ireland (Éire)")),
)

# The alert-area setting asked when applying: one area, or all of them. It is a setting
# kept with the membership (so notices reach the member), asked apart from the monitoring
# question about where they work, which stays a bare counter.
EVERYWHERE = "all"
ALERT_AREA_CHOICES: Choices = (*AREAS, (EVERYWHERE, _l("All of the UK and Ireland")))


def alert_areas_for(answer: str) -> tuple[str, ...] | None:
    """The areas an alert-area answer stands for, or None for an answer not offered."""
    if answer == EVERYWHERE:
        return tuple(value for value, _label in AREAS)
    if answer in values(AREAS):
        return (answer,)
    return None


GENDERS: Choices = (
    ("woman", _l("Woman (including trans women)")),
    ("man", _l("Man (including trans men)")),
    ("nb", _l("Non-binary")),
    ("other", _l("In another way")),
)

SECTORS: Choices = (
    ("indep", _l("Independent escort")),
    ("agency", _l("Agency escort")),
    ("parlour", _l("Parlour, sauna or massage")),
    ("street", _l("Street-based")),
    ("online", _l("Online or webcam")),
    ("other", _l("Other")),
)

ALERT_CHANNELS: Choices = (
    ("email", _l("By email")),
    ("sms", _l("By text message")),
    ("none", _l("No alerts sent to me: I will sign in to read them")),
)

# Organisations get alerts at their official email address, or not at all.
ORG_ALERT_CHANNELS: Choices = tuple(c for c in ALERT_CHANNELS if c[0] in ("email", "none"))

# Monitoring question code -> its options. The codes are what monitoring_counts stores.
MONITORING_QUESTIONS: dict[str, Choices] = {
    "gender": GENDERS,
    "sector": SECTORS,
    "area": AREAS,
}


def options(pairs: Iterable[tuple[str, object]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms select options."""
    return [SelectChoice(value, label) for value, label in pairs]


def values(choices: Choices) -> frozenset[str]:
    return frozenset(value for value, _label in choices)


def with_prefer_not_to_say(choices: Choices) -> list[tuple[str, object]]:
    """The options for an optional question: "prefer not to say" first (the default)."""
    return [(PREFER_NOT_TO_SAY, PREFER_NOT_TO_SAY_LABEL), *choices]


# What happened, for reports and alerts (one or more).
REPORT_CATEGORIES: Choices = (
    ("assault", _l("Physical assault")),
    ("sexual_assault", _l("Rape or sexual assault")),
    ("robbery", _l("Robbery or theft")),
    ("threats", _l("Threats or intimidation")),
    ("stalking", _l("Stalking or harassment")),
    ("non_payment", _l("Refusing to pay, or fraud")),
    ("stealthing", _l("Removing a condom without consent")),
    ("abusive_contact", _l("Abusive or time-wasting contact")),
    ("other", _l("Something else")),
)

# When it happened, roughly: an exact time can identify the reporter.
TIMES_OF_DAY: Choices = (
    ("morning", _l("Morning (6:00 to 12:00)")),
    ("afternoon", _l("Afternoon (12:00 to 18:00)")),
    ("evening", _l("Evening (18:00 to midnight)")),
    ("night", _l("Night (midnight to 6:00)")),
    ("unknown", _l("I don't know or would rather not say")),
)


# Why a coordinator takes an irreversible step, or undoes one: a code from a fixed list
# (it goes into the disclosure log), checked by the service, never typed text. Anything
# more goes in the optional note, which is sealed (app/vault/decision_notes.py).

class MaliciousReason(StrEnum):
    INVENTED = "invented"
    TARGETS_SOMEONE = "targets_someone"
    SOMEONE_ELSES_DETAILS = "someone_elses_details"
    ADMITTED_FALSE = "admitted_false"


MALICIOUS_REASONS: Choices = (
    (MaliciousReason.INVENTED.value, _l("What it describes did not happen")),
    (MaliciousReason.TARGETS_SOMEONE.value, _l("It is being used to harass or target someone")),
    (MaliciousReason.SOMEONE_ELSES_DETAILS.value,
     _l("It gives an innocent person's number or details on purpose")),
    (MaliciousReason.ADMITTED_FALSE.value, _l("The reporter said it was false")),
)


class MaliciousUndoReason(StrEnum):
    MARKED_BY_MISTAKE = "marked_by_mistake"
    NEW_INFORMATION = "new_information"


MALICIOUS_UNDO_REASONS: Choices = (
    (MaliciousUndoReason.MARKED_BY_MISTAKE.value, _l("It was marked by mistake")),
    (MaliciousUndoReason.NEW_INFORMATION.value, _l("New information shows it is genuine")),
)


class RevokeReason(StrEnum):
    FALSE_MEMBERSHIP = "false_membership"
    MALICIOUS_REPORTING = "malicious_reporting"


class LeaveReason(StrEnum):
    ASKED_BY_EMAIL = "asked_by_email"
    ASKED_BY_PHONE = "asked_by_phone"
    ASKED_IN_PERSON = "asked_in_person"
    ASKED_THROUGH_ORGANISATION = "asked_through_organisation"


LEAVE_REASONS: Choices = (
    (LeaveReason.ASKED_BY_EMAIL.value, _l("The member asked by email")),
    (LeaveReason.ASKED_BY_PHONE.value, _l("The member asked by phone")),
    (LeaveReason.ASKED_IN_PERSON.value, _l("The member asked in person")),
    (LeaveReason.ASKED_THROUGH_ORGANISATION.value,
     _l("The member asked through a support organisation")),
)


class AlertWithdrawReason(StrEnum):
    INACCURATE = "inaccurate"
    COULD_IDENTIFY_REPORTER = "could_identify_reporter"
    DUPLICATE = "duplicate"
    NO_LONGER_RELEVANT = "no_longer_relevant"


ALERT_WITHDRAW_REASONS: Choices = (
    (AlertWithdrawReason.INACCURATE.value, _l("Something in it is wrong")),
    (AlertWithdrawReason.COULD_IDENTIFY_REPORTER.value,
     _l("It could identify the person who reported")),
    (AlertWithdrawReason.DUPLICATE.value, _l("Another alert says the same")),
    (AlertWithdrawReason.NO_LONGER_RELEVANT.value, _l("It is no longer needed")),
)


class AlertUndoReason(StrEnum):
    WITHDRAWN_BY_MISTAKE = "withdrawn_by_mistake"
    STILL_NEEDED = "still_needed"


ALERT_UNDO_REASONS: Choices = (
    (AlertUndoReason.WITHDRAWN_BY_MISTAKE.value, _l("It was withdrawn by mistake")),
    (AlertUndoReason.STILL_NEEDED.value, _l("Members still need it")),
)


class StaffDisableReason(StrEnum):
    LEFT = "left"
    DEVICE_LOST = "device_lost"
    SUSPECTED_MISUSE = "suspected_misuse"
    LEAVE_OF_ABSENCE = "leave_of_absence"


class StaffEnableReason(StrEnum):
    RETURNED = "returned"
    DISABLED_BY_MISTAKE = "disabled_by_mistake"
    CLEARED = "cleared"


class DiscloseReason(StrEnum):
    BASIS_CHECKED = "basis_checked"
    REQUESTER_CHECKED = "requester_checked"
    URGENT_RISK = "urgent_risk"


DISCLOSE_REASONS: Choices = (
    (DiscloseReason.BASIS_CHECKED.value,
     _l("I have checked the legal basis and the second coordinator's approval again")),
    (DiscloseReason.REQUESTER_CHECKED.value,
     _l("I have confirmed who is asking through a contact I already knew")),
    (DiscloseReason.URGENT_RISK.value, _l("There is an urgent risk to someone's safety")),
)
