"""The admin sign-in, throttled per client address and per username.

Every POST to the login counts against two budgets in the shared cache (django-ratelimit's fixed
windows): the client's address (``ADMIN_LOGIN_RATE_PER_IP``; IPv6 counted per /64, since one
host is usually given a whole /64 and could otherwise rotate through it) and the username tried
(``ADMIN_LOGIN_RATE_PER_USERNAME``, which stops a password guesser spread over many addresses).
Past either budget the attempt is refused with 429 before any password is checked. Showing the
form (GET) is never counted. Like the project's other limits, a cache outage skips the limit
rather than locking every administrator out.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django_ratelimit.core import get_usage

from tracking.clicks.capture import client_bucket, client_ip

logger = logging.getLogger(__name__)

USERNAME_KEY_MAX = 150  # Django's username length: longer input is one bucket, not many


def address_bucket(request: HttpRequest) -> str:
    """The client's address (behind trusted proxies only), an IPv6 one widened to its /64; a
    request without a usable address shares one bucket rather than going unlimited."""
    return client_bucket(client_ip(request))


def username_bucket(request: HttpRequest) -> str:
    # Case and surrounding spaces do not make a new guess at the same account.
    return request.POST.get("username", "").strip().casefold()[:USERNAME_KEY_MAX]


def _seconds_to_wait(request: HttpRequest) -> int | None:
    """Count this attempt; the seconds until the caller may try again, or None if it may now."""
    budgets = (
        ("admin.login.ip", address_bucket(request), settings.ADMIN_LOGIN_RATE_PER_IP),
        ("admin.login.username", username_bucket(request), settings.ADMIN_LOGIN_RATE_PER_USERNAME),
    )
    wait: int | None = None
    for group, bucket, rate in budgets:
        try:
            usage = get_usage(
                request, group=group, key=lambda _g, _r, b=bucket: b, rate=rate, increment=True
            )
        except Exception:
            logger.warning("admin login limit %s skipped: the counter failed", group, exc_info=True)
            continue
        # ``limit == 0`` is django-ratelimit's "the cache failed" answer.
        if usage is None or usage["limit"] == 0 or not usage["should_limit"]:
            continue
        wait = max(wait or 0, max(1, int(usage["time_left"])))
    return wait


@never_cache
def admin_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """``admin.site.login`` behind the sign-in budgets."""
    if request.method == "POST":
        wait = _seconds_to_wait(request)
        if wait is not None:
            logger.warning("admin login throttled for %s", address_bucket(request))
            response = render(
                request,
                "admin/login_throttled.html",
                {
                    **admin.site.each_context(request),
                    "title": "Too many sign-in attempts",
                    "minutes": max(1, -(-wait // 60)),
                },
                status=429,
            )
            response["Retry-After"] = str(wait)
            return response
    return admin.site.login(request, extra_context)
