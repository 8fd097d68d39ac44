"""The seed 001 endpoints under /api/link-tracking/, with the seed's own example payloads."""

from __future__ import annotations

import datetime as dt
import types
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from tests.factories import (
    CHROME,
    key_client,
    make_application,
    make_click,
    make_job,
    make_key,
    make_link,
    make_user,
)
from tests.support import error_of, post_json
from tracking import services
from tracking.models import APIKey, Job, LinkClick, TrackedLink

pytestmark = pytest.mark.django_db

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


@pytest.fixture
def client() -> Client:
    return key_client(make_key())


@pytest.fixture
def seed_job() -> Job:
    job = make_job(id=SEED_JOB_ID, company_name="Example")
    make_application(job, id=SEED_APPLICATION_ID)
    return job


# As the seed tells it, the link was sent before its sample click of 2025-07-27 was made: a click
# before its link's creation is refused (test_a_click_before_its_link_was_created_is_refused).
SEED_LINK_CREATED_AT = dt.datetime(2025, 7, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def seed_link(seed_job: Job) -> str:
    """The seed's sample link ``lt_abc123def456`` tied to the seed's job and application,
    created on :data:`SEED_LINK_CREATED_AT`."""
    link = make_link(
        tracking_id="lt_abc123def456", job_id=SEED_JOB_ID, application_id=SEED_APPLICATION_ID
    )
    TrackedLink.objects.filter(pk=link.pk).update(created_at=SEED_LINK_CREATED_AT)
    return link.tracking_id


@pytest.fixture
def new_link(seed_link: str) -> str:
    """The seed link, created just now."""
    TrackedLink.objects.filter(pk=seed_link).update(created_at=timezone.now())
    return seed_link


# --- POST /api/link-tracking/create ---------------------------------------------------------


def test_create_with_the_seed_body_verbatim_names_the_placeholder_job_id(client: Client) -> None:
    response = post_json(client, "/api/link-tracking/create", SEED_CREATE_BODY)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "job_id" in error["fields"] and "application_id" in error["fields"]
    assert TrackedLink.objects.count() == 0


def test_create_with_the_seed_body_and_real_ids_returns_201_with_the_redirect_url(
    client: Client, seed_job: Job
) -> None:
    body = {**SEED_CREATE_BODY, "job_id": SEED_JOB_ID, "application_id": SEED_APPLICATION_ID}
    response = post_json(client, "/api/link-tracking/create", body)
    assert response.status_code == 201, response.content
    data = response.json()
    tracking_id = data["tracking_id"]
    assert data["redirect_url"] == f"https://links.example.com/track/{tracking_id}"
    assert data["link"]["original_url"] == "https://linkedin.com/in/steve-glen"
    assert data["link"]["job_id"] == SEED_JOB_ID
    assert data["link"]["application_id"] == SEED_APPLICATION_ID
    assert data["link"]["is_active"] is True
    prefix = APIKey.objects.get(name="test key").prefix
    assert data["link"]["created_by"] == f"api-key:test key ({prefix})"
    link = TrackedLink.objects.get(pk=tracking_id)
    assert (link.link_function, link.link_type) == ("LinkedIn", "profile")


def test_create_accepts_a_caller_chosen_tracking_id_once(client: Client) -> None:
    body = {**SEED_CREATE_BODY, "job_id": None, "application_id": None}
    body["tracking_id"] = "lt_abc123def456"
    assert post_json(client, "/api/link-tracking/create", body).status_code == 201
    again = post_json(client, "/api/link-tracking/create", body)
    assert again.status_code == 409
    assert error_of(again)["fields"] == {
        "tracking_id": ["A link with this tracking_id already exists."]
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"original_url": "javascript:alert(1)"}, "original_url"),
        ({"original_url": "http://127.0.0.1/admin"}, "original_url"),
        ({"original_url": "https://links.example.com/track/x"}, "original_url"),
        ({"link_function": None}, "link_function"),
        ({"link_function": "Linked In!"}, "link_function"),
        ({"link_type": ""}, "link_type"),
        ({"job_id": "not-a-uuid"}, "job_id"),
        ({"job_id": str(uuid.uuid4())}, "job_id"),
        ({"tracking_id": "has spaces"}, "tracking_id"),
        ({"description": ["not", "text"]}, "description"),
    ],
)
def test_create_rejects_bad_fields_by_name(
    client: Client, change: dict[str, Any], field: str
) -> None:
    body = {**SEED_CREATE_BODY, "job_id": None, "application_id": None, **change}
    response = post_json(client, "/api/link-tracking/create", body)
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert field in error["fields"]
    assert error["message"].startswith(field) or field in error["message"]


def test_create_without_the_required_fields_lists_each_of_them(client: Client) -> None:
    error = error_of(post_json(client, "/api/link-tracking/create", {}))
    assert set(error["fields"]) == {"original_url", "link_function", "link_type"}


# --- POST /api/link-tracking/record-click ---------------------------------------------------


def test_record_click_with_the_seed_body_verbatim_stores_the_click(
    client: Client, seed_link: str
) -> None:
    response = post_json(client, "/api/link-tracking/record-click", SEED_RECORD_CLICK_BODY)
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == {"click_id", "clicked_at"}
    assert data["clicked_at"] == "2025-07-27T21:15:30Z"
    click = LinkClick.objects.get(pk=data["click_id"])
    assert click.tracking_id == "lt_abc123def456"
    assert click.clicked_at == dt.datetime(2025, 7, 27, 21, 15, 30, tzinfo=dt.UTC)
    assert click.ip_address == "192.168.1.100"
    assert click.user_agent == "Mozilla/5.0..."
    assert click.click_source == "email"


def test_record_click_with_the_external_domain_event_verbatim_keeps_the_referrer(
    client: Client, seed_link: str
) -> None:
    response = post_json(client, "/api/link-tracking/record-click", SEED_CLICK_EVENT_BODY)
    assert response.status_code == 201, response.content
    click = LinkClick.objects.get(pk=response.json()["click_id"])
    assert click.referrer_url == "https://gmail.com"
    assert click.click_source == "email"


def test_record_click_detects_the_source_from_the_referrer_when_none_is_sent(
    client: Client, seed_link: str
) -> None:
    body = {"tracking_id": seed_link, "referrer_url": "https://www.linkedin.com/feed/"}
    response = post_json(client, "/api/link-tracking/record-click", body)
    assert LinkClick.objects.get(pk=response.json()["click_id"]).click_source == "linkedin"


def test_the_same_click_id_sent_twice_stores_one_click(client: Client, seed_link: str) -> None:
    click_id = str(uuid.uuid4())
    body = {**SEED_RECORD_CLICK_BODY, "click_id": click_id}
    first = post_json(client, "/api/link-tracking/record-click", body)
    second = post_json(client, "/api/link-tracking/record-click", body)
    assert first.status_code == second.status_code == 201
    assert first.json()["click_id"] == second.json()["click_id"] == click_id
    assert LinkClick.objects.filter(tracking_id=seed_link).count() == 1


def test_record_click_refuses_a_time_in_the_future(client: Client, seed_link: str) -> None:
    future = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    body = {**SEED_RECORD_CLICK_BODY, "clicked_at": future}
    response = post_json(client, "/api/link-tracking/record-click", body)
    assert response.status_code == 400
    assert "clicked_at" in error_of(response)["fields"]
    assert LinkClick.objects.count() == 0


def test_record_click_accepts_a_time_within_the_clock_skew(client: Client, seed_link: str) -> None:
    soon = (timezone.now() + dt.timedelta(seconds=30)).isoformat()
    body = {**SEED_RECORD_CLICK_BODY, "clicked_at": soon}
    assert post_json(client, "/api/link-tracking/record-click", body).status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"clicked_at": "yesterday"}, "clicked_at"),
        ({"ip_address": "999.1.1.1"}, "ip_address"),
        ({"click_id": "not-a-uuid"}, "click_id"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"click_source": "has space"}, "click_source"),
        ({"tracking_id": None}, "tracking_id"),
    ],
)
def test_record_click_names_the_bad_field(
    client: Client, seed_link: str, change: dict[str, Any], field: str
) -> None:
    response = post_json(
        client, "/api/link-tracking/record-click", {**SEED_RECORD_CLICK_BODY, **change}
    )
    assert response.status_code == 400, response.content
    assert field in error_of(response)["fields"]


def test_record_click_on_an_unknown_link_is_404(client: Client) -> None:
    response = post_json(client, "/api/link-tracking/record-click", SEED_RECORD_CLICK_BODY)
    assert response.status_code == 404
    assert error_of(response)["fields"] == {"tracking_id": ["No link has this tracking_id."]}


def test_record_click_on_an_inactive_link_is_409(client: Client, seed_link: str) -> None:
    services.set_link_active(tracking_id=seed_link, is_active=False)
    response = post_json(client, "/api/link-tracking/record-click", SEED_RECORD_CLICK_BODY)
    assert response.status_code == 409
    assert error_of(response)["code"] == "link_inactive"
    assert LinkClick.objects.count() == 0


# --- POST /api/link-tracking/record-clicks --------------------------------------------------


def test_a_batch_stores_the_good_clicks_and_says_why_the_others_were_rejected(
    client: Client, seed_link: str
) -> None:
    services.create_tracked_link(
        tracking_id="lt_off", original_url="https://example.org", link_function="X", link_type="y"
    )
    services.set_link_active(tracking_id="lt_off", is_active=False)
    future = (timezone.now() + dt.timedelta(days=1)).isoformat()
    clicks = [
        SEED_RECORD_CLICK_BODY,
        SEED_CLICK_EVENT_BODY,
        {"tracking_id": "lt_nobody"},
        {"tracking_id": "lt_off"},
        {"tracking_id": seed_link, "clicked_at": future},
        {"tracking_id": seed_link, "ip_address": "nope"},
        "not an object",
        {"referrer_url": "https://gmail.com"},
    ]
    response = post_json(client, "/api/link-tracking/record-clicks", {"clicks": clicks})
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["stored"], data["rejected"]) == (2, 6)
    results = data["results"]
    assert [r["index"] for r in results] == list(range(8))
    assert [r["status"] for r in results] == ["stored"] * 2 + ["rejected"] * 6
    reasons = [(r["error"]["code"], sorted(r["error"]["fields"])) for r in results[2:]]
    assert reasons == [
        ("not_found", ["tracking_id"]),
        ("link_inactive", ["tracking_id"]),
        ("invalid", ["clicked_at"]),
        ("invalid", ["ip_address"]),
        ("invalid", []),
        ("invalid", ["tracking_id"]),
    ]
    stored_ids = {r["click_id"] for r in results[:2]}
    assert set(map(str, LinkClick.objects.values_list("click_id", flat=True))) == stored_ids


def test_a_retried_batch_stores_each_click_id_once(client: Client, seed_link: str) -> None:
    clicks = [{**SEED_CLICK_EVENT_BODY, "click_id": str(uuid.uuid4())} for _ in range(3)]
    for _ in range(2):
        response = post_json(client, "/api/link-tracking/record-clicks", {"clicks": clicks})
        assert response.json()["stored"] == 3
    assert LinkClick.objects.count() == 3


def test_a_batch_of_1000_is_accepted_and_1001_is_refused(client: Client, seed_link: str) -> None:
    clicks = [{"tracking_id": seed_link, "session_id": f"s{i}"} for i in range(1000)]
    response = post_json(client, "/api/link-tracking/record-clicks", {"clicks": clicks})
    assert response.status_code == 200 and response.json()["stored"] == 1000
    assert LinkClick.objects.count() == 1000
    response = post_json(
        client, "/api/link-tracking/record-clicks", {"clicks": clicks + clicks[:1]}
    )
    assert response.status_code == 400
    assert "clicks" in error_of(response)["fields"]


@pytest.mark.parametrize(
    "body", [{}, {"clicks": []}, {"clicks": {"a": 1}}, [SEED_RECORD_CLICK_BODY]]
)
def test_a_malformed_batch_envelope_is_400(client: Client, body: Any) -> None:
    response = post_json(client, "/api/link-tracking/record-clicks", body)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"


# --- GET /api/link-tracking/links/<tracking_id> ---------------------------------------------


def test_links_returns_the_seeds_essential_data_for_receiving_links(
    client: Client, seed_link: str
) -> None:
    response = client.get("/api/link-tracking/links/lt_abc123def456")
    assert response.status_code == 200
    assert response.json() == {
        "tracking_id": "lt_abc123def456",
        "original_url": "https://linkedin.com/in/steve-glen",
        "is_active": True,
        "link_function": "LinkedIn",
        "job_id": SEED_JOB_ID,
        "application_id": SEED_APPLICATION_ID,
    }


def test_links_reports_an_inactive_link_as_inactive(client: Client, seed_link: str) -> None:
    services.set_link_active(tracking_id=seed_link, is_active=False)
    assert client.get(f"/api/link-tracking/links/{seed_link}").json()["is_active"] is False


def test_links_of_an_unknown_id_is_a_json_404(client: Client) -> None:
    response = client.get("/api/link-tracking/links/lt_nobody")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- GET /api/link-tracking/analytics/<tracking_id> -----------------------------------------


def test_analytics_returns_link_info_statistics_and_timeline(
    client: Client, seed_link: str
) -> None:
    base = dt.datetime(2025, 7, 27, 21, 0, tzinfo=dt.UTC)
    make_click(
        seed_link,
        clicked_at=base,
        session_id="s1",
        referrer_url="https://gmail.com",
        classification="human",
    )
    make_click(
        seed_link,
        clicked_at=base + dt.timedelta(minutes=5),
        session_id="s1",
        referrer_url="https://gmail.com",
        classification="human",
    )
    make_click(
        seed_link,
        clicked_at=base + dt.timedelta(minutes=9),
        session_id="s2",
        click_source="linkedin",
    )
    make_click(
        seed_link,
        clicked_at=base - dt.timedelta(minutes=1),
        classification="scanner",
        click_source="email",
    )
    response = client.get(f"/api/link-tracking/analytics/{seed_link}")
    assert response.status_code == 200, response.content
    data = response.json()
    assert set(data) == {"link_info", "click_statistics", "click_timeline"}
    assert data["link_info"]["tracking_id"] == seed_link
    assert data["link_info"]["original_url"] == "https://linkedin.com/in/steve-glen"
    stats = data["click_statistics"]
    assert stats["total_clicks"] == 4
    # The click without a classification (as seed 000's INSERT leaves it) is not a person's.
    assert (stats["human_clicks"], stats["automated_clicks"], stats["unclassified_clicks"]) == (
        2,
        1,
        1,
    )
    assert stats["unique_sessions"] == 2
    assert stats["first_click"].startswith("2025-07-27T20:59:00")
    assert stats["last_click"].startswith("2025-07-27T21:09:00")
    assert stats["by_source"] == {"email": 3, "linkedin": 1}
    assert stats["by_classification"] == {"human": 2, "scanner": 1, "unclassified": 1}
    timeline = data["click_timeline"]
    assert len(timeline) == 4
    assert timeline[0]["clicked_at"].startswith("2025-07-27T21:09:00")


def test_analytics_can_count_people_only_and_a_date_range(client: Client, seed_link: str) -> None:
    def person(when: dt.datetime) -> None:
        make_click(seed_link, clicked_at=when, classification="human")

    person(dt.datetime(2025, 7, 26, 12, tzinfo=dt.UTC))
    person(dt.datetime(2025, 7, 27, 12, tzinfo=dt.UTC))
    make_click(
        seed_link, clicked_at=dt.datetime(2025, 7, 27, 13, tzinfo=dt.UTC), classification="bot"
    )
    person(dt.datetime(2025, 7, 28, 12, tzinfo=dt.UTC))
    path = f"/api/link-tracking/analytics/{seed_link}"
    assert client.get(path).json()["click_statistics"]["total_clicks"] == 4
    people = client.get(path, {"include_automated": "false"}).json()["click_statistics"]
    assert people["total_clicks"] == 3 and people["automated_clicks"] == 1
    day = client.get(path, {"start": "2025-07-27", "end": "2025-07-27"}).json()
    assert day["click_statistics"]["total_clicks"] == 2
    assert len(day["click_timeline"]) == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "not-a-date"}, "start"),
        ({"end": "2025-13-45"}, "end"),
        ({"start": "2025-07-28", "end": "2025-07-27"}, "end"),
        ({"include_automated": "maybe"}, "include_automated"),
    ],
)
def test_analytics_names_a_bad_query_parameter(
    client: Client, seed_link: str, params: dict[str, str], field: str
) -> None:
    response = client.get(f"/api/link-tracking/analytics/{seed_link}", params)
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_analytics_of_an_unknown_link_is_404(client: Client) -> None:
    response = client.get("/api/link-tracking/analytics/lt_nobody")
    assert response.status_code == 404
    assert error_of(response)["fields"] == {"tracking_id": ["No link has this tracking_id."]}


# --- GET /api/link-tracking/jobs/<job_id>/summary -------------------------------------------


def test_job_summary_counts_links_clicks_and_sessions_per_function(
    client: Client, seed_link: str, seed_job: Job
) -> None:
    calendly = services.create_tracked_link(
        tracking_id="lt_calendly_002",
        original_url="https://calendly.com/steve-glen/30min",
        link_function="Calendly",
        link_type="networking",
        job_id=SEED_JOB_ID,
    )["tracking_id"]
    make_click(seed_link, session_id="a", classification="human")
    make_click(seed_link, session_id="a", classification="human")
    make_click(seed_link, session_id="b", classification="preview")
    make_click(calendly, session_id="c", classification="human")
    response = client.get(f"/api/link-tracking/jobs/{SEED_JOB_ID}/summary")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["job"]["id"] == SEED_JOB_ID and data["job"]["title"] == "Marketing Manager"
    rows = {row["link_function"]: row for row in data["link_functions"]}
    assert rows["LinkedIn"] == {
        "link_function": "LinkedIn",
        "link_count": 1,
        "total_clicks": 3,
        "unique_sessions": 2,
        "human_clicks": 2,
        "automated_clicks": 1,
        "unclassified_clicks": 0,
    }
    assert rows["Calendly"]["total_clicks"] == 1
    assert [row["link_function"] for row in data["link_functions"]] == ["LinkedIn", "Calendly"]
    people = client.get(
        f"/api/link-tracking/jobs/{SEED_JOB_ID}/summary", {"include_automated": "false"}
    ).json()
    assert {r["link_function"]: r["total_clicks"] for r in people["link_functions"]} == {
        "LinkedIn": 2,
        "Calendly": 1,
    }


def test_job_summary_of_an_unknown_job_is_404(client: Client) -> None:
    response = client.get(f"/api/link-tracking/jobs/{uuid.uuid4()}/summary")
    assert response.status_code == 404
    assert "job_id" in error_of(response)["fields"]


def test_job_summary_with_a_malformed_job_id_is_a_json_404(client: Client) -> None:
    response = client.get("/api/link-tracking/jobs/not-a-uuid/summary")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


# --- GET /api/link-tracking/report?days=30 --------------------------------------------------


def test_report_has_overall_statistics_function_performance_and_daily_trends(
    client: Client, seed_link: str
) -> None:
    now = timezone.now()
    make_click(seed_link, clicked_at=now - dt.timedelta(minutes=1), classification="human")
    make_click(seed_link, clicked_at=now - dt.timedelta(minutes=2), classification="scanner")
    make_click(seed_link, clicked_at=now - dt.timedelta(days=40), classification="human")
    response = client.get("/api/link-tracking/report?days=30")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["period"]["days"] == 30
    overall = data["overall_statistics"]
    assert overall["total_clicks"] == 2
    assert overall["human_clicks"] == 1 and overall["automated_clicks"] == 1
    assert data["function_performance"][0]["link_function"] == "LinkedIn"
    assert data["function_performance"][0]["total_clicks"] == 2
    assert len(data["daily_trends"]) == 30
    assert sum(day["total_clicks"] for day in data["daily_trends"]) == 2
    people = client.get("/api/link-tracking/report", {"include_automated": "false"}).json()
    assert people["overall_statistics"]["total_clicks"] == 1


@pytest.mark.parametrize("days", ["0", "-3", "abc", "100000"])
def test_report_names_a_bad_days_value(client: Client, days: str) -> None:
    response = client.get("/api/link-tracking/report", {"days": days})
    assert response.status_code == 400
    assert "days" in error_of(response)["fields"]


# --- Rate limits ----------------------------------------------------------------------------


@pytest.fixture
def frozen_ratelimit_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every call in one rate-limit window, so the count cannot reset mid-test."""
    import django_ratelimit.core

    frozen = types.SimpleNamespace(time=lambda: 1_800_000_000.0)
    monkeypatch.setattr(django_ratelimit.core, "time", frozen)


@pytest.mark.usefixtures("frozen_ratelimit_clock")
def test_the_101st_analytics_call_of_a_minute_is_429_with_retry_after(
    client: Client, seed_link: str
) -> None:
    path = f"/api/link-tracking/analytics/{seed_link}"
    for _ in range(100):
        assert client.get(path).status_code == 200
    response = client.get(path)
    assert response.status_code == 429
    assert error_of(response)["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60
    # The limit is per key: another key is still served, on every analytics endpoint.
    other = key_client(make_key(name="other"))
    assert other.get(path).status_code == 200
    assert client.get("/api/link-tracking/report").status_code == 429
    # Other endpoints are not analytics and stay available to the limited key.
    assert client.get(f"/api/link-tracking/links/{seed_link}").status_code == 200


@pytest.mark.usefixtures("frozen_ratelimit_clock")
def test_click_recording_is_limited_per_client_ip(
    client: Client, seed_link: str, settings: Any
) -> None:
    settings.CLICK_RATE_LIMIT = "3/m"
    body = {"tracking_id": seed_link}
    for _ in range(2):
        assert post_json(client, "/api/link-tracking/record-click", body).status_code == 201
    batch = {"clicks": [body, body]}
    assert post_json(client, "/api/link-tracking/record-clicks", batch).status_code == 200
    limited = post_json(client, "/api/link-tracking/record-click", body)
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert error_of(limited)["code"] == "rate_limited"
    elsewhere = post_json(client, "/api/link-tracking/record-click", body, REMOTE_ADDR="10.9.8.7")
    assert elsewhere.status_code == 201
    assert LinkClick.objects.count() == 5


@pytest.mark.usefixtures("frozen_ratelimit_clock")
def test_forwarded_addresses_count_only_behind_a_trusted_proxy(
    client: Client, seed_link: str, settings: Any
) -> None:
    settings.CLICK_RATE_LIMIT = "1/m"
    body = {"tracking_id": seed_link}
    spoofed = {"HTTP_X_FORWARDED_FOR": "203.0.113.1"}
    assert post_json(client, "/api/link-tracking/record-click", body, **spoofed).status_code == 201
    spoofed = {"HTTP_X_FORWARDED_FOR": "203.0.113.2"}
    assert post_json(client, "/api/link-tracking/record-click", body, **spoofed).status_code == 429
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]
    forwarded = {"HTTP_X_FORWARDED_FOR": "203.0.113.3"}
    assert (
        post_json(client, "/api/link-tracking/record-click", body, **forwarded).status_code == 201
    )


class _BrokenCache:
    def add(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache down")


class _IgnoringCache:
    """What django-redis does with DJANGO_REDIS_IGNORE_EXCEPTIONS when Redis is down."""

    def add(self, *args: Any, **kwargs: Any) -> None:
        return None

    def incr(self, *args: Any, **kwargs: Any) -> None:
        return None

    def get(self, *args: Any, **kwargs: Any) -> None:
        return None


@pytest.mark.parametrize("broken", [_BrokenCache(), _IgnoringCache()])
def test_rate_limits_fail_open_when_the_cache_is_down(
    client: Client, seed_link: str, settings: Any, monkeypatch: pytest.MonkeyPatch, broken: Any
) -> None:
    import django_ratelimit.core

    monkeypatch.setattr(django_ratelimit.core, "caches", {"default": broken})
    settings.CLICK_RATE_LIMIT = "1/m"
    settings.ANALYTICS_RATE_LIMIT = "1/m"
    for _ in range(3):
        body = {"tracking_id": seed_link}
        assert post_json(client, "/api/link-tracking/record-click", body).status_code == 201
        assert client.get(f"/api/link-tracking/analytics/{seed_link}").status_code == 200


# --- Query counts on the click-recording paths ------------------------------------------------


def test_a_warm_record_click_costs_the_key_lookup_and_one_insert(
    client: Client, seed_link: str, django_assert_num_queries: Any
) -> None:
    body = {"tracking_id": seed_link, "referrer_url": "https://gmail.com"}
    assert post_json(client, "/api/link-tracking/record-click", body).status_code == 201
    with django_assert_num_queries(2):
        assert post_json(client, "/api/link-tracking/record-click", body).status_code == 201


def test_a_batch_costs_the_key_lookup_one_link_query_and_one_insert(
    client: Client, seed_link: str, django_assert_num_queries: Any
) -> None:
    post_json(client, "/api/link-tracking/record-click", {"tracking_id": seed_link})
    other = services.create_tracked_link(
        original_url="https://example.org/", link_function="Portfolio", link_type="profile"
    )["tracking_id"]
    # 30 clicks: SQLite binds at most 999 parameters per statement, so Django splits a bulk
    # INSERT of more rows than 999 / (columns of link_clicks) into several.
    clicks = [
        {"tracking_id": tid, "session_id": f"s{i}"} for i in range(15) for tid in (seed_link, other)
    ]
    with django_assert_num_queries(3):
        response = post_json(client, "/api/link-tracking/record-clicks", {"clicks": clicks})
    assert response.json()["stored"] == 30


@pytest.mark.usefixtures("frozen_ratelimit_clock")
def test_a_staff_session_is_limited_per_user_on_analytics(seed_link: str, settings: Any) -> None:
    settings.ANALYTICS_RATE_LIMIT = "2/m"
    first, second = Client(), Client()
    view_links = Permission.objects.get(codename="view_trackedlink")
    for client, name in ((first, "ada"), (second, "grace")):
        user = make_user(name)
        user.user_permissions.add(view_links)
        client.force_login(user)
    for _ in range(2):
        assert first.get("/api/link-tracking/report").status_code == 200
    assert first.get("/api/link-tracking/report").status_code == 429
    assert second.get("/api/link-tracking/report").status_code == 200


# --- Classification of reported clicks --------------------------------------------------------


@pytest.fixture
def older_link(seed_link: str) -> str:
    """The seed link, created an hour ago (so a click now is not "soon after creation")."""
    TrackedLink.objects.filter(pk=seed_link).update(
        created_at=timezone.now() - dt.timedelta(hours=1)
    )
    return seed_link


@pytest.mark.parametrize(
    ("extra", "classification", "reason"),
    [
        ({"user_agent": CHROME}, "human", None),
        ({"user_agent": CHROME, "accept_language": "en-GB,en;q=0.9"}, "human", None),
        ({"user_agent": CHROME, "accept_language": ""}, "scanner", "no_accept_language"),
        ({"user_agent": CHROME, "http_method": "HEAD"}, "scanner", "head_request"),
        ({"user_agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"}, "bot", "crawler_agent"),
        ({}, "scanner", "empty_user_agent"),
    ],
)
def test_reported_clicks_are_classified_from_what_the_domain_sent(
    client: Client, older_link: str, extra: dict[str, Any], classification: str, reason: str | None
) -> None:
    body = {"tracking_id": older_link, **extra}
    response = post_json(client, "/api/link-tracking/record-click", body)
    assert response.status_code == 201, response.content
    click = LinkClick.objects.get(pk=response.json()["click_id"])
    assert click.classification == classification
    if reason is not None:
        assert reason in (click.classification_reasons or [])
    if extra.get("user_agent") == CHROME:
        assert (click.browser, click.os) == ("Chrome", "Windows")


def test_a_click_right_after_the_link_was_created_is_a_probable_scanner(
    client: Client, new_link: str
) -> None:
    body = {"tracking_id": new_link, "user_agent": CHROME}
    click_id = post_json(client, "/api/link-tracking/record-click", body).json()["click_id"]
    click = LinkClick.objects.get(pk=click_id)
    assert (click.classification, click.classification_reasons) == (
        "scanner",
        ["soon_after_creation"],
    )


def test_a_backfilled_click_made_after_its_link_was_created_is_a_person(
    client: Client, seed_link: str
) -> None:
    body = {**SEED_CLICK_EVENT_BODY, "user_agent": CHROME}
    click_id = post_json(client, "/api/link-tracking/record-click", body).json()["click_id"]
    assert LinkClick.objects.get(pk=click_id).classification == "human"


def test_a_click_before_its_link_was_created_is_refused(client: Client, new_link: str) -> None:
    # The seed's own example, sent for a link made today: nobody opened it in July 2025.
    response = post_json(client, "/api/link-tracking/record-click", SEED_RECORD_CLICK_BODY)
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "clicked_at" in error["fields"]
    assert error["message"].startswith(
        "clicked_at 2025-07-27T21:15:30+00:00 is before the link was created at "
    )
    assert "clock skew of 300 s" in error["message"]
    assert not LinkClick.objects.exists()


def test_a_click_within_the_clock_skew_before_its_link_is_stored_as_a_scanner(
    client: Client, new_link: str
) -> None:
    created = TrackedLink.objects.get(pk=new_link).created_at
    assert created is not None
    body = {
        "tracking_id": new_link,
        "user_agent": CHROME,
        "clicked_at": (created - dt.timedelta(minutes=4)).isoformat(),
    }
    response = post_json(client, "/api/link-tracking/record-click", body)
    assert response.status_code == 201, response.content
    click = LinkClick.objects.get(pk=response.json()["click_id"])
    assert (click.classification, click.classification_reasons) == (
        "scanner",
        ["soon_after_creation"],
    )
    late = {**body, "clicked_at": (created - dt.timedelta(minutes=6)).isoformat()}
    assert post_json(client, "/api/link-tracking/record-click", late).status_code == 400


def test_a_batch_rejects_a_click_before_its_link_and_stores_the_others(
    client: Client, new_link: str
) -> None:
    clicks = [{"tracking_id": new_link, "user_agent": CHROME}, SEED_RECORD_CLICK_BODY]
    response = post_json(client, "/api/link-tracking/record-clicks", {"clicks": clicks})
    assert response.status_code == 200, response.content
    first, second = response.json()["results"]
    assert first["status"] == "stored"
    assert second["status"] == "rejected"
    assert "is before the link was created" in second["error"]["message"]
    assert LinkClick.objects.count() == 1


def test_batch_clicks_are_classified_too(client: Client, older_link: str) -> None:
    clicks = [
        {"tracking_id": older_link, "user_agent": CHROME},
        {"tracking_id": older_link, "user_agent": "LinkedInBot/1.0 (compatible; Mozilla/5.0)"},
    ]
    results = post_json(client, "/api/link-tracking/record-clicks", {"clicks": clicks}).json()
    stored = [LinkClick.objects.get(pk=r["click_id"]).classification for r in results["results"]]
    assert stored == ["human", "preview"]
