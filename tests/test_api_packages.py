"""POST /api/link-tracking/applications/<id>/links: the link package over the API."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from tests.factories import key_client, make_application, make_job, make_key, make_profile_links
from tests.support import error_of, post_json
from tracking.models import JobApplication, TrackedLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def application() -> JobApplication:
    make_profile_links()
    return make_application(make_job(posting_url="https://careers.example.com/jobs/42"))


@pytest.fixture
def client() -> Client:
    return key_client(make_key(["links:write"]))


def url_for(application_id: object) -> str:
    return f"/api/link-tracking/applications/{application_id}/links"


def test_it_returns_the_package_and_is_idempotent(
    client: Client, application: JobApplication
) -> None:
    first = client.generic("POST", url_for(application.pk))  # no body at all
    second = post_json(client, url_for(application.pk), {})

    assert first.status_code == 200 and second.status_code == 200
    body = first.json()
    assert body["application_id"] == str(application.pk)
    assert list(body["tracked_links"]) == ["LinkedIn", "Calendly", "Job_Posting"]
    assert second.json() == body
    assert TrackedLink.objects.count() == 3
    for function, url in body["tracked_links"].items():
        link = TrackedLink.objects.get(link_function=function)
        assert url == f"https://links.example.com/track/{link.tracking_id}"


def test_functions_narrow_the_package(client: Client, application: JobApplication) -> None:
    response = post_json(client, url_for(application.pk), {"functions": ["Job_Posting"]})

    assert response.status_code == 200
    assert list(response.json()["tracked_links"]) == ["Job_Posting"]


@pytest.mark.parametrize(
    "body", [{"functions": ["GitHub"]}, {"functions": "LinkedIn"}, {"functions": []}]
)
def test_bad_functions_are_a_400_naming_the_field(
    client: Client, application: JobApplication, body: dict[str, object]
) -> None:
    response = post_json(client, url_for(application.pk), body)

    assert response.status_code == 400
    assert "functions" in error_of(response)["fields"]
    assert not TrackedLink.objects.exists()


def test_an_unknown_application_is_a_404_naming_the_field(client: Client) -> None:
    response = post_json(client, url_for(uuid.uuid4()), {})

    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "not_found" and "application_id" in error["fields"]


def test_a_malformed_application_id_is_a_json_404(client: Client) -> None:
    response = post_json(client, url_for("not-a-uuid"), {})

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_malformed_json_is_a_400(client: Client, application: JobApplication) -> None:
    response = client.post(url_for(application.pk), "{", content_type="application/json")

    assert response.status_code == 400
    error_of(response)


def test_it_needs_the_links_write_scope(application: JobApplication) -> None:
    reader = key_client(make_key(["links:read", "analytics:read"]))

    response = post_json(reader, url_for(application.pk), {})

    assert response.status_code == 403
    assert "links:write" in error_of(response)["message"]
    assert not TrackedLink.objects.exists()


def test_it_needs_credentials(application: JobApplication) -> None:
    response = post_json(Client(), url_for(application.pk), {})

    assert response.status_code == 401
    error_of(response)


def test_get_is_not_allowed(client: Client, application: JobApplication) -> None:
    response = client.get(url_for(application.pk))

    assert response.status_code == 405
    error_of(response)
