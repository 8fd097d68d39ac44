from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from tests.support import CuttableProxy, PrivateRedis
from tracking import linkcache
from tracking.clicks import stream as clickstream


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    skip_redis = pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://...")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def _fresh_caches(settings: Any, tmp_path: Path) -> Iterator[None]:
    """Every test starts with empty link and shared caches, its own click spool and no memory of
    a Redis outage."""
    settings.CLICK_SPOOL_DIR = tmp_path / "spool"
    settings.GEOIP_DEMO_DIR = tmp_path / "geo-demo"
    linkcache.clear_local_cache()
    clickstream.reset_clients()
    cache.clear()
    yield
    linkcache.clear_local_cache()
    clickstream.reset_clients()


@pytest.fixture
def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def cache_down(settings: Any) -> None:
    """The shared cache is a Redis that cannot be reached (nothing listens on port 1)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }


# --- Buffered click recording (helpers in tests/support.py) -------------------------------


@pytest.fixture
def stream(settings: Any) -> Iterator[str]:
    """A stream key of this test's own on the configured Redis, deleted afterwards."""
    key = f"linktrack-test:{uuid.uuid4().hex}:clicks"
    settings.CLICK_STREAM_KEY = key
    settings.CLICK_MODE = "buffered"
    clickstream.reset_clients()
    yield key
    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(settings.REDIS_URL).delete(key, f"{key}:dead")


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("needs the redis-server binary")
    server = PrivateRedis(tmp_path / "redis")
    server.directory.mkdir()
    server.start()
    yield server
    server.crash()


@pytest.fixture
def postgres_proxy() -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(int(connection.settings_dict["PORT"] or 5432))
    yield proxy
    proxy.cut()


@pytest.fixture
def noon(monkeypatch: pytest.MonkeyPatch) -> dt.datetime:
    """The clock stopped at today's local noon, so today is always half rolled up."""
    from analytics import selection

    at = selection.local_midnight(selection.today()) + dt.timedelta(hours=12)
    monkeypatch.setattr(timezone, "now", lambda: at)
    return at
