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
                "staff_created": _l("Staff login created"),
                "staff_labelled": _l("Staff login's display name set"),
                "staff_disabled": _l("Staff login disabled"),
                "staff_enabled": _l("Staff login enabled again"),
                "staff_two_step_reset": _l("Staff login's two-step secret replaced"),
                "staff_password_reset": _l("Staff login's password reset"),
                "member_two_step_reset": _l("Member's two-step sign-in reset by a coordinator"),
                "member_reset_code_sent": _l("Member sent a password reset code by a "
                                             "coordinator"),
                "application_approved": _l("Application approved"),
                "application_rejected": _l("Application rejected"),
                "information_requested": _l("More information asked of an applicant"),
                "information_answered": _l("Applicant answered a question"),
                "membership_revoked": _l("Membership revoked"),
                "leave_recorded": _l("Membership ended by leaving"),
                "report_marked_malicious": _l("Report marked malicious or false"),
                "report_marked_malicious_undone": _l("Malicious mark taken off a report"),
                "alert_published": _l("Alert published"),
                "alert_edited": _l("Published alert edited"),
                "alert_withdrawn": _l("Alert withdrawn"),
                "alert_withdrawal_undone": _l("Alert published again after a withdrawal"),
                "key_holder_added": _l("Key holder added"),
                "key_holder_bound": _l("Key holder bound to a coordinator's login"),
                "key_holder_removed": _l("Key holder removed"),
                "vetting_key_registered": _l("Shared vetting key registered for holders"),
                "vetting_rotation_started": _l("Vetting key rotation started"),
                "vetting_rotation_finished": _l("Vetting key rotation finished"),
                "delivery_rotation_started": _l("Delivery key rotation started"),
                "delivery_rotation_finished": _l("Delivery key rotation finished"),
                "audit_key_rotated": _l("Audit signing key rotated"),
                "database_key_rotated": _l("Database key rotated"),
                "contact_index_key_created": _l("New key for duplicate checks made"),
                "support_status_changed": _l("Support request's status changed"),
                "support_note_saved": _l("Note on a support request saved (sealed)"),
                "support_member_messaged": _l("Reporter written to about the support they "
                                              "asked for"),
                "support_answered": _l("Reporter answered about their support (sealed)"),
                UNREADABLE_EVENT: _l("Unreadable (damaged) entry")}

assert set(PURPOSE_LABELS) == PURPOSES and set(LEGAL_BASIS_LABELS) == LEGAL_BASES
