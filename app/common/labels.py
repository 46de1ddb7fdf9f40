"""Words for codes shown on coordinators' pages."""

from flask_babel import lazy_gettext as _l

KIND_LABELS = {"individual": _l("Individual"), "project": _l("Project"),
               "site": _l("Site or establishment")}
STATUS_LABELS = {"pending": _l("Waiting"), "info_requested": _l("More information asked"),
                 "active": _l("Member"), "rejected": _l("Rejected"), "left": _l("Left"),
                 "revoked": _l("Revoked")}
FIELD_LABELS = {"work_name": _l("Work name"), "real_name": _l("Real name"),
                "org_name": _l("Organisation"), "org_website": _l("Official website"),
                "key_contact": _l("Key contact"), "org_description": _l("Work with sex workers"),
                "email": _l("Email"), "mobile": _l("Mobile"), "org_email": _l("Official email")}
REPORT_STATUS_LABELS = {"received": _l("Received"), "under_review": _l("Under review"),
                        "alert_published": _l("Alert published"), "closed": _l("Closed")}
SUPPORT_STATUS_LABELS = {"new": _l("New"), "contacted": _l("Contacted"), "closed": _l("Closed")}
ALERT_STATUS_LABELS = {"draft": _l("Draft"), "published": _l("Published"),
                       "withdrawn": _l("Withdrawn")}
