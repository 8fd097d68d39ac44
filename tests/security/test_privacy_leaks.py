"""Personal data where it does not belong: e-mail addresses and credentials in a click's stored
metadata, full payloads in the dead-letter stream and the spool's rejected files, and in logs."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client, RequestFactory

from tests.api_helpers import key_client, make_key, post_json
from tests.clickdata import make_link
from tracking import services
from tracking.clicks import capture
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFsaWNlIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
HARMLESS = {
    "utm_source": "email",
    "utm_medium": "application",
    "utm_campaign": "SummerCampaign2025Launch",
    "utm_content": "linkedin-outreach-q3-2025",
    "utm_term": "senior backend engineer",
    "keyword": "python",
    "ref": "newsletter",
    "page": "https://www.example.com/jobs/view/3845792345/",
    "application": "550e8400-e29b-41d4-a716-446655440001",
    "order": "1" * 40,
}
# Each one alone in a query string must leave nothing behind.
SECRETS = {
    "email": "alice",
    "e-mail": "x",
    "to": "alice@example.com",
    "from": "Alice <alice.smith+jobs%40example.co.uk>",
    "token": "abc",
    "access_token": "abc",
    "accessToken": "abc",
    "apiKey": "abc",
    "api_key": "abc",
    "X-Api-Key": "abc",
    "client_secret": "abc",
    "password": "hunter2",
    "passwd": "hunter2",
    "auth": "abc",
    "Authorization": "Bearer abc",
    "session": "abc",
    "sessionid": "abc",
    "code": "123456",
    "otp": "123456",
    "sig": "abc",
    "id_token": "abc",
    "t": JWT,
    "r": "Bearer " + JWT,
    "h": secrets.token_hex(16),
    "k": secrets.token_hex(24).upper(),
    "s": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "u": "https://example.org/reset/" + "dBjftJeZ4CVPmB92K27uhbUJU1p1rwW1gFWFOEjXk",
    "gclid": "EAIaIQobChMIvN7jz8fW_AIVGeJ3Ch0QAAYASAAEgJd5fD_BwE",
    "alice@example.com": "1",
}


def _visit(query: dict[str, str]) -> LinkClick:
    link = make_link()
    response = Client().get(f"/track/{link.tracking_id}?{urlencode(query)}")
    assert response.status_code == 302
    return LinkClick.objects.get()


def test_the_redirect_keeps_utm_and_other_harmless_parameters() -> None:
    assert _visit(HARMLESS).metadata == HARMLESS


@pytest.mark.parametrize(("name", "value"), list(SECRETS.items()))
def test_the_redirect_drops_a_parameter_holding_an_address_or_a_credential(
    name: str, value: str
) -> None:
    metadata = _visit({"utm_source": "email", name: value}).metadata
    assert metadata == {"utm_source": "email"}


def test_secrets_never_reach_the_queued_click_either() -> None:
    """Buffered mode queues the captured fields unvalidated: the filter runs at capture."""
    link = make_link()
    request = RequestFactory().get("/track/x", {"utm_source": "email", **SECRETS})
    captured = capture.capture_request(request, link=_resolved(link.tracking_id))
    assert captured.fields["metadata"] == {"utm_source": "email"}


def _resolved(tracking_id: str) -> Any:
    from tracking import linkcache

    resolved = linkcache.resolve_link(tracking_id)
    assert resolved is not None
    return resolved


def test_a_reported_click_keeps_harmless_metadata_and_drops_secrets_at_any_depth() -> None:
    link = make_link()
    metadata = {
        **HARMLESS,
        "recipient": "bob@example.org",
        "nested": {"password": "x", "list": ["ok", JWT, 3], "note": "kept"},
        "count": 3,
    }
    response = post_json(
        key_client(make_key()),
        "/api/link-tracking/record-click",
        {"tracking_id": link.tracking_id, "metadata": metadata},
    )
    assert response.status_code == 201, response.content
    assert LinkClick.objects.get().metadata == {
        **HARMLESS,
        "nested": {"list": ["ok", 3], "note": "kept"},
        "count": 3,
    }


def test_the_service_layer_filters_metadata_for_every_caller() -> None:
    link = make_link()
    services.record_click(
        tracking_id=link.tracking_id,
        metadata={"utm_source": "email", "email": "alice@example.com"},
    )
    assert LinkClick.objects.get().metadata == {"utm_source": "email"}


def test_dropped_parameters_count_against_the_parameter_limit() -> None:
    """The checks run on at most QUERY_MAX_PARAMS parameters, whatever the query holds."""
    query = {f"token{i}": "x" for i in range(capture.QUERY_MAX_PARAMS)}
    query["utm_source"] = "email"
    assert _visit(query).metadata == {}
