"""Words for the codes in disclosure-log entries."""

from flask_babel import lazy_gettext as _l

from ..unseal import LEGAL_BASES, PURPOSES
from .browse import UNREADABLE_EVENT, UNSEAL_EVENT

PURPOSE_LABELS = {"vetting": _l("Vetting an application"),
                  "report_review": _l("Reviewing a report"),
                  "alert_delivery": _l("Delivering an alert"),
                  "disclosure": _l("Disclosure")}
LEGAL_BASIS_LABELS = {"consent": _l("The member's consent"),
                      "child_protection": _l("Child protection"),
                      "preventing_crime": _l("Preventing a crime"),
                      "risk_to_life": _l("Severe risk to life"),
                      "terrorism": _l("Terrorism"),
                      "court_order": _l("Court order")}
EVENT_LABELS = {UNSEAL_EVENT: _l("Sealed fields opened"),
                "vetting_key_unlocked": _l("Vetting key unlocked"),
                UNREADABLE_EVENT: _l("Unreadable (damaged) entry")}

assert set(PURPOSE_LABELS) == PURPOSES and set(LEGAL_BASIS_LABELS) == LEGAL_BASES
