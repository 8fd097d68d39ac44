"""Caches other than django-redis's single-server client keep the step-by-step rate limit and
burst pre-check: no script is tried on them."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import caches
from django.test import RequestFactory

from tracking.clicks import luascript, ratelimit


@pytest.fixture
def locmem(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    monkeypatch.setattr("django_ratelimit.core._get_window", lambda value, period: 1_800_000_000)


@pytest.mark.usefixtures("locmem")
def test_a_local_cache_counts_step_by_step(settings: Any) -> None:
    assert luascript.redis_client(caches["default"]) is None
    settings.CLICK_RATE_LIMIT = "2/m"
    request = RequestFactory().get("/")
    answers = [ratelimit.click_allowed(request, client_ip="203.0.113.7") for _ in range(3)]
    assert answers == [True, True, False]


@pytest.mark.parametrize(
    "client_class",
    ["django_redis.client.ShardClient", "django_redis.client.HerdClient"],
)
def test_other_django_redis_clients_count_step_by_step(client_class: str, settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"CLIENT_CLASS": client_class},
        }
    }
    assert luascript.redis_client(caches["default"]) is None


def test_django_redis_default_client_runs_scripts(settings: Any) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    assert luascript.redis_client(caches["default"]) is not None  # no connection made yet
