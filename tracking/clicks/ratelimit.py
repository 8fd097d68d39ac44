"""The click rate limit (seed 001: 1000 clicks per minute per client IP) and its counter.

Over the limit the visitor is still redirected, but the click is not stored and a shared counter
of suppressed clicks goes up (shown by ``/track/health``). The counts live in the shared cache
through django-ratelimit; when that cache is unreachable the limit fails open: the click is stored.
With Redis as the cache, django-ratelimit's two steps (``add``, then ``incr``) run as one script
on the same key with the same expiry (:func:`_count_in_redis`): one round trip instead of two.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache, caches
from django.http import HttpRequest
from django_ratelimit import ALL
from django_ratelimit import core as ratelimit_core
from django_ratelimit.core import get_usage

from linktrack.rates import Rate, parse_rate
from tracking.clicks import luascript
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
    rate = parse_rate(settings.CLICK_RATE_LIMIT)
    try:
        count = _count_in_redis(bucket, rate)
        if count is not None:
            return count <= rate.requests
        usage = get_usage(
            request,
            group=RATE_GROUP,
            key=lambda _group, _request: bucket,
            rate=rate,
            increment=True,
        )
    except Exception:  # a cache outage must never cost a click
        logger.warning("click rate limit unavailable; allowing the click", exc_info=True)
        return True
    # django-ratelimit reports a cache failure as limit 0; fail open rather than drop clicks.
    if usage is None or usage["limit"] == 0:
        return True
    return not usage["should_limit"]


# django-ratelimit's ``cache.add(key, 1, expiry)`` then, when the key was there, ``cache.incr(key)``
# (django-redis: SET NX PX, then INCRBY on the key if it exists), as one atomic step. ARGV[1] is
# the expiry in milliseconds. Returns the count including this click.
_COUNT = luascript.Script(
    """
if redis.call('SET', KEYS[1], 1, 'NX', 'PX', ARGV[1]) then
  return 1
end
return redis.call('INCR', KEYS[1])
"""
)


def _count_in_redis(bucket: str, rate: Rate) -> int | None:
    """This click's count in its bucket's current window, counted where and as
    ``get_usage(..., increment=True)`` counts it (same cache, key and expiry: the two agree on
    every count), in one Redis call. None when the cache is not django-redis's client or the
    limit is switched off (``RATELIMIT_ENABLE``): then ``get_usage`` decides."""
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return None
    shared = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    client = luascript.redis_client(shared)
    if client is None:
        return None
    # Looked up on the module at each call, as get_usage does (the tests pin the window there).
    window = ratelimit_core._get_window(bucket, rate.seconds)
    key = shared.make_key(ratelimit_core._make_cache_key(RATE_GROUP, window, rate, bucket, ALL))
    expiry_ms = (rate.seconds + ratelimit_core.EXPIRATION_FUDGE) * 1000
    return int(_COUNT(client, [key], [expiry_ms]))


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
