from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from tests.factories import make_user
from tracking import services
from tracking.models import TrackedLink

pytestmark = pytest.mark.django_db

TOKEN = "health-token-for-the-tests-0123456789"


@pytest.fixture(autouse=True)
def _health_token(settings: Any) -> None:
    settings.HEALTH_TOKEN = TOKEN


def details(**extra: Any) -> Any:
    """``/track/health`` as a monitor holding the token sees it."""
    return Client().get("/track/health", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **extra)


def test_health_is_routed_before_the_redirect() -> None:
    assert reverse("tracking:health") == "/track/health"


def test_a_healthy_service_answers_200_with_its_state(settings: Any) -> None:
    response = details()
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
    response = details()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"]["status"] == "error"
    assert body["database"]["error"] == "OperationalError"


@pytest.mark.usefixtures("cache_down")
def test_a_cache_outage_answers_503() -> None:
    response = details()
    assert response.status_code == 503
    body = response.json()
    assert body["cache"] == {"backend": "RedisCache", "status": "error"}
    assert body["database"]["status"] == "ok"


@pytest.mark.redis
def test_the_real_redis_cache_is_reported_healthy() -> None:
    body = details().json()
    assert body["cache"] == {"backend": "RedisCache", "status": "ok"}


# --- Who sees what --------------------------------------------------------------------------


def test_an_anonymous_caller_gets_the_status_and_nothing_else() -> None:
    response = Client().get("/track/health")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {"status": "ok"}


def test_an_anonymous_caller_still_sees_an_outage_as_503(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_cursor(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = Client().get("/track/health")
    assert response.status_code == 503
    assert response.json() == {"status": "error"}


@pytest.mark.parametrize(
    "extra",
    [
        {"HTTP_AUTHORIZATION": "Bearer wrong-token-of-the-same-size-000000"},
        {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"},
        {"HTTP_AUTHORIZATION": f"Bearer {TOKEN[:-1]}"},
        {"QUERY_STRING": "token="},
    ],
    ids=["wrong token", "wrong scheme", "a prefix of the token", "empty token"],
)
def test_a_wrong_token_gets_the_status_only(extra: dict[str, Any]) -> None:
    assert Client().get("/track/health", **extra).json() == {"status": "ok"}


def test_without_a_configured_token_no_token_opens_the_details(settings: Any) -> None:
    settings.HEALTH_TOKEN = ""
    assert Client().get("/track/health", HTTP_AUTHORIZATION="Bearer ").json() == {"status": "ok"}
    assert Client().get("/track/health", {"token": ""}).json() == {"status": "ok"}


def test_the_token_opens_the_details_as_a_header_or_a_query_parameter() -> None:
    assert details().json()["database"]["vendor"] == connection.vendor
    by_query = Client().get("/track/health", {"token": TOKEN}).json()
    assert by_query["version"] and by_query["cache"]["backend"]


def test_a_staff_session_sees_the_details_and_a_plain_user_does_not() -> None:
    staff = make_user("ops", password="x")
    plain = make_user("visitor", staff=False, password="x")
    client = Client()
    client.force_login(plain)
    assert client.get("/track/health").json() == {"status": "ok"}
    client.force_login(staff)
    assert client.get("/track/health").json()["clicks"]["mode"] == "direct"


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


def test_a_short_health_token_stops_the_start() -> None:
    env = {**os.environ, "SECRET_KEY": "x", "HEALTH_TOKEN": "short"}
    result = subprocess.run(
        [sys.executable, "-c", "import linktrack.settings"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "HEALTH_TOKEN must be at least 16 characters" in result.stderr
