"""The fixed lists of disclosures. Only these codes are stored in clear: everything typed
(who asked, their reference, the justification, notes) is sealed to the vetting key.

An authority is chosen from a list, rather than typed, so the member's notice can say
who the information went to without the database holding free text about the request.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.disclosures.records import ContactStatus, RequestStatus
from app.vault.sealing import SEALED_PLACES

OTHER_AUTHORITY = "other"

# The territorial police forces of the UK and Ireland, national bodies, and other
# authorities that can make a legally binding request.
AUTHORITIES: tuple[tuple[str, object], ...] = (
    ("met", _l("Metropolitan Police Service")),
    ("city_of_london", _l("City of London Police")),
    ("avon_somerset", _l("Avon and Somerset Police")),
    ("bedfordshire", _l("Bedfordshire Police")),
    ("cambridgeshire", _l("Cambridgeshire Constabulary")),
    ("cheshire", _l("Cheshire Constabulary")),
    ("cleveland", _l("Cleveland Police")),
    ("cumbria", _l("Cumbria Constabulary")),
    ("derbyshire", _l("Derbyshire Constabulary")),
    ("devon_cornwall", _l("Devon and Cornwall Police")),
    ("dorset", _l("Dorset Police")),
    ("durham", _l("Durham Constabulary")),
    ("dyfed_powys", _l("Dyfed-Powys Police")),
    ("essex", _l("Essex Police")),
    ("gloucestershire", _l("Gloucestershire Constabulary")),
    ("greater_manchester", _l("Greater Manchester Police")),
    ("gwent", _l("Gwent Police")),
    ("hampshire", _l("Hampshire and Isle of Wight Constabulary")),
    ("hertfordshire", _l("Hertfordshire Constabulary")),
    ("humberside", _l("Humberside Police")),
    ("kent", _l("Kent Police")),
    ("lancashire", _l("Lancashire Constabulary")),
    ("leicestershire", _l("Leicestershire Police")),
    ("lincolnshire", _l("Lincolnshire Police")),
    ("merseyside", _l("Merseyside Police")),
    ("norfolk", _l("Norfolk Constabulary")),
    ("north_wales", _l("North Wales Police")),
    ("north_yorkshire", _l("North Yorkshire Police")),
    ("northamptonshire", _l("Northamptonshire Police")),
    ("northumbria", _l("Northumbria Police")),
    ("nottinghamshire", _l("Nottinghamshire Police")),
    ("south_wales", _l("South Wales Police")),
    ("south_yorkshire", _l("South Yorkshire Police")),
    ("staffordshire", _l("Staffordshire Police")),
    ("suffolk", _l("Suffolk Constabulary")),
    ("surrey", _l("Surrey Police")),
    ("sussex", _l("Sussex Police")),
    ("thames_valley", _l("Thames Valley Police")),
    ("warwickshire", _l("Warwickshire Police")),
    ("west_mercia", _l("West Mercia Police")),
    ("west_midlands", _l("West Midlands Police")),
    ("west_yorkshire", _l("West Yorkshire Police")),
    ("wiltshire", _l("Wiltshire Police")),
    ("scotland", _l("Police Scotland")),
    ("psni", _l("Police Service of Northern Ireland")),
    ("btp", _l("British Transport Police")),
    ("nca", _l("National Crime Agency")),
    ("garda", _l("An Garda Síochána")),
    ("local_authority", _l("A local authority's children's or adult social services")),
    ("court", _l("A court")),
    (OTHER_AUTHORITY, _l("Another public authority (named in the sealed details)")),
)
AUTHORITY_LABELS = dict(AUTHORITIES)

LEGAL_BASES: tuple[tuple[str, object], ...] = (
    ("consent", _l("The member's consent")),
    ("child_protection", _l("Child protection")),
    ("preventing_crime", _l("Preventing a crime")),
    ("risk_to_life", _l("Risk of harm so severe that not sharing would endanger lives")),
    ("terrorism", _l("Terrorism")),
    ("court_order", _l("A court order")),
)
LEGAL_BASIS_LABELS = dict(LEGAL_BASES)

# Why the member cannot be told at once. Consent never needs a delay.
DELAY_REASONS: tuple[tuple[str, object], ...] = (
    ("prejudice_investigation", _l("Telling the member now would prejudice the prevention "
                                   "or detection of a crime")),
    ("child_at_risk", _l("Telling the member now would put a child at risk")),
    ("life_at_risk", _l("Telling the member now would put someone's life at risk")),
    ("court_order_forbids", _l("A court order forbids telling the member for now")),
    ("tipping_off", _l("Telling the member now could be tipping off (terrorism)")),
)
DELAY_REASON_LABELS = dict(DELAY_REASONS)

REFUSAL_REASONS: tuple[tuple[str, object], ...] = (
    ("no_legal_basis", _l("No legal basis that the scheme's promises allow")),
    ("not_binding", _l("Not made by legally binding means")),
    ("not_necessary", _l("Not necessary, or not proportionate")),
    ("too_broad", _l("Asks for more than is needed")),
    ("unverified", _l("The requester could not be verified")),
    ("no_consent", _l("The member did not consent, or withdrew consent")),
    ("withdrawn", _l("Withdrawn by the requester")),
    ("other", _l("Another reason (in the sealed note)")),
)
REFUSAL_REASON_LABELS = dict(REFUSAL_REASONS)

# What the police want when they ask the scheme to put them in touch with a member.
CONTACT_REASONS: tuple[tuple[str, object], ...] = (
    ("discuss_report", _l("talk to you about the incident you reported")),
    ("statement", _l("ask whether you would be willing to make a statement")),
    ("identify", _l("ask whether you could help identify the person responsible")),
    ("update", _l("tell you how an investigation is going")),
)
CONTACT_REASON_LABELS = dict(CONTACT_REASONS)

SUBJECT_TABLES: tuple[tuple[str, object], ...] = (
    ("members", _l("A member (membership details)")),
    ("reports", _l("Reports (what was reported)")),
)

# "column.field" -> label, per table, in the order a form shows them.
FIELDS: dict[str, tuple[tuple[str, object], ...]] = {
    "members": (
        ("identity.work_name", _l("Work name")),
        ("identity.real_name", _l("Real name (if given)")),
        ("contact.email", _l("Email address")),
        ("contact.mobile", _l("Mobile number")),
        ("identity.org_name", _l("Organisation name")),
        ("identity.key_contact", _l("Organisation's key contact")),
        ("contact.org_email", _l("Organisation's official email")),
        ("identity.org_website", _l("Organisation's website")),
        ("identity.org_description", _l("Organisation's description of its work")),
    ),
    "reports": (
        ("offender.identifiers", _l("Offender's identifiers (phone, email, plate...)")),
        ("offender.description", _l("Offender's description")),
        ("narrative.narrative", _l("What happened, as the reporter wrote it")),
        ("narrative.place", _l("Where it happened, as the reporter wrote it")),
    ),
}
FIELD_LABELS = {code: label for pairs in FIELDS.values() for code, label in pairs}
# A member can agree to have the police given these, to contact them (the intermediary).
# An organisation's answer passes on how to reach the organisation, which relays to its
# service user: never the service user's own details, which the scheme does not hold.
CONTACT_FIELDS: tuple[tuple[str, object], ...] = tuple(
    pair for pair in FIELDS["members"]
    if pair[0] in {"identity.work_name", "identity.real_name", "contact.email",
                   "contact.mobile", "identity.org_name", "identity.key_contact",
                   "contact.org_email"})

for _table, _pairs in FIELDS.items():
    _wanted: dict[str, set[str]] = {}
    for _code, _label in _pairs:
        _column, _name = _code.split(".")
        _wanted.setdefault(_column, set()).add(_name)
    for _column, _names in _wanted.items():
        assert _names == set(SEALED_PLACES[(_table, _column)]), (_table, _column)

REQUEST_STATUS_LABELS = {RequestStatus.PENDING: _l("Waiting for a second coordinator"),
                         RequestStatus.APPROVED: _l("Approved, not yet disclosed"),
                         RequestStatus.REFUSED: _l("Refused"),
                         RequestStatus.DISCLOSED: _l("Disclosed")}
CONTACT_STATUS_LABELS = {ContactStatus.ASKED: _l("Waiting for the member's answer"),
                         ContactStatus.ACCEPTED: _l("The member said yes"),
                         ContactStatus.DECLINED: _l("The member said no"),
                         ContactStatus.SHARED: _l("Shared with the member's consent")}
assert set(REQUEST_STATUS_LABELS) == set(RequestStatus)
assert set(CONTACT_STATUS_LABELS) == set(ContactStatus)


def code_set(pairs: tuple[tuple[str, object], ...]) -> frozenset[str]:
    return frozenset(code for code, _label in pairs)


def parse_fields(codes_chosen: list[str] | tuple[str, ...]) -> dict[str, list[str]]:
    """["identity.work_name", ...] -> {"identity": ["work_name"], ...} (sorted)."""
    fields: dict[str, list[str]] = {}
    for code in sorted(set(codes_chosen)):
        column, name = code.split(".", 1)
        fields.setdefault(column, []).append(name)
    return fields


_ORDER = {code: i for i, code in enumerate(FIELD_LABELS)}


def field_codes(fields: dict[str, list[str]]) -> list[str]:
    """The "column.field" codes, in the order the forms list them."""
    return sorted((f"{column}.{name}" for column, names in fields.items() for name in names),
                  key=lambda code: (_ORDER.get(code, len(_ORDER)), code))


def page_labels() -> dict[str, object]:
    """Words for every code a disclosure or message page shows."""
    return {"authority_labels": AUTHORITY_LABELS,
            "basis_labels": LEGAL_BASIS_LABELS,
            "delay_labels": DELAY_REASON_LABELS,
            "refusal_labels": REFUSAL_REASON_LABELS,
            "contact_reason_labels": CONTACT_REASON_LABELS,
            "disclosure_field_labels": FIELD_LABELS,
            "request_status_labels": REQUEST_STATUS_LABELS,
            "contact_status_labels": CONTACT_STATUS_LABELS}
