from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from tracking import services
from tracking.models import TrackedLink

pytestmark = pytest.mark.django_db


def test_health_is_routed_before_the_redirect() -> None:
    assert reverse("tracking:health") == "/track/health"


def test_a_healthy_service_answers_200_with_its_state(settings: Any) -> None:
    response = Client().get("/track/health")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == settings.LINKTRACK_VERSION
    assert body["click_mode"] == "direct"
    assert body["database"] == {"status": "ok", "vendor": connection.vendor}
    assert body["cache"]["status"] == "ok"
    assert body["clicks"] == {
        "status": "ok",
        "mode": "direct",
        "suppressed_by_rate_limit": 0,
        "backlog_max_age_seconds": settings.CLICK_BACKLOG_MAX_AGE_SECONDS,
        "spool_bytes": 0,
        "oldest_spooled_age_seconds": None,
    }


def test_a_database_outage_answers_503(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_cursor(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = Client().get("/track/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"]["status"] == "error"
    assert body["database"]["error"] == "OperationalError"


@pytest.mark.usefixtures("cache_down")
def test_a_cache_outage_answers_503() -> None:
    response = Client().get("/track/health")
    assert response.status_code == 503
    body = response.json()
    assert body["cache"] == {"backend": "RedisCache", "status": "error"}
    assert body["database"]["status"] == "ok"


@pytest.mark.redis
def test_the_real_redis_cache_is_reported_healthy() -> None:
    body = Client().get("/track/health").json()
    assert body["cache"] == {"backend": "RedisCache", "status": "ok"}


def test_health_cannot_be_taken_by_a_link() -> None:
    with pytest.raises(services.ValidationFailed) as error:
        services.create_tracked_link(
            tracking_id="health",
            original_url="https://linkedin.com/in/steve-glen",
            link_function="LinkedIn",
            link_type="profile",
        )
    assert error.value.field == "tracking_id"
    assert "reserved" in error.value.message
    assert not TrackedLink.objects.exists()
