"""Who may call what: API keys with scopes, revoked and expired keys, staff and other sessions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string

from tests.factories import (
    ALL_SCOPES,
    expired_key,
    key_client,
    logged_in_client,
    make_application,
    make_key,
    make_link,
    make_tracking_staff,
    make_user,
)
from tests.support import error_of
from tracking.models import APIKey

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    scope: str
    ok: int
    body: dict[str, Any] | None = field(default=None)
    also: tuple[str, ...] = ()  # other scopes that serve it as well

    @property
    def scopes(self) -> tuple[str, ...]:
        return (self.scope, *self.also)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ENDPOINTS = [
    Endpoint(
        "post",
        "/api/link-tracking/create",
        "links:write",
        201,
        {
            "original_url": "https://example.org/cv",
            "link_function": "Resume",
            "link_type": "document",
        },
    ),
    Endpoint(
        "post", "/api/link-tracking/record-click", "clicks:write", 201, {"tracking_id": "lt_auth"}
    ),
    Endpoint(
        "post",
        "/api/link-tracking/record-clicks",
        "clicks:write",
        200,
        {"clicks": [{"tracking_id": "lt_auth"}]},
    ),
    Endpoint("get", "/api/link-tracking/analytics/lt_auth", "analytics:read", 200),
    Endpoint("get", "/api/link-tracking/links/lt_auth", "links:read", 200),
    Endpoint("get", "/api/link-tracking/jobs/{job}/summary", "analytics:read", 200),
    Endpoint("get", "/api/link-tracking/report?days=30", "analytics:read", 200),
    Endpoint("get", "/api/v1/links", "links:read", 200),
    Endpoint(
        "post",
        "/api/v1/links",
        "links:write",
        201,
        {
            "original_url": "https://example.org/gh",
            "link_function": "GitHub",
            "link_type": "profile",
        },
    ),
    Endpoint("get", "/api/v1/links/lt_auth", "links:read", 200),
    Endpoint("patch", "/api/v1/links/lt_auth", "links:write", 200, {"description": "Changed"}),
    Endpoint("delete", "/api/v1/links/lt_auth", "links:write", 204),
    Endpoint("post", "/api/v1/links/lt_auth/deactivate", "links:write", 200),
    Endpoint("get", "/api/v1/links/lt_auth/clicks", "links:read", 200, also=("clicks:read",)),
    Endpoint("get", "/api/v1/clicks", "links:read", 200, also=("clicks:read",)),
    Endpoint("get", "/api/v1/jobs", "links:read", 200),
    Endpoint("post", "/api/v1/jobs", "links:write", 201, {"title": "Engineer"}),
    Endpoint("get", "/api/v1/jobs/{job}", "links:read", 200),
    Endpoint("patch", "/api/v1/jobs/{job}", "links:write", 200, {"location": "Remote"}),
    Endpoint("delete", "/api/v1/jobs/{job}", "links:write", 204),
    Endpoint("get", "/api/v1/applications", "links:read", 200),
    Endpoint("post", "/api/v1/applications", "links:write", 201, {"job_id": "{job}"}),
    Endpoint("get", "/api/v1/applications/{application}", "links:read", 200),
    Endpoint(
        "patch", "/api/v1/applications/{application}", "links:write", 200, {"status": "submitted"}
    ),
    Endpoint("delete", "/api/v1/applications/{application}", "links:write", 204),
]


@pytest.fixture
def world() -> dict[str, str]:
    application = make_application()
    make_link(tracking_id="lt_auth", job=application.job, application=application)
    return {"job": str(application.job.id), "application": str(application.id)}


def call(client: Client, endpoint: Endpoint, world: dict[str, str]) -> Any:
    path = endpoint.path.format(**world)
    if endpoint.body is None:
        return getattr(client, endpoint.method)(path)
    body = {k: v.format(**world) if isinstance(v, str) else v for k, v in endpoint.body.items()}
    return getattr(client, endpoint.method)(path, body, content_type="application/json")


@pytest.fixture(params=ENDPOINTS, ids=str)
def endpoint(request: pytest.FixtureRequest) -> Endpoint:
    return request.param


def test_a_key_with_the_scope_is_served(endpoint: Endpoint, world: dict[str, str]) -> None:
    response = call(key_client(make_key([endpoint.scope])), endpoint, world)
    assert response.status_code == endpoint.ok, response.content


def test_no_credentials_is_401_asking_for_an_api_key(
    endpoint: Endpoint, world: dict[str, str]
) -> None:
    response = call(Client(), endpoint, world)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert error_of(response)["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Api-Key abcdefgh.wrongsecretwrongsecretwrongsecret", "Invalid API key."),
        ("Api-Key nodot", "Invalid API key."),
        ("Api-Key two parts", "Invalid Authorization header"),
        ("Api-Key", "Invalid Authorization header"),
    ],
)
def test_a_wrong_key_is_401(
    endpoint: Endpoint, world: dict[str, str], header: str, message: str
) -> None:
    response = call(Client(HTTP_AUTHORIZATION=header), endpoint, world)
    assert response.status_code == 401
    assert error_of(response)["message"].startswith(message)


def test_a_revoked_key_is_401(endpoint: Endpoint, world: dict[str, str]) -> None:
    response = call(key_client(make_key(revoked=True)), endpoint, world)
    assert response.status_code == 401
    assert error_of(response)["message"] == "This API key has been revoked."


def test_an_expired_key_is_401(endpoint: Endpoint, world: dict[str, str]) -> None:
    response = call(key_client(expired_key()), endpoint, world)
    assert response.status_code == 401
    assert error_of(response)["message"] == "This API key has expired."


def test_a_key_without_the_scope_is_403_naming_it(
    endpoint: Endpoint, world: dict[str, str]
) -> None:
    others = [scope for scope in ALL_SCOPES if scope not in endpoint.scopes]
    response = call(key_client(make_key(others)), endpoint, world)
    assert response.status_code == 403
    named = " or ".join(f"'{scope}'" for scope in endpoint.scopes)
    assert error_of(response)["message"] == f"This API key lacks the {named} scope."


def test_a_staff_session_with_the_model_permissions_is_served(
    endpoint: Endpoint, world: dict[str, str]
) -> None:
    client = logged_in_client(make_tracking_staff())
    response = call(client, endpoint, world)
    assert response.status_code == endpoint.ok, response.content


def test_a_staff_session_without_permissions_is_403(
    endpoint: Endpoint, world: dict[str, str]
) -> None:
    client = logged_in_client(make_user("staff"))
    response = call(client, endpoint, world)
    assert response.status_code == 403
    assert error_of(response)["message"].startswith("Your account lacks the permission tracking.")


def test_a_non_staff_session_is_403(endpoint: Endpoint, world: dict[str, str]) -> None:
    client = logged_in_client(make_user("someone", staff=False))
    response = call(client, endpoint, world)
    assert response.status_code == 403
    assert error_of(response)["message"] == "Only staff users may use the API with a session."


# --- Details ---------------------------------------------------------------------------------


def test_revoking_a_key_takes_effect_on_the_next_request(world: dict[str, str]) -> None:
    key = make_key()
    client = key_client(key)
    assert client.get("/api/v1/links").status_code == 200
    api_key = APIKey.objects.get_from_key(key)
    api_key.revoked = True
    api_key.save()
    assert client.get("/api/v1/links").status_code == 401


def test_a_key_expiring_now_stops_working_now(world: dict[str, str]) -> None:
    key = make_key()
    client = key_client(key)
    assert client.get("/api/v1/links").status_code == 200
    APIKey.objects.filter(prefix=key.partition(".")[0]).update(
        expiry_date=timezone.now() - dt.timedelta(seconds=1)
    )
    assert client.get("/api/v1/links").status_code == 401


def test_using_a_key_records_when_it_was_last_used(world: dict[str, str]) -> None:
    key = make_key()
    prefix = key.partition(".")[0]
    assert APIKey.objects.get(prefix=prefix).last_used_at is None
    key_client(key).get("/api/v1/links")
    assert APIKey.objects.get(prefix=prefix).last_used_at is not None


def test_only_the_hash_of_a_key_is_stored(world: dict[str, str]) -> None:
    key = make_key()
    prefix, _, secret = key.partition(".")
    stored = APIKey.objects.get(prefix=prefix)
    assert secret not in stored.hashed_key and secret not in stored.id


def test_session_writes_need_the_csrf_token(world: dict[str, str]) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_tracking_staff())
    path = "/api/v1/links/lt_auth"
    refused = client.patch(path, {"description": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in error_of(refused)["message"]
    token = get_random_string(32)  # a CSRF secret, as the csrftoken cookie holds it
    client.cookies["csrftoken"] = token
    accepted = client.patch(
        path, {"description": "x"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 200


def test_an_inactive_staff_account_is_not_served(world: dict[str, str]) -> None:
    user = make_user("staff")
    client = logged_in_client(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get("/api/v1/links").status_code in {401, 403}


def test_the_schema_and_docs_are_public(world: dict[str, str]) -> None:
    assert Client().get("/api/schema/").status_code == 200
    assert Client().get("/api/docs/").status_code == 200
