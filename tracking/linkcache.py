"""Link resolution for the redirect: in-process cache → shared cache → database.

The in-process layer answers warm requests without touching the network. Its TTL is short
(``LINK_LOCAL_CACHE_SECONDS``) because other processes cannot reach into it: a link changed through
the service layer is invalidated at once in the shared cache and in the writing process, and
everywhere else within that TTL. Unknown and inactive ids are cached negatively, so a flood of junk
ids cannot reach the database over and over.

Junk must not cost the hot links their place, nor grow memory without end, so each layer bounds
what unknown ids may take:

- in this process, links and unknown ids live in two separate tables, each with its own cap; when
  a table is full its oldest entry goes. A flood of distinct junk ids only pushes out other junk
  ids (:data:`_LOCAL_MAX_MISSES`), never an active link (:data:`_LOCAL_MAX_LINKS`);
- the shared cache takes at most :data:`_SHARED_MAX_MISSES` new unknown ids per
  ``LINK_NEGATIVE_CACHE_SECONDS`` (each lives that long), so a flood holds a fixed number of keys
  in Redis however fast it comes; past the budget an unknown id costs its one primary-key lookup
  per process and is then remembered here. A process-local shared cache (local memory, the
  embedded default) takes no unknown ids at all: it is no better than this process's own table,
  and filling it would cull the dashboard's cached figures and the rate-limit counters.

Ids that cannot be tracking ids never get here: the redirect and the services check the format
first.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.core.cache import cache

from tracking import company, hosts, routing
from tracking.routing import CompiledRule

logger = logging.getLogger(__name__)

_MISSING: Final = "missing"
# Active links one process remembers: far more than a job seeker's whole history of sent links.
_LOCAL_MAX_LINKS: Final = 20_000
# Unknown ids one process remembers: enough for every typo and deleted link, small enough that a
# junk flood costs a bounded amount of memory.
_LOCAL_MAX_MISSES: Final = 4_096
# New unknown ids the shared cache takes per LINK_NEGATIVE_CACHE_SECONDS, all processes together.
_SHARED_MAX_MISSES: Final = 1_000


@dataclass(frozen=True, slots=True)
class ResolvedLink:
    """What the redirect needs to know about an active link, link controls and routing rules
    included, so that a redirect never queries for them."""

    tracking_id: str
    original_url: str
    link_function: str
    job_id: str | None
    application_id: str | None
    created_at: dt.datetime | None
    # When the link's application was sent (the classifier's scanner window starts there too).
    application_submitted_at: dt.datetime | None = None
    # ``original_url`` with the link's UTM tags: where a visitor goes when no rule routes them.
    destination: str = ""
    expires_at: float | None = None  # a POSIX timestamp: one float comparison per redirect
    max_person_clicks: int | None = None
    password_hash: str | None = None
    fallback_url: str | None = None
    rules: tuple[CompiledRule, ...] = ()
    # The job's company names, normalised (tracking.company): a click from a network registered
    # under one of them is marked ``from_company_network`` without a query.
    company_keys: tuple[tuple[str, ...], ...] = ()
    # The application's hidden decoy link (tracking.clicks.decoy), and whether the application
    # has one at all (without one, its clicks skip the decoy rule).
    is_decoy: bool = False
    application_has_decoy: bool = False


# Insertion-ordered: the first entry is the oldest, the one to drop when a table is full. Reads
# take no lock (a dict lookup is atomic); writes do, so that eviction and insertion stay paired.
_links: dict[str, tuple[float, ResolvedLink]] = {}
_misses: dict[str, float] = {}  # unknown or inactive id -> expiry (monotonic)
_local_lock = threading.Lock()


def _shared_key(tracking_id: str) -> str:
    # v2: entries carry the application's submission time and the link's controls;
    # v3: and the job's company names; v4: and whether the link is a decoy.
    return f"link:v4:{tracking_id}"


_CONTROL_FIELDS: Final = (
    "expires_at",
    "max_person_clicks",
    "password_hash",
    "fallback_url",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
)


def _load_from_db(tracking_id: str) -> ResolvedLink | None:
    from django.db.models import Exists, OuterRef

    from tracking.models import LinkRule, TrackedLink

    # One query for a link without rules (the usual case); a second one only when it has some.
    row = (
        TrackedLink.objects.filter(tracking_id=tracking_id)
        .annotate(
            has_rules=Exists(LinkRule.objects.filter(link_id=OuterRef("pk"), is_active=True)),
            application_has_decoy=Exists(
                TrackedLink.objects.filter(application_id=OuterRef("application_id"), is_decoy=True)
            ),
        )
        .values(
            "original_url",
            "is_active",
            "link_function",
            "job_id",
            "application_id",
            "created_at",
            "application__submitted_at",
            "job__company_name",
            "job__company_aliases",
            "is_decoy",
            "application_has_decoy",
            "has_rules",
            *_CONTROL_FIELDS,
        )
        .first()
    )
    if row is None or row["is_active"] is False:
        return None
    original_url = row["original_url"]
    if not hosts.is_safe_redirect(original_url):
        # Written around the service layer or under older rules: never send a browser there.
        logger.error("link %s has a non-public destination", tracking_id)
        return None
    utm = {name: row[name] for name in _CONTROL_FIELDS if name.startswith("utm_") and row[name]}
    fallback = row["fallback_url"]
    if fallback and not hosts.is_safe_redirect(fallback):
        logger.error("link %s has a non-public fallback URL", tracking_id)
        fallback = None
    rules: list[CompiledRule] = []
    if row["has_rules"]:
        for rule in LinkRule.objects.filter(link_id=tracking_id, is_active=True).order_by(
            "priority", "id"
        ):
            if not hosts.is_safe_redirect(rule.destination_url):
                logger.error("routing rule %s has a non-public destination", rule.pk)
                continue
            compiled = routing.compile_rule(
                rule_id=rule.pk,
                rule_type=rule.rule_type,
                name=rule.name,
                conditions=rule.conditions,
                destination=routing.add_utm(rule.destination_url, utm),
                weight=rule.weight,
            )
            if compiled is not None:
                rules.append(compiled)
    expires_at = row["expires_at"]
    return ResolvedLink(
        tracking_id=tracking_id,
        original_url=original_url,
        link_function=row["link_function"],
        job_id=str(row["job_id"]) if row["job_id"] else None,
        application_id=str(row["application_id"]) if row["application_id"] else None,
        created_at=row["created_at"],
        destination=routing.add_utm(original_url, utm),
        expires_at=expires_at.timestamp() if expires_at else None,
        max_person_clicks=row["max_person_clicks"],
        password_hash=row["password_hash"],
        fallback_url=fallback,
        rules=tuple(rules),
        application_submitted_at=row["application__submitted_at"],
        company_keys=company.company_keys(
            row["job__company_name"] or "", row["job__company_aliases"] or ""
        ),
        is_decoy=bool(row["is_decoy"]),
        application_has_decoy=bool(row["application_has_decoy"]),
    )


def _shared_get(tracking_id: str) -> ResolvedLink | str | None:
    try:
        return cache.get(_shared_key(tracking_id))  # type: ignore[no-any-return]
    except Exception:  # the shared cache is an optimisation; never fail the redirect on it
        logger.warning("shared cache unavailable for link lookup", exc_info=True)
        return None


def _shared_set(tracking_id: str, value: ResolvedLink | None) -> None:
    try:
        if value is not None:
            cache.set(_shared_key(tracking_id), value, settings.LINK_CACHE_SECONDS)
        elif _shared_miss_allowed():
            cache.set(_shared_key(tracking_id), _MISSING, settings.LINK_NEGATIVE_CACHE_SECONDS)
    except Exception:
        logger.warning("shared cache unavailable for link store", exc_info=True)


def shared_cache_is_process_local() -> bool:
    """Whether the "shared" cache lives in this process (local memory) or stores nothing at all."""
    backend = str(settings.CACHES["default"]["BACKEND"]).rsplit(".", 1)[-1]
    return backend in {"LocMemCache", "DummyCache"}


def _shared_miss_allowed() -> bool:
    """Whether the shared cache may take one more unknown id in this window (module docstring)."""
    if shared_cache_is_process_local():
        return False
    window_seconds = settings.LINK_NEGATIVE_CACHE_SECONDS
    key = f"link:v2:misses:{int(time.time() // window_seconds)}"
    # The counter outlives its window by one: entries written at its end still live that long.
    cache.add(key, 0, 2 * window_seconds)
    try:
        return cache.incr(key) <= _SHARED_MAX_MISSES
    except ValueError:  # evicted between add and incr: count this one as the first
        return True


def _remember(table: dict[str, Any], key: str, value: Any, limit: int) -> None:
    """``table[key] = value`` as its newest entry, dropping the oldest ones beyond ``limit``."""
    table.pop(key, None)
    while len(table) >= limit:
        del table[next(iter(table))]
    table[key] = value


def _local_set(tracking_id: str, value: ResolvedLink | None) -> None:
    ttl = settings.LINK_LOCAL_CACHE_SECONDS
    if ttl <= 0:
        return
    expires = time.monotonic() + ttl
    with _local_lock:
        if value is None:
            _links.pop(tracking_id, None)
            _remember(_misses, tracking_id, expires, _LOCAL_MAX_MISSES)
        else:
            _misses.pop(tracking_id, None)
            _remember(_links, tracking_id, (expires, value), _LOCAL_MAX_LINKS)


def resolve_link(tracking_id: str) -> ResolvedLink | None:
    """The active link with this id, or ``None`` when it is unknown or inactive."""
    now = time.monotonic()
    hit = _links.get(tracking_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    missed_until = _misses.get(tracking_id)
    if missed_until is not None and missed_until > now:
        return None

    shared = _shared_get(tracking_id)
    if isinstance(shared, ResolvedLink):
        _local_set(tracking_id, shared)
        return shared
    if shared == _MISSING:
        _local_set(tracking_id, None)
        return None

    value = _load_from_db(tracking_id)
    _shared_set(tracking_id, value)
    _local_set(tracking_id, value)
    return value


def invalidate_link(tracking_id: str) -> None:
    """Forget a link in this process and in the shared cache (after a change is committed)."""
    with _local_lock:
        _links.pop(tracking_id, None)
        _misses.pop(tracking_id, None)
    try:
        cache.delete(_shared_key(tracking_id))
    except Exception:
        logger.warning("shared cache unavailable for link invalidation", exc_info=True)


def clear_local_cache() -> None:
    with _local_lock:
        _links.clear()
        _misses.clear()
