"""Outcome stages: what an application's statuses mean for the job seeker.

The seed's statuses (pending, submitted, reviewing, interviewed, rejected, offered, withdrawn) stay
as they are; ``OUTCOME_STAGE_MAP`` says which of them mean which stage. The stages are ordered and a
later one implies the earlier ones: an application moved straight from submitted to interviewed
has also been responded to, at the same moment. The first time each stage was reached comes from
the application's status history, so a back-dated change counts from when it happened.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tracking.models import ApplicationStatus

SUBMITTED, RESPONDED, INTERVIEW, OFFER = "submitted", "responded", "interview", "offer"
STAGES: Final = (SUBMITTED, RESPONDED, INTERVIEW, OFFER)


def stage_of_status() -> dict[str, int]:
    """``{status: index in STAGES}`` from ``OUTCOME_STAGE_MAP``; statuses not named reach none."""
    mapping: dict[str, int] = {}
    for pair in settings.OUTCOME_STAGE_MAP:
        status, _, stage = (part.strip() for part in pair.partition(":"))
        if status not in ApplicationStatus.values or stage not in STAGES:
            raise ImproperlyConfigured(
                f"OUTCOME_STAGE_MAP: {pair!r} is not status:stage with a status among "
                f"{', '.join(ApplicationStatus.values)} and a stage among {', '.join(STAGES)}"
            )
        mapping[status] = STAGES.index(stage)
    return mapping


def stages_reached(
    changes: Iterable[tuple[str, dt.datetime]], mapping: dict[str, int] | None = None
) -> dict[str, dt.datetime | None]:
    """The first time each stage was reached, from ``(to_status, changed_at)`` pairs.

    ``None`` for a stage never reached. Reaching a stage reaches the ones before it that were not
    reached yet, at the same moment.
    """
    mapping = stage_of_status() if mapping is None else mapping
    reached: dict[str, dt.datetime | None] = dict.fromkeys(STAGES)
    for status, changed_at in sorted(changes, key=lambda change: change[1]):
        top = mapping.get(status)
        if top is None:
            continue
        for stage in STAGES[: top + 1]:
            if reached[stage] is None:
                reached[stage] = changed_at
    return reached
