"""The resource API under /api/v1/: links, clicks, jobs and applications."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.test import Client

from tests.factories import key_client, make_click, make_key, make_link
from tests.support import error_of, patch_json, post_json
from tracking import linkcache, services
from tracking.models import Job, JobApplication, LinkClick, TrackedLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    return key_client(make_key())


@pytest.fixture
def job() -> Job:
    return services.create_job(title="Marketing Manager", company_name="Example Corp")


@pytest.fixture
def application(job: Job) -> JobApplication:
    return services.create_application(job_id=job.id)


def ids(response: Any, key: str = "tracking_id") -> list[str]:
    return [row[key] for row in response.json()["results"]]


# --- Links -----------------------------------------------------------------------------------


def test_links_can_be_filtered_by_job_application_function_type_and_state(
    client: Client, job: Job, application: JobApplication
) -> None:
    a = make_link(
        tracking_id="lt_a", job_id=job.id, application_id=application.id, link_function="LinkedIn"
    ).tracking_id
    b = make_link(
        tracking_id="lt_b", job_id=job.id, link_type="document", link_function="Resume"
    ).tracking_id
    c = make_link(tracking_id="lt_c").tracking_id
    services.set_link_active(tracking_id=c, is_active=False)
    assert sorted(ids(client.get("/api/v1/links"))) == [a, b, c]
    assert sorted(ids(client.get("/api/v1/links", {"job": str(job.id)}))) == [a, b]
    assert ids(client.get("/api/v1/links", {"application": str(application.id)})) == [a]
    assert ids(client.get("/api/v1/links", {"link_function": "Resume"})) == [b]
    assert ids(client.get("/api/v1/links", {"link_type": "document"})) == [b]
    assert sorted(ids(client.get("/api/v1/links", {"active": "true"}))) == [a, b]
    assert ids(client.get("/api/v1/links", {"active": "false"})) == [c]


def test_links_can_be_searched_and_filtered_by_creation_time(client: Client) -> None:
    old = make_link(tracking_id="lt_old", description="Résumé PDF").tracking_id
    new = make_link(tracking_id="lt_new", original_url="https://github.com/steve").tracking_id
    TrackedLink.objects.filter(pk=old).update(created_at=dt.datetime(2025, 1, 10, tzinfo=dt.UTC))
    assert ids(client.get("/api/v1/links", {"search": "github"})) == [new]
    assert ids(client.get("/api/v1/links", {"search": "résumé"})) == [old]
    assert ids(client.get("/api/v1/links", {"created_before": "2025-01-10"})) == [old]
    assert ids(client.get("/api/v1/links", {"created_after": "2025-01-11"})) == [new]
    assert ids(client.get("/api/v1/links", {"created_before": "2025-01-09"})) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"job": "nope"}, "job"),
        ({"active": "perhaps"}, "active"),
        ({"created_after": "July"}, "created_after"),
        ({"link_function": "x" * 51}, "link_function"),
        ({"search": "x\x00y"}, "search"),
    ],
)
def test_a_bad_link_filter_is_named(client: Client, params: dict[str, str], field: str) -> None:
    response = client.get("/api/v1/links", params)
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_links_are_paginated(client: Client) -> None:
    for i in range(7):
        make_link(tracking_id=f"lt_{i}")
    first = client.get("/api/v1/links", {"page_size": 3}).json()
    assert first["count"] == 7 and len(first["results"]) == 3 and first["previous"] is None
    assert "page=2" in first["next"]
    last = client.get("/api/v1/links", {"page_size": 3, "page": 3}).json()
    assert len(last["results"]) == 1 and last["next"] is None
    seen = {
        row["tracking_id"]
        for page in (1, 2, 3)
        for row in client.get("/api/v1/links", {"page_size": 3, "page": page}).json()["results"]
    }
    assert len(seen) == 7
    beyond = client.get("/api/v1/links", {"page": 9})
    assert beyond.status_code == 404 and error_of(beyond)["code"] == "not_found"


def test_a_link_can_be_created_read_changed_deactivated_and_deleted(
    client: Client, job: Job
) -> None:
    created = post_json(
        client,
        "/api/v1/links",
        {
            "original_url": "https://calendly.com/steve-glen/30min",
            "link_function": "Calendly",
            "link_type": "networking",
            "job_id": str(job.id),
            "description": "Book a call",
        },
    )
    assert created.status_code == 201, created.content
    tracking_id = created.json()["tracking_id"]
    path = f"/api/v1/links/{tracking_id}"
    assert client.get(path).json()["description"] == "Book a call"

    changed = patch_json(client, path, {"original_url": "https://calendly.com/steve-glen/60min"})
    assert changed.status_code == 200
    assert changed.json()["original_url"] == "https://calendly.com/steve-glen/60min"
    assert linkcache.resolve_link(tracking_id).original_url.endswith("/60min")  # type: ignore[union-attr]

    deactivated = client.post(f"{path}/deactivate")
    assert deactivated.status_code == 200 and deactivated.json()["is_active"] is False
    assert linkcache.resolve_link(tracking_id) is None

    make_click(tracking_id)
    assert client.delete(path).status_code == 204
    assert not TrackedLink.objects.filter(pk=tracking_id).exists()
    assert not LinkClick.objects.filter(tracking_id=tracking_id).exists()
    assert client.get(path).status_code == 404


def test_a_patch_is_validated_by_the_service(client: Client) -> None:
    tracking_id = make_link().tracking_id
    response = patch_json(client, f"/api/v1/links/{tracking_id}", {"original_url": "ftp://x.org"})
    assert response.status_code == 400
    assert "original_url" in error_of(response)["fields"]
    response = patch_json(client, f"/api/v1/links/{tracking_id}", {"is_active": "sometimes"})
    assert "is_active" in error_of(response)["fields"]


def test_put_is_not_offered(client: Client) -> None:
    tracking_id = make_link().tracking_id
    response = client.put(f"/api/v1/links/{tracking_id}", {}, content_type="application/json")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "PATCH" in response["Allow"]


def test_a_links_clicks_are_listed_newest_first_and_filtered(client: Client) -> None:
    tracking_id = make_link().tracking_id
    other = make_link().tracking_id
    base = dt.datetime(2025, 7, 27, 12, tzinfo=dt.UTC)
    first = make_click(tracking_id, clicked_at=base, click_source="email", classification="human")
    second = make_click(
        tracking_id,
        clicked_at=base + dt.timedelta(hours=1),
        click_source="linkedin",
        classification="scanner",
    )
    make_click(other, clicked_at=base)
    path = f"/api/v1/links/{tracking_id}/clicks"
    assert ids(client.get(path), "click_id") == [str(second.click_id), str(first.click_id)]
    assert ids(client.get(path, {"source": "email"}), "click_id") == [str(first.click_id)]
    assert ids(client.get(path, {"classification": "scanner"}), "click_id") == [
        str(second.click_id)
    ]
    assert client.get("/api/v1/links/lt_nobody/clicks").status_code == 404


# --- Clicks ----------------------------------------------------------------------------------


def test_clicks_can_be_filtered_by_dates_source_job_and_application(
    client: Client, job: Job, application: JobApplication
) -> None:
    of_app = make_link(job_id=job.id, application_id=application.id).tracking_id
    of_job = make_link(job_id=job.id).tracking_id
    loose = make_link().tracking_id
    early = make_click(
        of_app, clicked_at=dt.datetime(2025, 7, 1, 9, tzinfo=dt.UTC), click_source="email"
    )
    middle = make_click(of_job, clicked_at=dt.datetime(2025, 7, 15, 9, tzinfo=dt.UTC))
    late = make_click(loose, clicked_at=dt.datetime(2025, 7, 31, 23, tzinfo=dt.UTC))
    key = "click_id"
    everything = ids(client.get("/api/v1/clicks"), key)
    assert everything == [str(late.click_id), str(middle.click_id), str(early.click_id)]
    assert ids(client.get("/api/v1/clicks", {"start": "2025-07-02", "end": "2025-07-31"}), key) == [
        str(late.click_id),
        str(middle.click_id),
    ]
    assert ids(client.get("/api/v1/clicks", {"end": "2025-07-30"}), key) == [
        str(middle.click_id),
        str(early.click_id),
    ]
    assert ids(client.get("/api/v1/clicks", {"source": "email"}), key) == [str(early.click_id)]
    assert sorted(ids(client.get("/api/v1/clicks", {"job": str(job.id)}), key)) == sorted(
        [str(early.click_id), str(middle.click_id)]
    )
    assert ids(client.get("/api/v1/clicks", {"application": str(application.id)}), key) == [
        str(early.click_id)
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "soon"}, "start"),
        ({"classification": "alien"}, "classification"),
        ({"job": "1"}, "job"),
    ],
)
def test_a_bad_click_filter_is_named(client: Client, params: dict[str, str], field: str) -> None:
    response = client.get("/api/v1/clicks", params)
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_clicks_cannot_be_written_through_the_resource_api(client: Client) -> None:
    response = post_json(client, "/api/v1/clicks", {"tracking_id": "x"})
    assert response.status_code == 405


# --- Jobs ------------------------------------------------------------------------------------


def test_a_job_can_be_created_listed_changed_and_deleted(client: Client) -> None:
    created = post_json(
        client,
        "/api/v1/jobs",
        {
            "title": "Data Engineer",
            "company_name": "Acme",
            "posting_url": "https://jobs.acme.com/42",
        },
    )
    assert created.status_code == 201, created.content
    job_id = created.json()["id"]
    assert [
        row["id"] for row in client.get("/api/v1/jobs", {"search": "acme"}).json()["results"]
    ] == [job_id]
    changed = patch_json(client, f"/api/v1/jobs/{job_id}", {"location": "Remote"})
    assert changed.status_code == 200 and changed.json()["location"] == "Remote"
    assert changed.json()["title"] == "Data Engineer"
    assert client.delete(f"/api/v1/jobs/{job_id}").status_code == 204
    assert client.get(f"/api/v1/jobs/{job_id}").status_code == 404


def test_deleting_a_job_keeps_its_links_without_a_job(client: Client, job: Job) -> None:
    tracking_id = make_link(job_id=job.id).tracking_id
    assert client.delete(f"/api/v1/jobs/{job.id}").status_code == 204
    assert TrackedLink.objects.get(pk=tracking_id).job_id is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": "Dev", "posting_url": "javascript:alert(1)"}, "posting_url"),
        ({"title": "Dev", "apply_url": "http://localhost/apply"}, "apply_url"),
        ({"title": "Dev\x01"}, "title"),
    ],
)
def test_a_bad_job_is_refused_naming_the_field(
    client: Client, body: dict[str, Any], field: str
) -> None:
    response = post_json(client, "/api/v1/jobs", body)
    assert response.status_code == 400, response.content
    assert field in error_of(response)["fields"]


def test_an_unknown_or_malformed_job_id_is_a_json_404(client: Client) -> None:
    assert error_of(client.get(f"/api/v1/jobs/{uuid.uuid4()}"))["code"] == "not_found"
    response = client.get("/api/v1/jobs/not-a-uuid")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


# --- Applications ----------------------------------------------------------------------------


def test_an_application_can_be_created_filtered_changed_and_deleted(
    client: Client, job: Job
) -> None:
    created = post_json(
        client,
        "/api/v1/applications",
        {
            "job_id": str(job.id),
            "status": "submitted",
            "submitted_at": "2025-07-27T09:00:00Z",
            "contact_name": "Ada",
            "contact_email": "ada@example.com",
        },
    )
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["job_id"] == str(job.id) and data["status"] == "submitted"
    assert data["submitted_at"] == "2025-07-27T09:00:00Z"
    app_id = data["id"]
    listed = client.get("/api/v1/applications", {"job": str(job.id), "status": "submitted"})
    assert [row["id"] for row in listed.json()["results"]] == [app_id]
    assert client.get("/api/v1/applications", {"status": "offered"}).json()["count"] == 0
    changed = patch_json(client, f"/api/v1/applications/{app_id}", {"status": "interviewed"})
    assert changed.status_code == 200 and changed.json()["status"] == "interviewed"
    tracking_id = make_link(application_id=app_id).tracking_id
    assert client.delete(f"/api/v1/applications/{app_id}").status_code == 204
    assert not JobApplication.objects.filter(pk=app_id).exists()
    assert TrackedLink.objects.get(pk=tracking_id).application_id is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "job_id"),
        ({"job_id": "nope"}, "job_id"),
        ({"job_id": str(uuid.uuid4())}, "job_id"),
        ({"status": "hired"}, "status"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"submitted_at": "tomorrow-ish"}, "submitted_at"),
    ],
)
def test_a_bad_application_is_refused_naming_the_field(
    client: Client, job: Job, body: dict[str, Any], field: str
) -> None:
    body = {"job_id": str(job.id), **body} if "job_id" not in body and body != {} else body
    response = post_json(client, "/api/v1/applications", body)
    assert response.status_code == 400, response.content
    assert field in error_of(response)["fields"]


def test_an_application_stays_with_its_job(client: Client, application: JobApplication) -> None:
    other = services.create_job(title="Other")
    response = patch_json(
        client, f"/api/v1/applications/{application.id}", {"job_id": str(other.id)}
    )
    assert response.status_code == 200
    application.refresh_from_db()
    assert application.job_id != other.id
