"""QR codes of links: who may fetch them, their options, and the image decoding back to the
redirect URL with ``?src=qr``."""

from __future__ import annotations

from typing import Any

import pytest
import zxingcpp
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from tests.factories import key_client, make_key, make_sent_link
from tests.pngread import grey_pixels
from tests.test_redirect import BROWSER_HEADERS
from tracking import services
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db


def qr_url(tracking_id: str, kind: str, query: str = "") -> str:
    return reverse("tracking:qr", args=[tracking_id, kind]) + (f"?{query}" if query else "")


def staff(*perms: str) -> Client:
    user = User.objects.create_user("qr-staff", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=perms))
    client = Client()
    client.force_login(user)
    return client


def decode(png: bytes) -> str:
    pixels, _width, _height = grey_pixels(png)
    found = zxingcpp.read_barcode(pixels)
    assert found is not None, "no QR code found in the image"
    return str(found.text)


@pytest.mark.parametrize("query", ["", "scale=3&border=2&error=H&dark=1f2933&light=fafafa"])
def test_the_png_decodes_to_the_redirect_url_with_src_qr(query: str) -> None:
    tracking_id = make_sent_link()
    response = key_client(make_key(["links:read"])).get(qr_url(tracking_id, "png", query))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert decode(response.content) == f"{services.redirect_url_for(tracking_id)}?src=qr"


def test_a_scan_is_counted_as_source_qr_and_shown_on_the_link_page() -> None:
    tracking_id = make_sent_link()
    Client().get(f"/track/{tracking_id}?src=qr", **BROWSER_HEADERS)
    Client().get(f"/track/{tracking_id}?src=qr", **BROWSER_HEADERS)
    assert LinkClick.objects.filter(tracking_id=tracking_id, click_source="qr").count() == 2
    page = staff("view_trackedlink").get(reverse("analytics:link-detail", args=[tracking_id]))
    assert "2 scans in this period" in page.content.decode()


def test_the_svg_is_an_svg_with_the_chosen_colours() -> None:
    tracking_id = make_sent_link()
    response = staff("view_trackedlink").get(
        qr_url(tracking_id, "svg", "dark=%23a00&light=transparent")
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.lstrip().startswith((b"<?xml", b"<svg"))
    assert b"#a00" in response.content and b"<script" not in response.content


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("scale=1000", "scale"),
        ("scale=0", "scale"),
        ("border=50", "border"),
        ("error=X", "error"),
        ("dark=red;x", "dark"),
        ("light=url(x)", "light"),
    ],
)
def test_bad_options_get_a_400_naming_them(query: str, field: str) -> None:
    tracking_id = make_sent_link()
    response = key_client(make_key(["links:read"])).get(qr_url(tracking_id, "png", query))
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("client_factory", "status"),
    [
        (lambda: Client(), 401),
        (lambda: key_client(make_key(["links:write"])), 403),
        (lambda: key_client(make_key(["clicks:read"])), 403),
        (lambda: staff(), 403),
        (lambda: staff("view_trackedlink"), 200),
        (lambda: key_client(make_key(["links:read"])), 200),
    ],
    ids=["anonymous", "key-links-write", "key-clicks-read", "staff-no-perms", "staff", "key"],
)
def test_only_staff_who_may_view_links_and_links_read_keys_get_codes(
    client_factory: Any, status: int
) -> None:
    tracking_id = make_sent_link()
    assert client_factory().get(qr_url(tracking_id, "png")).status_code == status


def test_an_unknown_link_has_no_code() -> None:
    response = key_client(make_key(["links:read"])).get(qr_url("lt_nope", "svg"))
    assert response.status_code == 404
