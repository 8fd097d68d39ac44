"""System checks for configuration mistakes that would bite in production."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register

from tracking import hosts


def _is_local(url: str) -> bool:
    """True when a recruiter's browser could not reach ``url``'s host: a loopback or private
    address in any form a browser reads (``127.1``, ``[::1]``, ``0x7f.1``) or a local name."""
    host = hosts.url_host(url)
    if host is None:
        return True
    if isinstance(host, str):
        labels = host.rstrip(".").split(".")
        return len(labels) < 2 or labels[-1] in hosts.LOCAL_TOP_LEVEL_NAMES
    return not hosts.is_public_address(host)


@register(Tags.security, deploy=True)
def check_tracking_base_url(app_configs: Any, **kwargs: Any) -> list[Warning]:
    warnings: list[Warning] = []
    parts = urlsplit(settings.TRACKING_BASE_URL)
    host = parts.hostname or ""
    if _is_local(settings.TRACKING_BASE_URL):
        warnings.append(
            Warning(
                "TRACKING_BASE_URL points at this machine or a private network; redirect URLs in "
                "sent emails will not work.",
                hint="Set TRACKING_BASE_URL to the public https:// address of the service.",
                id="linktrack.W001",
            )
        )
    elif parts.scheme != "https":
        warnings.append(
            Warning(
                "TRACKING_BASE_URL is not https; recruiters' browsers and mail scanners may warn.",
                id="linktrack.W002",
            )
        )
    if "*" not in settings.ALLOWED_HOSTS and host and host not in settings.ALLOWED_HOSTS:
        warnings.append(
            Warning(
                f"The host of TRACKING_BASE_URL ({host}) is not in ALLOWED_HOSTS; redirects will get 400.",
                id="linktrack.W003",
            )
        )
    return warnings


@register(Tags.database, deploy=True)
def check_database(app_configs: Any, **kwargs: Any) -> list[Warning]:
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        return [
            Warning(
                "The database is SQLite; use PostgreSQL (DATABASE_URL) for production traffic.",
                id="linktrack.W004",
            )
        ]
    return []


@register(Tags.caches, deploy=True)
def check_shared_cache(app_configs: Any, **kwargs: Any) -> list[Warning]:
    if not settings.REDIS_URL:
        return [
            Warning(
                "REDIS_URL is not set: each process keeps its own cache, so rate limits and link "
                "invalidation are per process and clicks are written inside the request.",
                hint="Set REDIS_URL=redis://host:port/db for production.",
                id="linktrack.W005",
            )
        ]
    return []


# A deployment check: geodata is optional, and the embedded default (or any management command)
# should not repeat the warning on every start.
@register(Tags.compatibility, deploy=True)
def check_geodata(app_configs: Any, **kwargs: Any) -> list[Warning]:
    if settings.GEOIP_CITY_PATH or settings.GEOIP_ASN_PATH:
        return []
    return [
        Warning(
            "GEOIP_CITY_PATH and GEOIP_ASN_PATH are not set: clicks are stored without country, "
            "city or network, and cloud or mail-security networks are not recognised.",
            hint="Download the free GeoLite2 or DB-IP Lite databases and point the settings at "
            "them (docs/geo.md).",
            id="linktrack.W006",
        )
    ]
