"""What every coordinator page shows: the key's state and the words for codes."""

from __future__ import annotations

from app.common import choices, identifiers
from app.common.labels import FIELD_LABELS, KIND_LABELS, REPORT_STATUS_LABELS, STATUS_LABELS
from app.coordinator.key_session import unlocked_until


def coordinator_context() -> dict[str, object]:
    return {"unlocked_until": unlocked_until(),
            "kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS,
            "field_labels": FIELD_LABELS, "report_status_labels": REPORT_STATUS_LABELS,
            "category_labels": dict(choices.REPORT_CATEGORIES),
            "area_labels": dict(choices.AREAS), "time_labels": dict(choices.TIMES_OF_DAY),
            "identifier_labels": identifiers.KINDS}
