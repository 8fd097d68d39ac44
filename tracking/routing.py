"""Routing rules of a link: their conditions, checked on write and compiled for the redirect.

A link's active rules are compiled once, when the link is loaded into the link cache
(:mod:`tracking.linkcache`), into :class:`CompiledRule` tuples sorted by priority; the redirect then
picks a destination (:func:`choose`) without any query. The first rule by priority whose
conditions match wins; ``ab_test`` rules of a link form one split, entered where its first rule
stands, and a visitor's session is assigned to one variant by weight with a stable hash, so one
recruiter keeps seeing one version. Without a session (Do Not Track) the assignment is random.

Condition shapes, one per rule type (``conditions`` JSON of ``link_rules``):

- ``device``: ``{"device_types": ["mobile", "tablet", "desktop"]}``
- ``os``: ``{"os": ["ios", "android", "windows", "macos", "linux", "chromeos"]}``
- ``country``: ``{"countries": ["DE", "FR"]}`` (ISO 3166 alpha-2): the country of the visitor's
  address in the configured city or country database (:mod:`tracking.geo`). Without one the
  rule is ignored, with a warning, when the link is loaded; the address is looked up only when a
  country rule is reached (lookups are cached per address).
- ``time``: any of ``{"weekdays": [0..6]}`` (Monday is 0), ``{"hours": {"start": "09:00",
  "end": "17:30"}}`` (end exclusive; an end before the start spans midnight), ``{"from":
  "2026-01-01", "until": "2026-01-31"}`` (inclusive days), all in ``TIME_ZONE``.
- ``referrer``: ``{"sources": ["email", "linkedin", …]}`` (the click source: ``?src=`` or the
  referrer's, see :func:`tracking.services.detect_click_source`).
- ``ab_test``: ``{}``; the rule's ``weight`` is the variant's share.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from django.conf import settings

from tracking import geo
from tracking.classify import parse_agent

logger = logging.getLogger(__name__)

DEVICE_TYPES: Final = ("mobile", "tablet", "desktop")
# ua-parser's OS families by the names rules use.
OS_FAMILIES: Final = {
    "ios": {"iOS", "iPadOS"},
    "android": {"Android"},
    "windows": {"Windows"},
    "macos": {"Mac OS X", "macOS"},
    "linux": {"Linux", "Ubuntu", "Fedora", "Debian"},
    "chromeos": {"Chrome OS", "ChromeOS"},
}
# The metadata key a routed click carries: the id of the rule that sent it (never from the query).
ROUTED_KEY: Final = "lt_rule"
MAX_LIST: Final = 50


class ConditionError(ValueError):
    """A rule's conditions are not valid; ``key`` names the bad condition."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule_id: int
    rule_type: str
    name: str
    destination: str
    weight: int
    values: frozenset[str] = frozenset()  # device types, OS names, countries or sources
    weekdays: frozenset[int] = frozenset()
    start_minute: int | None = None
    end_minute: int | None = None
    first_day: dt.date | None = None
    last_day: dt.date | None = None


def add_utm(url: str, utm: dict[str, str]) -> str:
    """``url`` with the link's UTM tags appended to its query.

    Parameters the destination already has are kept as they are and never duplicated: a tag the
    URL already carries (its own ``utm_source``, say) wins over the link's.
    """
    if not utm:
        return url
    parts = urlsplit(url)
    present = {key for key, _value in parse_qsl(parts.query, keep_blank_values=True)}
    extra = [(key, value) for key, value in utm.items() if key not in present]
    if not extra:
        return url
    query = f"{parts.query}&{urlencode(extra)}" if parts.query else urlencode(extra)
    return urlunsplit(parts._replace(query=query))


# --- Checking conditions ----------------------------------------------------------------------


def _strings(conditions: dict[str, Any], key: str, allowed: tuple[str, ...] | None) -> list[str]:
    values = conditions.get(key)
    if not isinstance(values, list) or not values or len(values) > MAX_LIST:
        raise ConditionError(key, f"{key} must be a list of 1 to {MAX_LIST} values.")
    for value in values:
        if not isinstance(value, str) or (allowed is not None and value not in allowed):
            choices = f" (one of {', '.join(allowed)})" if allowed else ""
            raise ConditionError(key, f"{key} has an unknown value {value!r}{choices}.")
    return values


def _minute(value: Any, key: str) -> int:
    try:
        clock = dt.time.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        clock = None
    if clock is None:
        raise ConditionError(key, f"{key} must be a time of day such as '09:00'.")
    return clock.hour * 60 + clock.minute


def _day(value: Any, key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else _bad_day(key)
    except ValueError:
        return _bad_day(key)


def _bad_day(key: str) -> dt.date:
    raise ConditionError(key, f"{key} must be a date such as '2026-01-31'.")


_KEYS: Final = {
    "device": {"device_types"},
    "os": {"os"},
    "country": {"countries"},
    "time": {"weekdays", "hours", "from", "until"},
    "referrer": {"sources"},
    "ab_test": set(),
}


def parse_conditions(rule_type: str, conditions: Any) -> dict[str, Any]:
    """The :class:`CompiledRule` fields ``conditions`` stand for; :class:`ConditionError` when
    they are invalid (an unknown key, a wrong value, a time rule without any condition)."""
    if rule_type not in _KEYS:
        raise ConditionError("rule_type", f"rule_type must be one of {', '.join(_KEYS)}.")
    if conditions is None:
        conditions = {}
    if not isinstance(conditions, dict):
        raise ConditionError("conditions", "conditions must be a JSON object.")
    for key in conditions:
        if key not in _KEYS[rule_type]:
            raise ConditionError(str(key), f"{key} is not a condition of {rule_type} rules.")
    if rule_type == "device":
        return {"values": frozenset(_strings(conditions, "device_types", DEVICE_TYPES))}
    if rule_type == "os":
        return {"values": frozenset(_strings(conditions, "os", tuple(OS_FAMILIES)))}
    if rule_type == "country":
        countries = _strings(conditions, "countries", None)
        if any(len(c) != 2 or not c.isalpha() for c in countries):
            raise ConditionError("countries", "countries must be two-letter ISO codes.")
        return {"values": frozenset(c.upper() for c in countries)}
    if rule_type == "referrer":
        sources = _strings(conditions, "sources", None)
        return {"values": frozenset(s.lower() for s in sources)}
    if rule_type == "time":
        return _time_fields(conditions)
    return {}


def _time_fields(conditions: dict[str, Any]) -> dict[str, Any]:
    if not conditions:
        raise ConditionError("conditions", "a time rule needs weekdays, hours or from/until.")
    fields: dict[str, Any] = {}
    if "weekdays" in conditions:
        days = conditions["weekdays"]
        if (
            not isinstance(days, list)
            or not days
            or any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days)
        ):
            raise ConditionError("weekdays", "weekdays must be a list of 0 (Monday) to 6.")
        fields["weekdays"] = frozenset(days)
    if "hours" in conditions:
        hours = conditions["hours"]
        if not isinstance(hours, dict) or set(hours) != {"start", "end"}:
            raise ConditionError("hours", "hours must be {'start': 'HH:MM', 'end': 'HH:MM'}.")
        fields["start_minute"] = _minute(hours["start"], "hours.start")
        fields["end_minute"] = _minute(hours["end"], "hours.end")
        if fields["start_minute"] == fields["end_minute"]:
            raise ConditionError("hours", "hours must not start and end at the same time.")
    if "from" in conditions:
        fields["first_day"] = _day(conditions["from"], "from")
    if "until" in conditions:
        fields["last_day"] = _day(conditions["until"], "until")
    if (
        fields.get("first_day")
        and fields.get("last_day")
        and fields["first_day"] > fields["last_day"]
    ):
        raise ConditionError("until", "until must not be before from.")
    return fields


def compile_rule(
    *, rule_id: int, rule_type: str, name: str, conditions: Any, destination: str, weight: int
) -> CompiledRule | None:
    """A stored rule for the redirect, or None when it can never match (logged)."""
    try:
        fields = parse_conditions(rule_type, conditions)
    except ConditionError as exc:  # written around the service layer
        logger.error("routing rule %s is invalid and ignored: %s", rule_id, exc.message)
        return None
    if rule_type == "country" and not geolocation_configured():
        logger.warning("routing rule %s is ignored: no country database is configured", rule_id)
        return None
    if rule_type == "ab_test" and weight <= 0:
        return None
    return CompiledRule(
        rule_id=rule_id,
        rule_type=rule_type,
        name=name,
        destination=destination,
        weight=weight,
        **fields,
    )


def geolocation_configured() -> bool:
    """Whether a city or country database is configured (``GEOIP_CITY_PATH``, or the demo's)."""
    return geo.configured_paths()[0] is not None


# --- Choosing a destination -------------------------------------------------------------------


@dataclass(slots=True)
class Visitor:
    """What rules look at, from the captured request; the user agent is parsed only if asked."""

    user_agent: str | None
    click_source: str | None
    session_id: str | None
    client_ip: str | None = None
    _device: tuple[str | None, str | None] | None = None
    _country: str | None = None
    _located: bool = False

    def device(self) -> tuple[str | None, str | None]:
        """(device type, OS family) of the user agent."""
        if self._device is None:
            info = parse_agent(self.user_agent) if self.user_agent else None
            self._device = (info.device_type, info.os) if info else (None, None)
        return self._device

    def country(self) -> str | None:
        """The client address's country (ISO alpha-2), looked up on first use only."""
        if not self._located:
            self._country = geo.locate(self.client_ip).country_code
            self._located = True
        return self._country


def _local_now() -> dt.datetime:
    return dt.datetime.now(ZoneInfo(settings.TIME_ZONE))


def _time_matches(rule: CompiledRule, now: dt.datetime) -> bool:
    if rule.weekdays and now.weekday() not in rule.weekdays:
        return False
    if rule.first_day and now.date() < rule.first_day:
        return False
    if rule.last_day and now.date() > rule.last_day:
        return False
    if rule.start_minute is not None and rule.end_minute is not None:
        minute = now.hour * 60 + now.minute
        if rule.start_minute < rule.end_minute:
            return rule.start_minute <= minute < rule.end_minute
        return minute >= rule.start_minute or minute < rule.end_minute  # spans midnight
    return True


def _matches(rule: CompiledRule, visitor: Visitor, now: dt.datetime | None) -> bool:
    kind = rule.rule_type
    if kind == "device":
        return visitor.device()[0] in rule.values
    if kind == "os":
        family = visitor.device()[1]
        return any(family in OS_FAMILIES[name] for name in rule.values)
    if kind == "referrer":
        return (visitor.click_source or "").lower() in rule.values
    if kind == "country":
        return visitor.country() in rule.values
    if kind == "time":
        return _time_matches(rule, now or _local_now())
    return False


def pick_variant(
    variants: tuple[CompiledRule, ...], *, key: str, session_id: str | None
) -> CompiledRule:
    """One of the A/B variants by weight: stable for a session (a hash of it and ``key``)."""
    total = sum(variant.weight for variant in variants)
    if session_id:
        digest = hashlib.blake2b(f"{key}:{session_id}".encode(), digest_size=8).digest()
        point = int.from_bytes(digest, "big") % total
    else:
        point = random.randrange(total)
    for variant in variants:
        if point < variant.weight:
            return variant
        point -= variant.weight
    return variants[-1]


def choose(
    rules: tuple[CompiledRule, ...], *, key: str, visitor: Visitor, now: dt.datetime | None = None
) -> CompiledRule | None:
    """The rule that routes this visitor (first match by priority), or None for the default."""
    for rule in rules:
        if rule.rule_type == "ab_test":
            variants = tuple(r for r in rules if r.rule_type == "ab_test")
            return pick_variant(variants, key=key, session_id=visitor.session_id)
        if _matches(rule, visitor, now):
            return rule
    return None
