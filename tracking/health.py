"""The state reported by ``GET /track/health``: one function builds it, the view only renders it.

A component is a dict with at least ``status`` (``"ok"`` or ``"error"``); the service is healthy
when every component is ok. Click recording reports its mode and counters under ``clicks``.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection

from tracking import clicklimit, recorder

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
    backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
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


def clicks_state() -> dict[str, Any]:
    return {
        "status": "ok",
        "mode": recorder.click_mode(),
        "suppressed_by_rate_limit": clicklimit.suppressed_clicks(),
    }


def health_report() -> tuple[dict[str, Any], bool]:
    """The health document and whether the service is healthy (every component ok)."""
    components = {
        "database": database_state(),
        "cache": cache_state(),
        "clicks": clicks_state(),
    }
    healthy = all(component["status"] == "ok" for component in components.values())
    report = {
        "status": "ok" if healthy else "error",
        "version": settings.LINKTRACK_VERSION,
        "click_mode": components["clicks"]["mode"],
        **components,
    }
    return report, healthy
