"""Routing rules of a link (``link_rules``): checked on write, replaced as a set.

The conditions each rule type takes are documented in :mod:`tracking.routing`; a rule's
destination passes the same checks as a link's. The link's cache entry is dropped after every
change, so the redirect picks the new rules up with the link (no query per redirect).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tracking import routing
from tracking.models import LinkRule, RuleType
from tracking.services.errors import ValidationFailed
from tracking.services.links import get_link, invalidate_cached_link
from tracking.services.validation import clean_text, validate_destination_url

RULES_MAX = 50
WEIGHT_MAX = 10_000
RULE_NAME_MAX = 50


def clean_rule(data: dict[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """One rule's fields, validated; errors name the field as ``{prefix}conditions.<key>`` etc."""
    rule_type = data.get("rule_type")
    if rule_type not in RuleType.values:
        raise ValidationFailed(
            f"rule_type must be one of {', '.join(RuleType.values)}.", field=f"{prefix}rule_type"
        )
    conditions = data.get("conditions") or {}
    try:
        routing.parse_conditions(rule_type, conditions)
    except routing.ConditionError as exc:
        field = "conditions" if exc.key == "conditions" else f"conditions.{exc.key}"
        raise ValidationFailed(exc.message, field=f"{prefix}{field}") from None
    weight = data.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= WEIGHT_MAX:
        raise ValidationFailed(
            f"weight must be a whole number from 0 to {WEIGHT_MAX}.", field=f"{prefix}weight"
        )
    priority = data.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ValidationFailed("priority must be a whole number.", field=f"{prefix}priority")
    is_active = data.get("is_active", True)
    if not isinstance(is_active, bool):
        raise ValidationFailed("is_active must be true or false.", field=f"{prefix}is_active")
    return {
        "rule_type": rule_type,
        "name": clean_text(data.get("name") or "", field=f"{prefix}name", max_length=RULE_NAME_MAX)
        or "",
        "priority": priority,
        "is_active": is_active,
        "conditions": conditions,
        "destination_url": validate_destination_url(
            data.get("destination_url"), field=f"{prefix}destination_url"
        ),
        "weight": weight,
    }


def rule_warnings(rules: list[LinkRule]) -> list[str]:
    """What the redirect will not do with these rules, in words for the person who wrote them."""
    warnings = []
    geolocated = routing.geolocation_configured()
    for rule in rules:
        if rule.is_active and rule.rule_type == RuleType.COUNTRY and not geolocated:
            warnings.append(
                f"Rule {rule.pk} ({rule}) is ignored: country rules need geolocation "
                "(GEOIP_CITY_PATH, a city or country database), which is not configured."
            )
    if any(r.is_active and r.rule_type == RuleType.AB_TEST for r in rules) and not any(
        r.is_active and r.rule_type == RuleType.AB_TEST and r.weight > 0 for r in rules
    ):
        warnings.append("Every A/B variant has weight 0: the split sends nobody anywhere.")
    return warnings


def link_rules(*, tracking_id: str) -> list[LinkRule]:
    link = get_link(tracking_id=tracking_id)
    return list(LinkRule.objects.filter(link=link).order_by("priority", "id"))


def replace_link_rules(*, tracking_id: str, rules: list[dict[str, Any]]) -> list[LinkRule]:
    """Make ``rules`` the link's routing rules (all of them validated before any is written).

    A rule given with the ``id`` of one of the link's rules changes that rule in place, so it
    keeps its id and the clicks it routed stay counted under it in the link's analytics; the
    link's other rules are deleted (their clicks then show as a removed rule's) and rules without
    such an id are created.
    """
    if not isinstance(rules, list) or len(rules) > RULES_MAX:
        raise ValidationFailed(f"rules must be a list of at most {RULES_MAX} rules.", field="rules")
    cleaned = [clean_rule(rule, prefix=f"rules[{index}].") for index, rule in enumerate(rules)]
    wanted = [_rule_id(rule) for rule in rules]
    with transaction.atomic():
        link = get_link(tracking_id=tracking_id)
        existing = {rule.pk: rule for rule in LinkRule.objects.filter(link=link)}
        kept = [rule_id for rule_id in wanted if rule_id in existing]
        LinkRule.objects.filter(link=link).exclude(pk__in=kept).delete()
        saved = []
        for rule_id, fields in zip(wanted, cleaned, strict=True):
            rule = existing.pop(rule_id, None) if rule_id is not None else None
            if rule is None:
                rule = LinkRule.objects.create(link=link, **fields)
            else:
                for name, value in fields.items():
                    setattr(rule, name, value)
                rule.save(update_fields=list(fields))
            saved.append(rule)
        invalidate_cached_link(tracking_id)
    return saved


def _rule_id(rule: Any) -> int | None:
    value = rule.get("id") if isinstance(rule, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
