"""Link resolution for the redirect: in-process cache → shared cache → database.

The in-process layer answers warm requests without touching the network. Its TTL is short
(``LINK_LOCAL_CACHE_SECONDS``) because other processes cannot reach into it: a link changed through
the service layer is invalidated at once in the shared cache and in the writing process, and
everywhere else within that TTL. Unknown and inactive ids are cached negatively, so a flood of junk
ids cannot reach the database.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Final

from django.conf import settings
from django.core.cache import cache

from tracking import hosts

logger = logging.getLogger(__name__)

_MISSING: Final = "missing"
_LOCAL_MAX_ENTRIES = 20_000


@dataclass(frozen=True, slots=True)
class ResolvedLink:
    """What the redirect needs to know about an active link."""

    tracking_id: str
    original_url: str
    link_function: str
    job_id: str | None
    application_id: str | None
    created_at: dt.datetime | None


_local: dict[str, tuple[float, ResolvedLink | None]] = {}
_local_lock = threading.Lock()


def _shared_key(tracking_id: str) -> str:
    return f"link:v1:{tracking_id}"


def _load_from_db(tracking_id: str) -> ResolvedLink | None:
    from tracking.models import TrackedLink

    row = (
        TrackedLink.objects.filter(tracking_id=tracking_id)
        .values_list(
            "original_url", "is_active", "link_function", "job_id", "application_id", "created_at"
        )
        .first()
    )
    if row is None:
        return None
    original_url, is_active, link_function, job_id, application_id, created_at = row
    if is_active is False:
        return None
    if not hosts.is_safe_redirect(original_url):
        # Written around the service layer or under older rules: never send a browser there.
        logger.error("link %s has a non-public destination", tracking_id)
        return None
    return ResolvedLink(
        tracking_id=tracking_id,
        original_url=original_url,
        link_function=link_function,
        job_id=str(job_id) if job_id else None,
        application_id=str(application_id) if application_id else None,
        created_at=created_at,
    )


def _shared_get(tracking_id: str) -> ResolvedLink | str | None:
    try:
        return cache.get(_shared_key(tracking_id))  # type: ignore[no-any-return]
    except Exception:  # the shared cache is an optimisation; never fail the redirect on it
        logger.warning("shared cache unavailable for link lookup", exc_info=True)
        return None


def _shared_set(tracking_id: str, value: ResolvedLink | None) -> None:
    timeout = settings.LINK_CACHE_SECONDS if value else settings.LINK_NEGATIVE_CACHE_SECONDS
    try:
        cache.set(_shared_key(tracking_id), value or _MISSING, timeout)
    except Exception:
        logger.warning("shared cache unavailable for link store", exc_info=True)


def _local_set(tracking_id: str, value: ResolvedLink | None) -> None:
    ttl = settings.LINK_LOCAL_CACHE_SECONDS
    if ttl <= 0:
        return
    with _local_lock:
        if len(_local) >= _LOCAL_MAX_ENTRIES:
            _local.clear()
        _local[tracking_id] = (time.monotonic() + ttl, value)


def resolve_link(tracking_id: str) -> ResolvedLink | None:
    """The active link with this id, or ``None`` when it is unknown or inactive."""
    hit = _local.get(tracking_id)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]

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
        _local.pop(tracking_id, None)
    try:
        cache.delete(_shared_key(tracking_id))
    except Exception:
        logger.warning("shared cache unavailable for link invalidation", exc_info=True)


def clear_local_cache() -> None:
    with _local_lock:
        _local.clear()
