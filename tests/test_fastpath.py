"""The redirect's own middleware stack (tracking.fastpath): only what the redirect needs, and all
of it."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import reverse

from tests.factories import CHROME, HOUR, logged_in_client, make_link, make_tracking_staff
from tracking.fastpath import RedirectFastPathMiddleware
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db

BROWSER: dict[str, Any] = {"HTTP_USER_AGENT": CHROME, "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


def redirect_url() -> str:
    return reverse("tracking:redirect", args=[make_link(sent_ago=HOUR).tracking_id])


def test_the_redirect_loads_no_session_user_or_messages() -> None:
    response = Client().get(redirect_url(), **BROWSER)
    assert response.status_code == 302
    request = response.wsgi_request
    assert not hasattr(request, "session")
    assert not hasattr(request, "user")
    assert not hasattr(request, "_messages")
    assert LinkClick.objects.count() == 1


def test_the_redirect_keeps_the_security_headers_and_its_length() -> None:
    response = Client().get(redirect_url(), **BROWSER)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Content-Length"] == "0"


def test_the_redirect_refuses_a_host_not_allowed() -> None:
    response = Client().get(redirect_url(), HTTP_HOST="evil.example", **BROWSER)
    assert response.status_code == 400
    assert LinkClick.objects.count() == 0


@override_settings(SECURE_SSL_REDIRECT=True)
def test_the_redirect_still_moves_plain_http_to_https() -> None:
    response = Client().get(redirect_url(), **BROWSER)
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_health_under_the_same_prefix_still_sees_the_signed_in_user() -> None:
    client = logged_in_client(make_tracking_staff())
    response = client.get(reverse("tracking:health"))
    assert response.wsgi_request.user.is_staff
    assert "database" in str(response.json())


def test_an_unknown_path_under_the_prefix_gets_the_whole_stack() -> None:
    response = Client().get("/track/abc/def", **BROWSER)
    assert response.status_code == 404
    assert hasattr(response.wsgi_request, "session")


def view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


@override_settings(REDIRECT_MIDDLEWARE=["django.middleware.gzip.GZipMiddleware"])
def test_the_redirect_middleware_must_be_part_of_the_project_middleware() -> None:
    with pytest.raises(ImproperlyConfigured, match="GZipMiddleware"):
        RedirectFastPathMiddleware(view)
