"""The link cache under a flood of junk ids: hot links keep their place, memory stays bounded."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any, cast

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import make_link
from tracking import linkcache, services
from tracking.models import TrackedLink

pytestmark = pytest.mark.django_db

FLOOD = 20_000


def junk(n: int) -> str:
    """A well-formed tracking id that names no link."""
    return f"lt_junk{n:08d}"


@pytest.fixture(autouse=True)
def _long_local_ttl(settings: Any) -> None:
    # These tests are about room, not time: a slow machine must not expire the hot link mid-test.
    settings.LINK_LOCAL_CACHE_SECONDS = 3600


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids that reached the database lookup (answered "no such link" without a query, so
    that 20,000 of them take a fraction of a second)."""
    seen: list[str] = []

    def load(tracking_id: str) -> None:
        seen.append(tracking_id)

    monkeypatch.setattr(linkcache, "_load_from_db", load)
    return seen


def flood(lookups: list[str], count: int = FLOOD) -> None:
    for n in range(count):
        assert linkcache.resolve_link(junk(n)) is None
    assert len(lookups) == count  # each junk id cost one lookup, then it was remembered
    lookups.clear()
    cache.clear()  # nothing from the shared cache: what follows is answered by this process


@pytest.fixture
def hot() -> TrackedLink:
    link = make_link()
    assert linkcache.resolve_link(link.tracking_id) is not None  # warm in this process
    return link


def test_a_flood_of_junk_ids_leaves_a_hot_link_in_the_process(
    hot: TrackedLink, lookups: list[str], django_assert_num_queries: Any
) -> None:
    flood(lookups)

    with django_assert_num_queries(0):
        resolved = linkcache.resolve_link(hot.tracking_id)

    assert resolved is not None and resolved.original_url == hot.original_url
    assert lookups == []


def test_a_flood_through_the_redirect_leaves_a_hot_link_in_the_process(
    hot: TrackedLink, django_assert_num_queries: Any
) -> None:
    client = Client()
    for n in range(500):
        assert client.get(f"/track/{junk(n)}").status_code == 404
    with django_assert_num_queries(0):
        assert linkcache.resolve_link(hot.tracking_id) is not None


def test_the_latest_junk_ids_are_remembered_and_the_oldest_forgotten(
    lookups: list[str],
) -> None:
    flood(lookups)

    assert linkcache.resolve_link(junk(FLOOD - 1)) is None
    assert lookups == []  # remembered
    assert linkcache.resolve_link(junk(0)) is None
    assert lookups == [junk(0)]  # pushed out by later junk: the memory of junk is bounded


def test_a_link_created_after_its_id_was_remembered_as_unknown_resolves_at_once() -> None:
    assert linkcache.resolve_link("lt_sent_later") is None
    link = make_link(tracking_id="lt_sent_later")
    assert linkcache.resolve_link(link.tracking_id) is not None


def test_a_deactivated_hot_link_is_no_longer_served() -> None:
    link = make_link()
    assert linkcache.resolve_link(link.tracking_id) is not None
    services.set_link_active(tracking_id=link.tracking_id, is_active=False)
    assert linkcache.resolve_link(link.tracking_id) is None


@pytest.mark.redis
def test_the_shared_cache_takes_a_bounded_number_of_junk_ids(
    settings: Any, monkeypatch: pytest.MonkeyPatch, django_assert_num_queries: Any
) -> None:
    monkeypatch.setattr(linkcache, "_SHARED_MAX_MISSES", 50)
    # One budget window throughout: a slow run crossing into the next window got 50 more.
    frozen = time.time()
    clock = SimpleNamespace(time=lambda: frozen, monotonic=time.monotonic)
    monkeypatch.setattr(linkcache, "time", clock)
    for n in range(300):
        assert linkcache.resolve_link(junk(n)) is None

    redis_cache = cast(Any, cache)  # django-redis: keys() lists what the cache holds
    shared = [key for key in redis_cache.keys("link:v4:*") if "misses" not in key]
    assert len(shared) == 50
    # Past the budget, junk is still remembered in this process.
    with django_assert_num_queries(0):
        assert linkcache.resolve_link(junk(299)) is None


def test_a_process_local_shared_cache_takes_no_junk_ids(settings: Any) -> None:
    # Local memory (the embedded default) keeps 300 entries: junk would cull the dashboard's
    # cached figures and the rate-limit counters, for nothing this process does not remember.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}
    }
    cache.set("analytics:overview:days=30", "figures", 60)
    for n in range(400):
        assert linkcache.resolve_link(junk(n)) is None

    assert not any(cache.get(f"link:v4:{junk(n)}") for n in range(400))
    assert cache.get("analytics:overview:days=30") == "figures"
