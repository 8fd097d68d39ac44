"""A link's clicks by the routing rule (or A/B variant) that sent them, for its dashboard page.

The redirect names the rule in the click's ``metadata`` (:data:`tracking.routing.ROUTED_KEY`);
clicks no rule routed went to the link's own destination.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Count, Q
from django.db.models.fields.json import KeyTextTransform

from analytics.queries.common import clicks_in
from analytics.selection import Scope, Selection
from tracking import controls, routing
from tracking.models import UTM_FIELDS, Classification, LinkRule, TrackedLink

DEFAULT_ROUTE = "default"


def clicks_by_rule(tracking_id: str, selection: Selection) -> dict[str, dict[str, int]]:
    """``{rule id or "default": {"clicks": n, "people": n}}`` over the selection's period,
    automated clicks included (``people`` counts the persons among them)."""
    everyone = Selection(selection.period, Scope(tracking_id=tracking_id), include_automated=True)
    rows = (
        clicks_in(everyone)
        .annotate(rule=KeyTextTransform(routing.ROUTED_KEY, "metadata"))
        .values("rule")
        .annotate(
            clicks=Count("click_id"),
            people=Count("click_id", filter=Q(classification=Classification.HUMAN)),
        )
    )
    return {
        str(row["rule"] or DEFAULT_ROUTE): {"clicks": row["clicks"], "people": row["people"]}
        for row in rows
    }


def link_controls_context(link: TrackedLink, selection: Selection) -> dict[str, Any]:
    """The link page's settings and rules, each rule with its clicks in the period."""
    counts = clicks_by_rule(link.tracking_id, selection)
    rows = []
    for rule in LinkRule.objects.filter(link=link).order_by("priority", "id"):
        figures = counts.get(str(rule.pk), {"clicks": 0, "people": 0})
        rows.append(
            {
                **rule.to_dict(),
                "label": str(rule),
                "conditions_text": json.dumps(rule.conditions, sort_keys=True)
                if rule.conditions
                else "—",
                **figures,
            }
        )
    if rows:
        figures = counts.get(DEFAULT_ROUTE, {"clicks": 0, "people": 0})
        rows.append(
            {
                "priority": "—",
                "label": "No rule matched",
                "is_active": True,
                "conditions_text": "—",
                "destination_url": link.original_url,
                "rule_type": "",
                **figures,
            }
        )
    return {
        "rule_rows": rows,
        "utm_tags": [(name, getattr(link, name)) for name in UTM_FIELDS if getattr(link, name)],
        "locked_views": controls.locked_views(link.tracking_id) if link.password_hash else None,
    }
