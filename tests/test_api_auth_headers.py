"""An Authorization header that is not `Api-Key <key>` gets a 401 saying what to send instead."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import make_key, make_user
from tests.support import error_of

pytestmark = pytest.mark.django_db

PATH = "/api/v1/links"


def get_with(header: str) -> tuple[int, str, str]:
    response = Client(HTTP_AUTHORIZATION=header).get(PATH)
    return response.status_code, response.get("WWW-Authenticate", ""), error_of(response)["message"]


def test_a_bearer_token_is_told_to_use_the_api_key_prefix() -> None:
    key = make_key()
    status, challenge, message = get_with(f"Bearer {key}")
    assert status == 401
    assert challenge == "Api-Key"
    assert message.startswith("Authorization scheme 'Bearer' is not accepted;")
    assert "use 'Authorization: Api-Key <key>'" in message
    assert "set the token prefix to 'Api-Key'" in message
    assert key not in message


@pytest.mark.parametrize("scheme", ["Token", "Basic", "Api-Key:", "ApiKey"])
def test_another_scheme_is_told_to_use_the_api_key_prefix(scheme: str) -> None:
    status, _, message = get_with(f"{scheme} {make_key()}")
    assert status == 401
    assert "use 'Authorization: Api-Key <key>'" in message


def test_a_bare_key_is_told_it_lacks_the_prefix_and_is_not_repeated() -> None:
    key = make_key()
    status, _, message = get_with(key)
    assert status == 401
    assert message.startswith("The Authorization header has no 'Api-Key' prefix;")
    assert key.partition(".")[2] not in message


def test_a_key_sent_as_the_scheme_is_not_repeated_in_the_error() -> None:
    key = make_key()
    status, _, message = get_with(f"{key} extra")
    assert status == 401
    assert "use 'Authorization: Api-Key <key>'" in message
    assert key.partition(".")[0] not in message


def test_an_api_key_header_without_a_key_says_so() -> None:
    status, _, message = get_with("Api-Key")
    assert status == 401
    assert message == "Invalid Authorization header: no key after 'Api-Key'; " + (
        "use 'Authorization: Api-Key <key>'."
    )


def test_a_malformed_key_says_what_a_key_looks_like() -> None:
    status, _, message = get_with("Api-Key not-a-key")
    assert status == 401
    assert "'<prefix>.<secret>'" in message


def test_the_right_prefix_in_any_case_is_served() -> None:
    assert Client(HTTP_AUTHORIZATION=f"api-key {make_key()}").get(PATH).status_code == 200


def test_a_staff_session_behind_a_basic_auth_proxy_is_still_served() -> None:
    client = Client(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    staff = make_user("staff")
    staff.user_permissions.add(Permission.objects.get(codename="view_trackedlink"))
    client.force_login(staff)
    assert client.get(PATH).status_code == 200
