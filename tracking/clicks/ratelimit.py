"""The click rate limit (seed 001: 1000 clicks per minute per client IP) and its counter.

Over the limit the visitor is still redirected, but the click is not stored and a shared counter
of suppressed clicks goes up (shown by ``/track/health``). The counts live in the shared cache
through django-ratelimit; when that cache is unreachable the limit fails open: the click is stored.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from linktrack.rates import parse_rate
from tracking.clicks.capture import client_bucket

logger = logging.getLogger(__name__)

RATE_GROUP = "tracking:redirect"
SUPPRESSED_KEY = "clicks:suppressed:v1"


def click_allowed(request: HttpRequest, *, client_ip: str | None) -> bool:
    """Count this click against its client's budget; False when it is over ``CLICK_RATE_LIMIT``.

    The budget is per :func:`~tracking.clicks.capture.client_bucket`: an IPv6 client per /64, and
    every click without a usable address in one shared bucket.

    In buffered mode the click writer applies the same limit off the hot path
    (:func:`tracking.clicks.writer.enforce_rate_limit`), so the redirect's only network call stays
    the append to the click stream.
    """
    if settings.CLICK_MODE == "buffered":
        return True
    bucket = client_bucket(client_ip)
    try:
        usage = get_usage(
            request,
            group=RATE_GROUP,
            key=lambda _group, _request: bucket,
            rate=parse_rate(settings.CLICK_RATE_LIMIT),
            increment=True,
        )
    except Exception:  # a cache outage must never cost a click
        logger.warning("click rate limit unavailable; allowing the click", exc_info=True)
        return True
    # django-ratelimit reports a cache failure as limit 0; fail open rather than drop clicks.
    if usage is None or usage["limit"] == 0:
        return True
    return not usage["should_limit"]


def count_suppressed(clicks: int = 1) -> None:
    try:
        if not cache.add(SUPPRESSED_KEY, clicks, timeout=None):
            cache.incr(SUPPRESSED_KEY, clicks)
    except Exception:
        logger.warning("suppressed-click counter unavailable", exc_info=True)


def suppressed_clicks() -> int | None:
    """Clicks not stored because of the rate limit since the cache was last emptied."""
    try:
        value = cache.get(SUPPRESSED_KEY, 0)
    except Exception:
        return None
    return int(value) if value is not None else None
