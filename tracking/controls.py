"""Link controls on the redirect: expiry, the person-click cap and the password form.

Each check reads the cached link (:class:`tracking.linkcache.ResolvedLink`); none queries the
database on a warm redirect but the cap's counter, which lives in the shared cache.

**The person-click cap.** ``max_person_clicks`` counts clicks classified as people, so scanners
and previews cannot use it up. The redirect classifies the click itself (the classifier is cheap
and its user-agent parse is cached) and, for a person, increments a counter in the shared cache;
the counter's own answer decides, so concurrent clicks of one cache never share a number. The
counter starts from the stored person clicks (one COUNT) and is recounted every
:data:`COUNTER_SECONDS`, which repairs what it cannot see. How far the cap may overshoot:

- with Redis (one counter for every process), by the clicks still in flight at a recount: the
  person clicks of the link queued in the click stream but not yet written, normally the last
  batch (well under a second of clicks);
- with the local-memory cache (the embedded default, one process), not at all; several processes
  without Redis each count on their own, so each may let ``max_person_clicks`` through between
  recounts;
- the click writer's burst rule can later reclassify a person click as a scanner: the counter then
  reached the cap early, until the next recount gives those clicks back.

When the shared cache is down the cap fails open (the link keeps working), like the rate limit.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django_ratelimit.core import get_usage

from linktrack.rates import parse_rate
from tracking.classify import ClickSignals, classification_fields
from tracking.clicks.capture import client_bucket, client_ip
from tracking.linkcache import ResolvedLink
from tracking.models import Classification
from tracking.services.validation import PASSWORD_MAX

logger = logging.getLogger(__name__)

COUNTER_SECONDS: Final = 60
UNLOCK_MAX_AGE: Final = 30 * 24 * 3600
UNLOCK_COOKIE_PREFIX: Final = "lt_unlock_"


# --- Expiry and the cap -------------------------------------------------------------------------


def is_expired(link: ResolvedLink) -> bool:
    """Expired from ``expires_at`` on, to the second: a link expiring at 12:00:00 is gone at 12:00:00."""
    return link.expires_at is not None and time.time() >= link.expires_at


def gone(request: HttpRequest, link: ResolvedLink) -> HttpResponse:
    """Where an expired or capped link sends a visitor: its fallback URL, or a friendly 410."""
    if link.fallback_url:
        return HttpResponseRedirect(link.fallback_url)
    return render(request, "tracking/link_gone.html", status=410)


def _counter_key(tracking_id: str) -> str:
    return f"link:v2:person-clicks:{tracking_id}"


def stored_person_clicks(tracking_id: str) -> int:
    from tracking.models import LinkClick

    return LinkClick.objects.filter(
        tracking_id=tracking_id, classification=Classification.HUMAN
    ).count()


def over_cap(link: ResolvedLink, *, http_method: str | None, signals: ClickSignals) -> bool:
    """Whether this click finds the link's person-click cap used up (a person's click counts)."""
    cap = link.max_person_clicks
    if cap is None:
        return False
    verdict = classification_fields(
        http_method=http_method, clicked_at=timezone.now(), signals=signals
    )
    is_person = verdict["classification"] == Classification.HUMAN
    key = _counter_key(link.tracking_id)
    try:
        count = cache.get(key)
        if count is None:
            cache.add(key, stored_person_clicks(link.tracking_id), COUNTER_SECONDS)
        if not is_person:
            return int(cache.get(key) or 0) >= cap
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: start again from the rows
            count = stored_person_clicks(link.tracking_id) + 1
            cache.set(key, count, COUNTER_SECONDS)
    except Exception:  # the cap is a courtesy; the link must keep working without the cache
        logger.warning("person-click counter unavailable; not capping", exc_info=True)
        return False
    return int(count) > cap


# --- Passwords ------------------------------------------------------------------------------


def _signer(link: ResolvedLink) -> signing.TimestampSigner:
    # The hash in the salt: a new password invalidates every unlock cookie of the old one.
    return signing.TimestampSigner(salt=f"tracking.unlock:{link.tracking_id}:{link.password_hash}")


def unlock_cookie_name(tracking_id: str) -> str:
    return UNLOCK_COOKIE_PREFIX + tracking_id


def is_unlocked(request: HttpRequest, link: ResolvedLink) -> bool:
    value = request.COOKIES.get(unlock_cookie_name(link.tracking_id))
    if not value:
        return False
    try:
        _signer(link).unsign(value, max_age=UNLOCK_MAX_AGE)
    except signing.BadSignature:
        return False
    return True


def set_unlock_cookie(response: HttpResponse, request: HttpRequest, link: ResolvedLink) -> None:
    response.set_cookie(
        unlock_cookie_name(link.tracking_id),
        _signer(link).sign("1"),
        max_age=UNLOCK_MAX_AGE,
        path=f"/track/{link.tracking_id}",
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )


def _locked_views_key(tracking_id: str) -> str:
    return f"link:locked-views:{tracking_id}"


def count_locked_view(tracking_id: str) -> None:
    """Views of the password form, counted apart from clicks (scanners see nothing else)."""
    key = _locked_views_key(tracking_id)
    try:
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)
    except Exception:
        logger.warning("locked-view counter unavailable", exc_info=True)


def locked_views(tracking_id: str) -> int | None:
    try:
        value = cache.get(_locked_views_key(tracking_id), 0)
    except Exception:
        return None
    return int(value)


def _usage(request: HttpRequest, *, group: str, key: str, rate: str, increment: bool) -> bool:
    """Whether ``key`` is over ``rate`` in ``group`` (fails open when the cache is down)."""
    try:
        usage = get_usage(
            request,
            group=group,
            key=lambda _group, _request: key,
            rate=parse_rate(rate),
            increment=increment,
        )
    except Exception:
        logger.warning("password rate limit unavailable", exc_info=True)
        return False
    if usage is None or usage["limit"] == 0:
        return False
    return bool(usage["should_limit"] if increment else usage["count"] >= usage["limit"])


def _limited(request: HttpRequest, link: ResolvedLink, *, increment: bool) -> bool:
    bucket = client_bucket(client_ip(request))
    per_ip = _usage(
        request,
        group="tracking:link-password:ip",
        key=bucket,
        rate=settings.LINK_PASSWORD_RATE_PER_IP,
        increment=increment,
    )
    per_link = _usage(
        request,
        group="tracking:link-password:link",
        key=link.tracking_id,
        rate=settings.LINK_PASSWORD_RATE_PER_LINK,
        increment=increment,
    )
    return per_ip or per_link


def _form(request: HttpRequest, *, error: str | None, status: int) -> HttpResponse:
    return render(request, "tracking/link_password.html", {"error": error}, status=status)


def password_gate(request: HttpRequest, link: ResolvedLink) -> HttpResponse | None:
    """The password form for a locked link, or None once the visitor sent the right password.

    GET and HEAD get the form (a locked view, not a click). A POST is checked against the hash
    unless the visitor's address or the link has had too many wrong attempts lately (429 then,
    without checking); a wrong one answers the form again with 403 and counts against both.
    """
    if request.method != "POST":
        count_locked_view(link.tracking_id)
        return _form(request, error=None, status=200)
    if _limited(request, link, increment=False):
        response = _form(request, error="Too many attempts. Please try again later.", status=429)
        response["Retry-After"] = str(parse_rate(settings.LINK_PASSWORD_RATE_PER_IP).seconds)
        return response
    password = request.POST.get("password", "")
    encoded = link.password_hash or ""
    if password and len(password) <= PASSWORD_MAX and check_password(password, encoded):
        return None
    _limited(request, link, increment=True)
    return _form(request, error="That password is not right.", status=403)
