"""The job seeker's own clicks are ``owner``: never a person, shown apart as "you"."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from analytics import queries
from analytics.selection import Selection
from tests.factories import CHROME, HOUR, logged_in_client, make_link, make_user
from tracking import classify, owner
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db

BROWSER: dict[str, Any] = {
    "HTTP_USER_AGENT": CHROME,
    "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9",
    "REMOTE_ADDR": "198.51.100.23",
}


def visit(client: Client, tracking_id: str, **headers: Any) -> LinkClick:
    response = client.get(
        reverse("tracking:redirect", args=[tracking_id]), **{**BROWSER, **headers}
    )
    assert response.status_code == 302
    return LinkClick.objects.order_by("-clicked_at").first()  # type: ignore[return-value]


def staff_client(*, is_staff: bool = True) -> Client:
    name = "me" if is_staff else "visitor"
    return logged_in_client(make_user(name, staff=is_staff, password="pw"))


def test_signing_in_to_the_admin_marks_the_browser_as_the_owners() -> None:
    make_user("me", password="pw")
    client = Client()
    response = client.post(reverse("admin:login"), {"username": "me", "password": "pw"})
    assert response.status_code == 302
    cookie = response.cookies[owner.OWNER_COOKIE]
    assert cookie["path"] == "/track/"
    assert cookie["httponly"]
    assert int(cookie["max-age"]) >= 300 * 24 * 3600


def test_a_staff_users_pages_refresh_the_cookie_and_others_get_none() -> None:
    response = staff_client().get(reverse("admin:index"))
    assert response.status_code == 200
    assert owner.OWNER_COOKIE in response.cookies
    visitor = staff_client(is_staff=False).get(reverse("admin:login"))
    assert owner.OWNER_COOKIE not in visitor.cookies
    assert owner.OWNER_COOKIE not in Client().get(reverse("admin:login")).cookies


def test_the_owners_click_is_owner_and_keeps_its_other_reasons() -> None:
    client = staff_client()
    client.get(reverse("admin:index"))  # sets the cookie, as signing in does
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    click = visit(client, tracking_id, HTTP_ACCEPT_LANGUAGE="")
    assert click.classification == "owner"
    assert click.classification_reasons == ["owner_cookie", "no_accept_language"]
    assert click.has_accept_language is False


def test_the_redirect_never_sets_the_owner_cookie() -> None:
    client = staff_client()
    response = client.get(
        reverse("tracking:redirect", args=[make_link(sent_ago=HOUR).tracking_id]), **BROWSER
    )
    assert owner.OWNER_COOKIE not in response.cookies


def test_a_forged_owner_cookie_is_ignored() -> None:
    client = Client()
    client.cookies[owner.OWNER_COOKIE] = "1"
    click = visit(client, make_link(sent_ago=HOUR).tracking_id)
    assert (click.classification, click.classification_reasons) == ("human", [])
    assert click.has_accept_language is True


def test_clicks_from_the_owners_networks_are_the_owners(settings: Any) -> None:
    settings.OWNER_NETWORKS = ["198.51.100.0/24", "2001:db8:1::/48"]
    click = visit(Client(), make_link(sent_ago=HOUR).tracking_id)
    assert (click.classification, click.classification_reasons) == ("owner", ["owner_network"])
    other = visit(Client(), make_link(sent_ago=HOUR).tracking_id, REMOTE_ADDR="203.0.113.9")
    assert other.classification == "human"


def test_owner_beats_every_other_verdict() -> None:
    verdict = classify.classify_click(
        http_method="HEAD",
        user_agent="curl/8.5.0",
        has_accept_language=False,
        client_ip="40.107.1.1",
        clicked_at=None,
        link_created_at=None,
        scanner_window_seconds=10,
        owner_cookie=True,
    )
    assert verdict.classification == "owner"
    assert verdict.reasons[0] == "owner_cookie"
    assert {"tool_agent", "head_request", "scanner_network"} <= set(verdict.reasons)


def test_analytics_count_the_owner_apart_from_people() -> None:
    client = staff_client()
    client.get(reverse("admin:index"))
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    visit(client, tracking_id)
    visit(Client(), tracking_id)
    result = queries.link_analytics(tracking_id, Selection.of())
    assert result is not None
    stats = result["click_statistics"]
    assert (stats["human_clicks"], stats["automated_clicks"]) == (1, 1)
    assert stats["by_classification"] == {"human": 1, "owner": 1}
    rows = queries.clicks_by_classification(Selection.of())
    assert {r["classification"]: r["automated"] for r in rows} == {"human": False, "owner": True}
