"""``/api/v1/webhooks``: endpoints created with the link URL rules, the secret shown once."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from notifications.models import Webhook
from tests.factories import key_client, make_key
from tracking.models import Job

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/linktrack"


@pytest.fixture
def client() -> Client:
    return key_client(make_key(["webhooks:write"]))


def test_a_created_webhook_shows_its_secret_once(client: Client) -> None:
    job = Job.objects.create(title="Data Analyst", company_name="Fabrikam")
    body = {"url": URL, "event_types": ["click.person"], "job_id": str(job.id)}
    created = client.post("/api/v1/webhooks", body, content_type="application/json")
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    assert Webhook.objects.get().secret == secret
    again = client.get(f"/api/v1/webhooks/{created.json()['id']}")
    assert again.status_code == 200
    assert "secret" not in again.json()
    assert again.json()["job_id"] == str(job.id)
    assert "secret" not in client.get("/api/v1/webhooks").json()["results"][0]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.0.0.5/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "ftp://hooks.example.com/",
        "https://user:pw@hooks.example.com/",
    ],
)
def test_destinations_follow_the_link_url_rules(client: Client, url: str) -> None:
    response = client.post("/api/v1/webhooks", {"url": url}, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "url" in response.json()["error"]["fields"]
    assert not Webhook.objects.exists()


def test_a_lan_receiver_is_allowed_when_configured(client: Client, settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    body = {"url": "http://192.168.1.20:8080/hook"}
    assert client.post("/api/v1/webhooks", body, content_type="application/json").status_code == 201


def test_an_unknown_event_type_is_refused_by_name(client: Client) -> None:
    body = {"url": URL, "event_types": ["click.anyone"]}
    response = client.post("/api/v1/webhooks", body, content_type="application/json")
    assert response.status_code == 400
    assert any(name.startswith("event_types") for name in response.json()["error"]["fields"])


def test_re_activating_an_endpoint_clears_its_failures(client: Client) -> None:
    webhook = Webhook.objects.create(
        url=URL, is_active=False, consecutive_failures=5, disabled_reason="Disabled after 5"
    )
    response = client.patch(
        f"/api/v1/webhooks/{webhook.id}", {"is_active": True}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["consecutive_failures"] == 0
    assert response.json()["disabled_reason"] == ""


def test_a_key_without_the_scope_is_refused() -> None:
    response = key_client(make_key(["links:write"])).get("/api/v1/webhooks")
    assert response.status_code == 403
