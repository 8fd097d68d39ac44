"""A link's settings and routing rules for its dashboard page, each rule with its clicks.

The figures per rule come with the link's analytics (:func:`analytics.queries.routes.clicks_by_route`,
the ``by_rule`` rows); this adds what the page shows beside them.
"""

from __future__ import annotations

import json
from typing import Any

from tracking import controls
from tracking.models import UTM_FIELDS, TrackedLink


def link_controls_context(link: TrackedLink, by_rule: list[dict[str, Any]]) -> dict[str, Any]:
    """The link page's settings, and its rules (``by_rule`` rows) with their conditions as text."""
    rows = [
        {
            **row,
            "conditions_text": json.dumps(row["conditions"], sort_keys=True)
            if row["conditions"]
            else "—",
        }
        for row in by_rule
    ]
    return {
        "rule_rows": rows,
        "utm_tags": [(name, getattr(link, name)) for name in UTM_FIELDS if getattr(link, name)],
        "locked_views": controls.locked_views(link.tracking_id) if link.password_hash else None,
    }
