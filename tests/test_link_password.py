"""Password-protected links: the form, the unlock cookie, the rate limit on wrong attempts, and
what is recorded as a click."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_sent_link
from tests.test_redirect import BROWSER_HEADERS, DESTINATION
from tracking import controls, services
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db

PASSWORD = "shared in the e-mail"


def url(tracking_id: str) -> str:
    return reverse("tracking:redirect", args=[tracking_id])


def form_token(response: Any) -> str:
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
    assert match, "the form carries a CSRF token"
    return match.group(1).decode()


def unlock(client: Client, tracking_id: str, password: str, **headers: Any) -> Any:
    token = form_token(client.get(url(tracking_id), **BROWSER_HEADERS))
    data = {"password": password, "csrfmiddlewaretoken": token}
    return client.post(url(tracking_id), data, **{**BROWSER_HEADERS, **headers})


def test_a_locked_link_answers_a_plain_form_and_records_no_click() -> None:
    tracking_id = make_sent_link(password=PASSWORD)
    response = Client().get(url(tracking_id), **BROWSER_HEADERS)
    assert response.status_code == 200
    assert b'<form method="post"' in response.content
    assert (
        b"<script" not in response.content and b"http" not in response.content.split(b"<body>")[1]
    )
    assert response["Cache-Control"] == "no-store"
    assert not LinkClick.objects.exists()
    assert controls.locked_views(tracking_id) == 1


def test_the_right_password_redirects_records_the_click_and_unlocks_for_30_days() -> None:
    tracking_id = make_sent_link(password=PASSWORD)
    client = Client(enforce_csrf_checks=True)
    response = unlock(client, tracking_id, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == DESTINATION
    cookie = response.cookies[controls.unlock_cookie_name(tracking_id)]
    assert cookie["max-age"] == 30 * 24 * 3600
    assert cookie["httponly"] and cookie["path"] == f"/track/{tracking_id}"
    assert LinkClick.objects.filter(tracking_id=tracking_id).count() == 1
    # Unlocked: the next visit goes straight through and is a click of its own.
    assert client.get(url(tracking_id), **BROWSER_HEADERS)["Location"] == DESTINATION
    assert LinkClick.objects.filter(tracking_id=tracking_id).count() == 2
    assert controls.locked_views(tracking_id) == 1  # the one form view before unlocking


def test_the_form_refuses_a_post_without_its_csrf_token() -> None:
    tracking_id = make_sent_link(password=PASSWORD)
    client = Client(enforce_csrf_checks=True)
    response = client.post(url(tracking_id), {"password": PASSWORD}, **BROWSER_HEADERS)
    assert response.status_code == 403
    assert not LinkClick.objects.exists()


def test_a_wrong_password_answers_403_and_records_nothing() -> None:
    tracking_id = make_sent_link(password=PASSWORD)
    response = unlock(Client(), tracking_id, "guess")
    assert response.status_code == 403
    assert b"not right" in response.content
    assert controls.unlock_cookie_name(tracking_id) not in response.cookies
    assert not LinkClick.objects.exists()


def test_wrong_attempts_are_limited_per_address(settings: Any) -> None:
    settings.LINK_PASSWORD_RATE_PER_IP = "3/10m"
    tracking_id = make_sent_link(password=PASSWORD)
    client = Client()
    assert [unlock(client, tracking_id, "guess").status_code for _ in range(3)] == [403] * 3
    limited = unlock(client, tracking_id, PASSWORD)  # even the right one waits now
    assert limited.status_code == 429 and limited["Retry-After"] == "600"
    other = unlock(Client(), tracking_id, PASSWORD, REMOTE_ADDR="198.51.100.99")
    assert other.status_code == 302


def test_wrong_attempts_are_limited_per_link(settings: Any) -> None:
    settings.LINK_PASSWORD_RATE_PER_LINK = "4/10m"
    tracking_id = make_sent_link(password=PASSWORD)
    other_link = make_sent_link(password=PASSWORD)
    for n in range(4):
        unlock(Client(), tracking_id, "guess", REMOTE_ADDR=f"198.51.100.{n + 1}")
    assert unlock(Client(), tracking_id, PASSWORD, REMOTE_ADDR="203.0.113.5").status_code == 429
    assert unlock(Client(), other_link, PASSWORD, REMOTE_ADDR="203.0.113.5").status_code == 302


def test_scanners_never_get_past_the_form() -> None:
    tracking_id = make_sent_link(password=PASSWORD)
    client = Client()
    head = client.head(url(tracking_id), **BROWSER_HEADERS)
    assert head.status_code == 200 and "Location" not in head
    forged = client.get(
        url(tracking_id),
        HTTP_COOKIE=f"{controls.unlock_cookie_name(tracking_id)}=1:forged:sig",
        **BROWSER_HEADERS,
    )
    assert forged.status_code == 200 and "Location" not in forged
    assert not LinkClick.objects.exists()


def test_a_new_password_locks_the_link_again() -> None:
    tracking_id = make_sent_link(password=PASSWORD)
    client = Client()
    assert unlock(client, tracking_id, PASSWORD).status_code == 302
    services.update_tracked_link(tracking_id=tracking_id, password="a new one")
    assert client.get(url(tracking_id), **BROWSER_HEADERS).status_code == 200


def test_post_to_a_link_without_a_password_is_not_allowed() -> None:
    tracking_id = make_sent_link()
    assert Client().post(url(tracking_id), {}, **BROWSER_HEADERS).status_code == 405
