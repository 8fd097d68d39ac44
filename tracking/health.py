"""The state reported by ``GET /track/health``: one function builds it, the view only renders it.

A component is a dict with at least ``status`` (``"ok"`` or ``"error"``); the service is healthy
when every component is ok. Click recording reports its mode and counters under ``clicks``.

The endpoint is public (load balancers and uptime probes call it without credentials), so anyone
gets the overall status and nothing else; the report itself names the database vendor, the cache
backend, the version and traffic counters, which help an attacker more than a probe. It goes to
staff sessions and to callers presenting ``HEALTH_TOKEN`` (see :func:`details_allowed`).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest
from django.utils import timezone

from tracking import geo
from tracking.clicks import ratelimit, record, spool, stream
from tracking.models import LinkClick, TrackedLink

logger = logging.getLogger(__name__)

_PROBE_KEY = "health:probe"


def database_state() -> dict[str, Any]:
    state: dict[str, Any] = {"vendor": connection.vendor}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("health: database unavailable: %s", exc)
        return {**state, "status": "error", "error": exc.__class__.__name__}
    return {**state, "status": "ok"}


def cache_state() -> dict[str, Any]:
    backend = str(settings.CACHES["default"]["BACKEND"]).rsplit(".", 1)[-1]
    token = secrets.token_hex(8)
    try:
        # The Redis cache swallows its errors (DJANGO_REDIS_IGNORE_EXCEPTIONS): a round trip that
        # does not return what was written is how an outage shows.
        cache.set(_PROBE_KEY, token, timeout=10)
        ok = cache.get(_PROBE_KEY) == token
    except Exception as exc:
        logger.warning("health: cache unavailable: %s", exc)
        ok = False
    return {"backend": backend, "status": "ok" if ok else "error"}


def _backlog_too_old(age: Any) -> bool:
    return age is not None and age > settings.CLICK_BACKLOG_MAX_AGE_SECONDS


def clicks_state() -> dict[str, Any]:
    """Click recording: mode, rate-limit counter, the spool and (buffered) the stream backlog.

    Unhealthy when a click has waited longer than ``CLICK_BACKLOG_MAX_AGE_SECONDS`` to be written
    (no writer running, or it cannot reach the database) or the stream is unreachable.
    """
    state: dict[str, Any] = {
        "status": "ok",
        "mode": record.click_mode(),
        "suppressed_by_rate_limit": ratelimit.suppressed_clicks(),
        "backlog_max_age_seconds": settings.CLICK_BACKLOG_MAX_AGE_SECONDS,
        **spool.status(),
    }
    if _backlog_too_old(state["oldest_spooled_age_seconds"]):
        state["status"] = "error"
    if state["mode"] == "buffered":
        try:
            backlog = stream.backlog_status()
        except (redis.RedisError, stream.StreamUnavailable) as exc:
            logger.warning("health: click stream unavailable: %s", exc)
            return {**state, "status": "error", "stream_error": exc.__class__.__name__}
        state.update(backlog)
        if _backlog_too_old(backlog["oldest_unwritten_age_seconds"]):
            state["status"] = "error"
    return state


def future_rows() -> dict[str, int]:
    """Clicks and links dated later than now (beyond the clock skew the API allows).

    The seed's ``TIMESTAMP`` columns carry no zone: a system writing local time (or ``…+02:00``,
    which PostgreSQL converts to the session's zone and then drops) stores rows hours off without
    an error. Rows from the future are how that mistake shows. Both counts are index range scans
    (``idx_link_clicks_clicked_at``, ``idx_link_tracking_created_at``).
    """
    limit = timezone.now() + dt.timedelta(seconds=settings.CLICK_FUTURE_SKEW_SECONDS)
    return {
        "future_clicks": LinkClick.objects.filter(clicked_at__gt=limit).count(),
        "future_links": TrackedLink.objects.filter(created_at__gt=limit).count(),
    }


def data_state() -> dict[str, Any]:
    """Stored data a writer got wrong; reported, never a reason to take the service out."""
    try:
        counts = future_rows()
    except DatabaseError as exc:
        logger.warning("health: cannot count future rows: %s", exc)
        return {"status": "error", "error": exc.__class__.__name__}
    state: dict[str, Any] = {"status": "ok", **counts}
    if counts["future_clicks"] or counts["future_links"]:
        state["warning"] = FUTURE_ROWS_WARNING
    return state


FUTURE_ROWS_WARNING = (
    "rows dated in the future: a writer stores local time in the TIMESTAMP columns; write UTC"
)


def health_report() -> tuple[dict[str, Any], bool]:
    """The health document and whether the service is healthy (every component ok)."""
    components = {
        "database": database_state(),
        "cache": cache_state(),
        "clicks": clicks_state(),
        "data": data_state(),
        "geo": geo.geo_state(),
    }
    healthy = all(component["status"] == "ok" for component in components.values())
    report = {
        "status": "ok" if healthy else "error",
        "version": settings.LINKTRACK_VERSION,
        "click_mode": components["clicks"]["mode"],
        **components,
    }
    return report, healthy


def public_report(report: dict[str, Any]) -> dict[str, Any]:
    """What an anonymous caller sees: the overall status only."""
    return {"status": report["status"]}


def _presented_token(request: HttpRequest) -> str | None:
    scheme, _, credentials = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    # For probes that cannot set headers. The access log never shows query values of /track/.
    return request.GET.get("token") or None


def details_allowed(request: HttpRequest) -> bool:
    """A staff session, or ``HEALTH_TOKEN`` as ``Authorization: Bearer <token>`` or ``?token=``.

    The token is compared in constant time, so response times do not reveal how much of a guess
    was right. An empty ``HEALTH_TOKEN`` (the default) turns token access off.
    """
    expected = settings.HEALTH_TOKEN
    presented = _presented_token(request)
    if expected and presented is not None:
        if hmac.compare_digest(presented.encode(), expected.encode()):
            return True
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)
