"""What every coordinator page shows: the key's state and the words for codes."""

from __future__ import annotations

from app.common import choices, identifiers
from app.common.labels import FIELD_LABELS, KIND_LABELS, REPORT_STATUS_LABELS, STATUS_LABELS
from app.coordinator.key_session import unlocked_until
from app.vault.holders import removal_awaiting_rotation
from app.web.state import get_db


def coordinator_context() -> dict[str, object]:
    removed = removal_awaiting_rotation(get_db())
    return {"unlocked_until": unlocked_until(),
            # A removed holder may have kept what their key opened: say so until the
            # vetting key has been rotated after it.
            "holder_removed_on": removed[:10] if removed else None,
            "kind_labels": KIND_LABELS, "status_labels": STATUS_LABELS,
            "field_labels": FIELD_LABELS, "report_status_labels": REPORT_STATUS_LABELS,
            "category_labels": dict(choices.REPORT_CATEGORIES),
            "area_labels": dict(choices.AREAS), "time_labels": dict(choices.TIMES_OF_DAY),
            "identifier_labels": identifiers.KINDS}
