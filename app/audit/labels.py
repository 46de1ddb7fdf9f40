"""Words for the codes in disclosure-log entries."""

from flask_babel import lazy_gettext as _l

from app.audit.browse import UNREADABLE_EVENT, UNSEAL_EVENT
from app.vault.unseal import LEGAL_BASES, PURPOSES

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
                "deliver_alert": _l("Alert notices sent"),
                "deliver_approval": _l("Approval notices sent"),
                "deliver_reset": _l("Password reset codes sent"),
                "deliver_disclosure": _l("Disclosure notices sent"),
                "deliver_message": _l("Message notices sent"),
                "disclosure_requested": _l("Disclosure requested"),
                "disclosure_approved": _l("Disclosure approved (second coordinator)"),
                "disclosure_refused": _l("Disclosure refused"),
                "notice_delay_extended": _l("Member's notice delayed further"),
                "member_notified": _l("Member told of a disclosure"),
                "police_export": _l("Export to police intelligence"),
                "contact_request_sent": _l("Police contact request passed to a member"),
                "contact_request_answered": _l("Member answered a contact request"),
                "key_holder_added": _l("Key holder added"),
                "key_holder_bound": _l("Key holder bound to a coordinator's login"),
                "key_holder_removed": _l("Key holder removed"),
                "vetting_key_registered": _l("Shared vetting key registered for holders"),
                "vetting_rotation_started": _l("Vetting key rotation started"),
                "vetting_rotation_finished": _l("Vetting key rotation finished"),
                UNREADABLE_EVENT: _l("Unreadable (damaged) entry")}

assert set(PURPOSE_LABELS) == PURPOSES and set(LEGAL_BASIS_LABELS) == LEGAL_BASES
