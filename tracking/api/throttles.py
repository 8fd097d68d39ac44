"""Rate limits of seed 001: click recording per client IP, analytics per API key.

Counting uses django-ratelimit's fixed windows (an atomic ``incr`` on the shared cache, so every
web process shares one count). If the cache is unreachable the limit is skipped: losing clicks
or locking integrations out because Redis blinked would be worse than a minute without limits.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from linktrack.rates import parse_rate
from tracking.clicks.capture import client_bucket, client_ip
from tracking.models import APIKey

logger = logging.getLogger(__name__)


class _CacheRateThrottle(BaseThrottle):
    """A DRF throttle backed by django-ratelimit's counters; fails open when the cache fails."""

    group = ""
    rate_setting = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def identity(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        identity = self.identity(request)
        if not identity:
            return True
        rate = parse_rate(getattr(settings, self.rate_setting))
        try:
            usage = get_usage(
                request, group=self.group, key=lambda _g, _r: identity, rate=rate, increment=True
            )
        except Exception:
            logger.exception("rate limit %s skipped: the counter could not be read", self.group)
            return True
        # ``limit == 0`` is django-ratelimit's "the cache failed" answer: fail open.
        if usage is None or usage["limit"] == 0:
            return True
        if usage["should_limit"]:
            self._wait = max(1, int(usage["time_left"]))
            return False
        return True

    def wait(self) -> float | None:
        return self._wait


class ClickRecordingThrottle(_CacheRateThrottle):
    """``CLICK_RATE_LIMIT`` requests per client (seed: 1000 per minute per IP; IPv6 per /64)."""

    group = "api.click-recording"
    rate_setting = "CLICK_RATE_LIMIT"

    def identity(self, request: Request) -> str | None:
        # The caller (the external domain's server), behind trusted proxies only, like the redirect.
        return client_bucket(client_ip(request._request))


class AnalyticsThrottle(_CacheRateThrottle):
    """``ANALYTICS_RATE_LIMIT`` requests per API key, or per user for sessions (seed: 100/min)."""

    group = "api.analytics"
    rate_setting = "ANALYTICS_RATE_LIMIT"

    def identity(self, request: Request) -> str | None:
        if isinstance(request.auth, APIKey):
            return f"key:{request.auth.prefix}"
        user = request.user
        if user is not None and user.is_authenticated and user.pk is not None:
            return f"user:{user.pk}"
        return None
