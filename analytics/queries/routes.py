"""A link's clicks by the routing rule or A/B variant that sent them (``metadata.lt_rule``).

The redirect names the rule in the click's metadata (:data:`tracking.routing.ROUTED_KEY`, a key a
visitor cannot set); clicks no rule routed went to the link's own destination. One row per rule
of the link (inactive ones too, they may have clicks from before), one per rule that was removed
but still has clicks in the period, and one for the clicks no rule matched:

- ``clicks``: every click in the period, automated ones included;
- ``person_clicks``: those made by people (the ``human_clicks`` of the link's other figures);
- ``applications``, ``interviews``, ``interview_rate``, ``small_sample``: the link's application
  counts for a route when a person opened the link through it after the application was sent
  (the outcomes page's person clicks: :data:`analytics.outcomes.PERSON_CLICK`), and it counts as
  an interview when the application reached that stage (:mod:`tracking.stages`), as the
  outcomes page's "opened → interview" rows do. One link has at most one application, so these
  figures add up across the links that share a variant; a rate of fewer than
  :data:`~analytics.outcomes.SMALL_SAMPLE` applications is flagged as a small sample.
"""

from __future__ import annotations

from typing import Any, Final

from django.db.models import Count
from django.db.models.fields.json import KeyTextTransform

from analytics.outcomes import PERSON_CLICK, SMALL_SAMPLE
from analytics.queries.common import clicks_in
from analytics.selection import HUMAN, Scope, Selection
from tracking import routing
from tracking.models import LinkRule, RuleType, TrackedLink
from tracking.stages import INTERVIEW, stages_reached

DEFAULT_ROUTE: Final = "default"


def route_label(rule: LinkRule | None, key: str) -> str:
    """How a route is named in tables and exports."""
    if key == DEFAULT_ROUTE:
        return "No rule matched"
    if rule is None:
        return f"Removed rule {key}"
    if rule.rule_type == RuleType.AB_TEST and not rule.name:
        return f"A/B variant {rule.pk}"
    return str(rule)


def _application_routes(link: TrackedLink, selection: Selection) -> tuple[set[str], bool]:
    """The routes through which a person opened the link after its application was sent, and
    whether that application reached the interview stage."""
    application = link.application
    if application is None:
        return set(), False
    sent = application.submitted_at or application.created_at
    everyone = Selection(
        selection.period, Scope(tracking_id=link.tracking_id), include_automated=True
    )
    routes = {
        str(rule or DEFAULT_ROUTE)
        for rule in clicks_in(everyone)
        .filter(PERSON_CLICK, clicked_at__gte=sent)
        .annotate(rule=KeyTextTransform(routing.ROUTED_KEY, "metadata"))
        .order_by()
        .values_list("rule", flat=True)
        .distinct()
    }
    history = application.status_history.values_list("to_status", "changed_at")
    return routes, stages_reached(list(history))[INTERVIEW] is not None


def clicks_by_route(link: TrackedLink, selection: Selection) -> list[dict[str, Any]]:
    """The link's clicks by rule over the selection's period (see the module docstring); an empty
    list for a link that has no rules and no routed clicks."""
    everyone = Selection(
        selection.period, Scope(tracking_id=link.tracking_id), include_automated=True
    )
    counts = {
        str(row["rule"] or DEFAULT_ROUTE): row
        for row in clicks_in(everyone)
        .annotate(rule=KeyTextTransform(routing.ROUTED_KEY, "metadata"))
        .values("rule")
        .annotate(clicks=Count("click_id"), person_clicks=Count("click_id", filter=HUMAN))
    }
    rules = {str(rule.pk): rule for rule in LinkRule.objects.filter(link=link)}
    if not rules and set(counts) <= {DEFAULT_ROUTE}:
        return []
    opened_through, interview = _application_routes(link, selection)
    keys = [str(rule.pk) for rule in sorted(rules.values(), key=lambda r: (r.priority, r.pk))]
    keys += sorted((k for k in counts if k not in rules and k != DEFAULT_ROUTE), key=_numeric)
    keys.append(DEFAULT_ROUTE)
    rows = []
    for key in keys:
        rule = rules.get(key)
        applications = 1 if key in opened_through else 0
        interviews = applications if interview else 0
        rows.append(
            {
                "rule_id": rule.pk if rule else (int(key) if key.isdigit() else None),
                "rule_type": rule.rule_type if rule else None,
                "name": rule.name if rule else "",
                "rule": route_label(rule, key),
                "priority": rule.priority if rule else None,
                "is_active": rule.is_active if rule else key == DEFAULT_ROUTE,
                "removed": rule is None and key != DEFAULT_ROUTE,
                "conditions": rule.conditions if rule else None,
                "destination_url": rule.destination_url
                if rule
                else (link.original_url if key == DEFAULT_ROUTE else None),
                "weight": rule.weight if rule and rule.rule_type == RuleType.AB_TEST else None,
                "clicks": counts[key]["clicks"] if key in counts else 0,
                "person_clicks": counts[key]["person_clicks"] if key in counts else 0,
                "applications": applications,
                "interviews": interviews,
                "interview_rate": round(interviews / applications, 4) if applications else None,
                "small_sample": applications < SMALL_SAMPLE,
            }
        )
    return rows


def _numeric(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (0, key)
