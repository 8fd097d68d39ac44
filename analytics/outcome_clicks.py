"""The person clicks an outcome summary batch reads, copied once from ``link_clicks``.

Summarising a batch of applications again (:func:`analytics.outcome_summaries.refresh`) reads
their person clicks after the sending seven times: their click days
(:func:`analytics.outcome_click_days.record`), each one's first click, the link functions,
sources and links people opened, the A/B variants and the touches before a credited stage
(:func:`analytics.attribution.read_person_clicks`). The applications' clicks lie all over
``link_clicks`` (each link's among every other link's of the same days), so PostgreSQL reads each
of the seven from the whole table: at 10,000,000 clicks, ~30 s to summarise 947 applications
again. Here the batch's clicks are found once, into a temporary table
(:class:`analytics.models.OutcomeClick`) that the seven reads read instead; each reads the same
clicks (one snapshot, where seven statements could each see another).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from django.db.models import QuerySet

from analytics import temptables
from analytics.attribution import person_clicks_after_sending
from analytics.models import OutcomeClick

COPIED = ("click_id", "tracking_id", "clicked_at", "click_source", "metadata")


@contextlib.contextmanager
def copied(application_ids: Sequence[uuid.UUID]) -> Iterator[QuerySet[Any]]:
    """The person clicks after the sending of these applications, copied once; yields them as a
    queryset with the fields of ``link_clicks`` the summaries read (``click_id``, ``tracking``,
    ``clicked_at``, ``click_source``, ``metadata``).

    The copy lives for the block (:func:`analytics.temptables.filled`).
    """
    source: Any = person_clicks_after_sending(list(application_ids)).order_by().values(*COPIED)
    with temptables.filled(OutcomeClick, source) as clicks:
        yield clicks
