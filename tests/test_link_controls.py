"""Link settings on the redirect and through the API: expiry, the person-click cap, fallback URL,
UTM tags, and the 400 for fields the API does not take."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import key_client, make_key, make_sent_link
from tests.test_redirect import BROWSER_HEADERS, DESTINATION, visit
from tracking import controls, linkcache, services
from tracking.classify import ClickSignals
from tracking.models import Classification, LinkClick, TrackedLink

pytestmark = pytest.mark.django_db


def scan(client: Client, tracking_id: str) -> Any:
    """An email scanner's look at the link: a HEAD request (classified as a scanner)."""
    return client.head(reverse("tracking:redirect", args=[tracking_id]), **BROWSER_HEADERS)


def freeze(monkeypatch: pytest.MonkeyPatch, instant: dt.datetime) -> None:
    monkeypatch.setattr(controls.time, "time", lambda: instant.timestamp())


# --- Expiry ----------------------------------------------------------------------------------


def test_a_link_expires_at_the_exact_second(monkeypatch: pytest.MonkeyPatch) -> None:
    expires = dt.datetime(2030, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
    tracking_id = make_sent_link(expires_at=expires)
    freeze(monkeypatch, expires - dt.timedelta(microseconds=1))
    assert visit(Client(), tracking_id).status_code == 302
    freeze(monkeypatch, expires)
    response = visit(Client(), tracking_id)
    assert response.status_code == 410
    assert b"This link has expired" in response.content
    assert response["Cache-Control"] == "no-store"
    assert LinkClick.objects.filter(tracking_id=tracking_id).count() == 1


def test_an_expired_link_with_a_fallback_sends_visitors_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tracking_id = make_sent_link(
        expires_at=timezone.now() - dt.timedelta(seconds=1),
        fallback_url="https://example.org/closed",
    )
    response = visit(Client(), tracking_id)
    assert response.status_code == 302
    assert response["Location"] == "https://example.org/closed"


def test_a_fallback_url_passes_the_destination_rules() -> None:
    with pytest.raises(services.ValidationFailed) as refused:
        services.create_tracked_link(
            original_url=DESTINATION,
            link_function="LinkedIn",
            link_type="profile",
            fallback_url="http://127.0.0.1/admin",
        )
    assert refused.value.field == "fallback_url"


# --- The person-click cap --------------------------------------------------------------------


def test_the_cap_counts_person_clicks_only() -> None:
    tracking_id = make_sent_link(max_person_clicks=2, fallback_url="https://example.org/full")
    client = Client()
    for _ in range(5):  # scanners neither use the cap up nor get the fallback before it is reached
        assert scan(client, tracking_id)["Location"] == DESTINATION
    assert visit(client, tracking_id)["Location"] == DESTINATION
    assert visit(client, tracking_id)["Location"] == DESTINATION
    assert visit(client, tracking_id)["Location"] == "https://example.org/full"
    assert scan(client, tracking_id)["Location"] == "https://example.org/full"
    people = LinkClick.objects.filter(tracking_id=tracking_id, classification=Classification.HUMAN)
    assert people.count() == 2


def test_the_cap_starts_from_the_stored_person_clicks() -> None:
    tracking_id = make_sent_link(max_person_clicks=1)
    visit(Client(), tracking_id)
    controls.cache.delete(controls._counter_key(tracking_id))  # a recount, as after a restart
    assert visit(Client(), tracking_id).status_code == 410


def test_concurrent_clicks_never_share_a_count() -> None:
    tracking_id = make_sent_link(max_person_clicks=5)
    link = linkcache.resolve_link(tracking_id)
    assert link is not None
    signals = ClickSignals(
        user_agent=BROWSER_HEADERS["HTTP_USER_AGENT"],
        client_ip="198.51.100.23",
        has_accept_language=True,
        link_created_at=timezone.now() - dt.timedelta(hours=1),
        application_id=None,
    )
    assert not controls.over_cap(link, http_method="GET", signals=signals)  # seeds the counter
    verdicts: list[bool] = []
    barrier = threading.Barrier(16)

    def click() -> None:
        barrier.wait()
        verdicts.append(controls.over_cap(link, http_method="GET", signals=signals))

    threads = [threading.Thread(target=click) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert verdicts.count(False) == 4  # 1 + 4 = the cap of 5, whatever the interleaving


# --- UTM tags --------------------------------------------------------------------------------


def test_utm_tags_are_appended_and_existing_parameters_kept() -> None:
    tracking_id = make_sent_link(
        original_url="https://example.org/portfolio?lang=en&utm_source=cv",
        utm_source="email",
        utm_medium="job-application",
        utm_campaign="acme data",
    )
    location = visit(Client(), tracking_id)["Location"]
    assert location == (
        "https://example.org/portfolio?lang=en&utm_source=cv"
        "&utm_medium=job-application&utm_campaign=acme+data"
    )
    assert location.count("utm_source") == 1


def test_a_visitors_query_never_adds_utm_tags() -> None:
    tracking_id = make_sent_link(utm_source="email")
    location = visit(Client(), tracking_id, query="utm_source=evil&next=https://evil.test")[
        "Location"
    ]
    assert location == f"{DESTINATION}?utm_source=email"


def test_changing_a_setting_reaches_the_redirect_at_once() -> None:
    tracking_id = make_sent_link()
    assert visit(Client(), tracking_id)["Location"] == DESTINATION
    services.update_tracked_link(tracking_id=tracking_id, utm_content="v2")
    assert visit(Client(), tracking_id)["Location"] == f"{DESTINATION}?utm_content=v2"


# --- The API ---------------------------------------------------------------------------------

SETTINGS_BODY: dict[str, Any] = {
    "original_url": "https://example.org/cv.pdf",
    "link_function": "Resume",
    "link_type": "document",
    "expires_at": "2030-01-31T23:59:59Z",
    "max_person_clicks": 3,
    "password": "open sesame",
    "fallback_url": "https://example.org/closed",
    "utm_source": "email",
}


@pytest.mark.parametrize("path", ["/api/link-tracking/create", "/api/v1/links"])
def test_the_api_stores_the_settings(path: str) -> None:
    client = key_client(make_key(["links:write"]))
    response = client.post(path, SETTINGS_BODY, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json().get("link", response.json())
    expires = dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert expires == dt.datetime(2030, 1, 31, 23, 59, 59, tzinfo=dt.UTC)
    assert body["max_person_clicks"] == 3
    assert body["has_password"] is True
    assert "password" not in body
    link = TrackedLink.objects.get(pk=body["tracking_id"])
    assert link.password_hash and link.password_hash != "open sesame"
    assert link.fallback_url == "https://example.org/closed"
    assert link.utm_source == "email"


@pytest.mark.parametrize("path", ["/api/link-tracking/create", "/api/v1/links"])
def test_the_api_names_fields_it_does_not_take(path: str) -> None:
    client = key_client(make_key(["links:write"]))
    body = {**SETTINGS_BODY, "expires": "2030-01-01", "max_clicks": 3}
    response = client.post(path, body, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"expires", "max_clicks"}
    assert not TrackedLink.objects.exists()


def test_patch_clears_and_changes_settings() -> None:
    tracking_id = make_sent_link(max_person_clicks=3, password="pw")
    client = key_client(make_key(["links:write"]))
    url = reverse("api:link-detail", args=[tracking_id])
    body = {"max_person_clicks": None, "password": "", "utm_term": "x"}
    response = client.patch(url, body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["max_person_clicks"] is None
    assert response.json()["has_password"] is False
    assert response.json()["utm_term"] == "x"
    response = client.patch(url, {"colour": "red"}, content_type="application/json")
    assert response.status_code == 400
    assert "colour" in response.json()["error"]["fields"]


def test_the_api_refuses_a_cap_below_one() -> None:
    client = key_client(make_key(["links:write"]))
    response = client.post(
        "/api/v1/links", {**SETTINGS_BODY, "max_person_clicks": 0}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "max_person_clicks" in response.json()["error"]["fields"]
