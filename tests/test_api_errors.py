"""One JSON error shape for every failure, and no 500 for any input."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import key_client, make_key, make_link
from tests.support import error_of, post_json
from tracking.api.parsers import max_body_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> Client:
    return key_client(make_key())


@pytest.fixture
def link() -> str:
    return make_link(
        original_url="https://example.org/", link_function="Portfolio", link_type="profile"
    ).tracking_id


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/link-tracking/create/"),
        ("post", "/api/link-tracking/record_click"),
        ("get", "/api/v1/links/"),
        ("get", "/api/v1/nothing"),
        ("get", "/api/"),
        ("post", "/api/link-tracking/links/has%20space"),
        ("delete", "/api/link-tracking/analytics/a/b"),
    ],
)
def test_an_unknown_api_path_is_a_json_404_for_any_method(
    client: Client, method: str, path: str
) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_404_for_a_trailing_slash_points_at_the_real_path(client: Client) -> None:
    response = client.post("/api/link-tracking/create/", {}, content_type="application/json")
    assert error_of(response)["message"].endswith("Did you mean /api/link-tracking/create?")


def test_the_seed_paths_need_no_trailing_slash(client: Client, link: str) -> None:
    response = post_json(client, "/api/link-tracking/record-click", {"tracking_id": link})
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/link-tracking/create"),
        ("put", "/api/link-tracking/record-click"),
        ("post", "/api/link-tracking/report"),
        ("options", "/api/link-tracking/create"),
        ("delete", "/api/v1/clicks"),
    ],
)
def test_a_wrong_method_is_a_json_405_with_allow(client: Client, method: str, path: str) -> None:
    response = getattr(client, method)(path)
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert response["Allow"]
    assert "OPTIONS" not in response["Allow"]


def test_a_wrong_method_is_405_even_for_a_key_without_scopes(link: str) -> None:
    response = key_client(make_key([])).get("/api/link-tracking/create")
    assert response.status_code == 405


def test_a_huge_body_is_413(client: Client) -> None:
    body = '{"clicks": ["' + "x" * (max_body_bytes() + 10) + '"]}'
    response = client.post(
        "/api/link-tracking/record-clicks", body, content_type="application/json"
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x"],
)
def test_a_body_that_is_not_json_is_415(client: Client, content_type: str) -> None:
    response = client.post("/api/link-tracking/create", "a=b", content_type=content_type)
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    "raw",
    [
        "{",
        "{'single': 'quotes'}",
        '{"a": NaN}',
        '{"a": Infinity}',
        "[" * 50_000 + "]" * 50_000,
        '{"original_url": "https://example.org/\\u0000"}',
        '{"description": "\\ud800"}',
        '{"\\u0000": 1}',
        b'{"a": "\xff\xfe"}',
    ],
)
def test_malformed_json_is_a_400_parse_error(client: Client, raw: str | bytes) -> None:
    response = client.post("/api/link-tracking/create", raw, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


@pytest.mark.parametrize("raw", ["[]", "[1, 2]", "42", '"text"', "null", "true"])
def test_json_that_is_not_an_object_is_400(client: Client, raw: str) -> None:
    for path in ("/api/link-tracking/create", "/api/link-tracking/record-click", "/api/v1/jobs"):
        response = client.post(path, raw, content_type="application/json")
        assert response.status_code == 400, (path, raw, response.content)
        assert error_of(response)["code"] in {"invalid", "parse_error"}


def test_an_empty_body_lists_the_required_fields(client: Client) -> None:
    response = client.post("/api/link-tracking/create", "", content_type="application/json")
    assert response.status_code == 400
    assert "original_url" in error_of(response)["fields"]


def test_nested_errors_name_the_path_of_the_field(client: Client) -> None:
    response = post_json(client, "/api/link-tracking/record-clicks", {"clicks": "nope"})
    assert response.status_code == 400
    assert list(error_of(response)["fields"]) == ["clicks"]


def test_any_accept_header_gets_json(client: Client) -> None:
    response = client.get("/api/v1/links", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    response = client.get("/api/v1/links/lt_nobody", HTTP_ACCEPT="image/png")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


def test_a_format_suffix_or_query_is_not_a_way_around_json(client: Client) -> None:
    response = client.get("/api/v1/links", {"format": "api"})
    assert response.status_code in {200, 404}
    assert response["Content-Type"] == "application/json"


def test_long_and_odd_strings_are_stored_or_refused_cleanly(client: Client, link: str) -> None:
    body = {
        "tracking_id": link,
        "user_agent": "A" * 100_000,
        "referrer_url": "https://gmail.com/" + "r" * 5000,
        "session_id": "s" * 500,
        "metadata": {"emoji": "🎯", "nested": {"a": [1, 2, {"b": None}]}},
    }
    assert post_json(client, "/api/link-tracking/record-click", body).status_code == 201
    too_big = {"tracking_id": link, "metadata": {f"k{i}": "v" * 200 for i in range(49)}}
    response = post_json(client, "/api/link-tracking/record-click", too_big)
    assert response.status_code == 400 and "metadata" in error_of(response)["fields"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/links", {"created_before": "9999-12-31"}, "created_before"),
        ("/api/v1/links", {"created_after": "0001-01-01T00:00:00+05:00"}, "created_after"),
        ("/api/v1/clicks", {"end": "9999-12-31T23:00:00-05:00"}, "end"),
        ("/api/v1/clicks", {"start": "0001-01-01"}, "start"),
    ],
)
def test_dates_at_the_edge_of_the_calendar_are_400(
    client: Client, path: str, params: dict[str, str], field: str
) -> None:
    response = client.get(path, params)
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_a_click_time_at_the_edge_of_the_calendar_is_400(client: Client, link: str) -> None:
    body = {"tracking_id": link, "clicked_at": "0001-01-01T00:00:00+05:00"}
    response = post_json(client, "/api/link-tracking/record-click", body)
    assert response.status_code == 400
    assert "clicked_at" in error_of(response)["fields"]


@pytest.mark.parametrize(
    "raw", ['{"tracking_id": "x", "metadata": {"n": 1e400}}', '{"days": -1e999}']
)
def test_numbers_too_large_for_json_are_a_parse_error(client: Client, raw: str) -> None:
    response = client.post("/api/link-tracking/record-click", raw, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"
