"""The dashboard and the admin send a content security policy that allows only our own scripts."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from tests import analytics_fixture

pytestmark = pytest.mark.django_db

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def directives(response: object) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]  # type: ignore[index]
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def inline_scripts(html: str) -> list[str]:
    """Script tags that would run inline code (data blocks of json_script do not run)."""
    return [
        attrs
        for attrs in SCRIPT_TAG.findall(html)
        if "src=" not in attrs and "application/json" not in attrs
    ]


def assert_only_own_scripts(response: object) -> None:
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    html = response.content.decode()  # type: ignore[attr-defined]
    # The pages must still work under the policy: nothing inline that the browser would block.
    assert inline_scripts(html) == []
    assert EVENT_HANDLER.search(html) is None
    assert "javascript:" not in html


def test_the_admin_login_page_allows_only_own_scripts(client: Client) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert_only_own_scripts(response)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/auth/user/",
        "/admin/auth/user/add/",
        "/admin/auth/group/",
        "/admin/auth/group/add/",
        "/admin/password_change/",
    ],
)
def test_admin_pages_work_under_the_policy(admin_client: Client, path: str) -> None:
    response = admin_client.get(path)
    assert response.status_code == 200
    assert_only_own_scripts(response)


def test_admin_change_forms_work_under_the_policy(admin_client: Client, admin_user: User) -> None:
    group = Group.objects.create(name="recruiters")
    for path in (
        f"/admin/auth/user/{admin_user.pk}/change/",
        f"/admin/auth/group/{group.pk}/change/",
    ):
        response = admin_client.get(path)
        assert response.status_code == 200
        assert_only_own_scripts(response)


def test_dashboard_pages_allow_only_own_scripts(admin_client: Client) -> None:
    fx = analytics_fixture.build()
    for path in (
        reverse("analytics:overview"),
        reverse("analytics:job-detail", args=[fx.job.id]),
        reverse("analytics:link-detail", args=[fx.links["L1"]]),
        reverse("analytics:application-detail", args=[fx.a1.id]),
    ):
        response = admin_client.get(path)
        assert response.status_code == 200
        assert "<canvas" in response.content.decode()
        assert_only_own_scripts(response)


def test_the_redirect_and_the_api_are_left_alone(client: Client) -> None:
    for path in ("/track/lt_linkedin_001", "/api/"):
        assert "Content-Security-Policy" not in client.get(path)
