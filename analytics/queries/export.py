"""The clicks behind a dashboard view, as rows for the CSV export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import F
from django.db.models.fields.json import KeyTextTransform

from analytics.queries.common import UNCLASSIFIED, clicks_in, iso
from analytics.queries.routes import route_label
from analytics.selection import Selection
from tracking import routing
from tracking.models import LinkRule

EXPORT_COLUMNS = [
    "click_id",
    "tracking_id",
    "link_function",
    "job_id",
    "application_id",
    "clicked_at",
    "classification",
    "classification_reasons",
    "click_source",
    "referrer_url",
    "session_id",
    "ip_address",
    "device_type",
    "browser",
    "os",
    "country_code",
    "region",
    "city",
    "network_kind",
    "from_company_network",
    # The routing rule or A/B variant that sent the click (empty: the link's own destination).
    "rule_id",
    "rule",
]


class _RuleLabels:
    """Rule labels by id, each rule read once, when the first of its clicks comes by."""

    def __init__(self) -> None:
        self.labels: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        if key not in self.labels:
            rule = LinkRule.objects.filter(pk=key).first() if key.isdigit() else None
            self.labels[key] = route_label(rule, key)
        return self.labels[key]


def export_rows(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
    tracking_id: str | None = None,
    job_id: Any = None,
    application_id: Any = None,
) -> Iterator[list[Any]]:
    """The clicks behind a view, oldest first, as rows matching :data:`EXPORT_COLUMNS`, for a
    caller holding loose values (as :meth:`~analytics.selection.Selection.of` takes them)."""
    selection = Selection.of(
        start=start,
        end=end,
        include_automated=include_automated,
        tracking_id=tracking_id,
        job_id=job_id,
        application_id=application_id,
    )
    return selection_rows(selection)


def selection_rows(selection: Selection) -> Iterator[list[Any]]:
    """:func:`export_rows` for a selection (the dashboard's CSV export passes its filters')."""
    clicks = clicks_in(selection).order_by("clicked_at", "click_id")
    values: Iterable[Any] = clicks.values(
        "click_id",
        "tracking_id",
        "clicked_at",
        "classification",
        "classification_reasons",
        "click_source",
        "referrer_url",
        "session_id",
        "ip_address",
        "device_type",
        "browser",
        "os",
        "country_code",
        "region",
        "city",
        "network_kind",
        "from_company_network",
        rule_id=KeyTextTransform(routing.ROUTED_KEY, "metadata"),
        link_function=F("tracking__link_function"),
        job_id=F("tracking__job_id"),
        application_id=F("tracking__application_id"),
    ).iterator(chunk_size=2000)
    labels = _RuleLabels()
    for row in values:
        row["rule"] = labels[row["rule_id"]] if row["rule_id"] else None
        row["clicked_at"] = iso(row["clicked_at"])
        # As every figure names it: a click not judged yet (people-only exports leave it out).
        row["classification"] = row["classification"] or UNCLASSIFIED
        row["classification_reasons"] = "; ".join(row["classification_reasons"] or [])
        yield ["" if row[col] is None else str(row[col]) for col in EXPORT_COLUMNS]
