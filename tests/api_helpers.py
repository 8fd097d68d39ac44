"""Helpers shared by the API tests: keys with chosen scopes and clients that send them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client
from django.utils import timezone

from tracking.api.auth import SCOPES
from tracking.models import APIKey

ALL_SCOPES = list(SCOPES)

# Seed 001, "Create Tracked Link" and "Record Click Event", verbatim.
SEED_CREATE_BODY: dict[str, Any] = {
    "original_url": "https://linkedin.com/in/steve-glen",
    "link_function": "LinkedIn",
    "job_id": "uuid",
    "application_id": "uuid",
    "link_type": "profile",
}
SEED_RECORD_CLICK_BODY: dict[str, Any] = {
    "tracking_id": "lt_abc123def456",
    "clicked_at": "2025-07-27T21:15:30Z",
    "ip_address": "192.168.1.100",
    "user_agent": "Mozilla/5.0...",
    "click_source": "email",
}
# Seed 001, "External Domain Integration": essential data for sending click events.
SEED_CLICK_EVENT_BODY: dict[str, Any] = {
    "tracking_id": "lt_abc123def456",
    "clicked_at": "2025-07-27T21:15:30Z",
    "ip_address": "192.168.1.100",
    "user_agent": "Mozilla/5.0...",
    "referrer_url": "https://gmail.com",
    "click_source": "email",
}
# Seed 000 sample ids.
SEED_JOB_ID = "550e8400-e29b-41d4-a716-446655440000"
SEED_APPLICATION_ID = "550e8400-e29b-41d4-a716-446655440001"


def make_key(
    scopes: list[str] | None = None,
    *,
    name: str = "test key",
    revoked: bool = False,
    expiry_date: dt.datetime | None = None,
) -> str:
    """Create an API key and return the key itself (what a client sends)."""
    api_key, key = APIKey.objects.create_key(
        name=name, scopes=ALL_SCOPES if scopes is None else scopes, expiry_date=expiry_date
    )
    if revoked:
        api_key.revoked = True
        api_key.save()
    return key


def expired_key() -> str:
    return make_key(expiry_date=timezone.now() - dt.timedelta(minutes=1))


def key_client(key: str, **extra: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Api-Key {key}", **extra)


def post_json(client: Client, path: str, body: Any, **extra: Any) -> Any:
    return client.post(path, body, content_type="application/json", **extra)


def patch_json(client: Client, path: str, body: Any, **extra: Any) -> Any:
    return client.patch(path, body, content_type="application/json", **extra)


def error_of(response: Any) -> dict[str, Any]:
    """The ``error`` object of a JSON error response (asserting the one shape)."""
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]
