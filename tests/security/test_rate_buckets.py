"""Per-client limits cannot be multiplied by rotating IPv6 addresses or by hiding the address.

An IPv6 host usually owns a whole /64; counting each address apart gave ten addresses of one /64
ten times the limit. A request without a usable address used to go unlimited.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.factories import make_key, make_link
from tracking.clicks.capture import client_bucket
from tracking.clicks.record import rate_key
from tracking.models import LinkClick

PREFIX = "2001:db8:1234:5678"
ROTATED = [f"{PREFIX}::{i:x}" for i in range(1, 11)]
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


@pytest.fixture
def one_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request of a test in one rate-limit window (no roll-over half-way through)."""
    monkeypatch.setattr("django_ratelimit.core._get_window", lambda value, period: 1_800_000_000)


@pytest.fixture
def link(db: None) -> str:
    return make_link(original_url="https://www.linkedin.com/in/someone").tracking_id


def visit(tracking_id: str, remote_addr: str) -> int:
    response = Client().get(
        f"/track/{tracking_id}",
        REMOTE_ADDR=remote_addr,
        HTTP_USER_AGENT=BROWSER,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    return response.status_code


@pytest.mark.parametrize(
    ("ip", "bucket"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (f"{PREFIX}::1", f"{PREFIX}::/64"),
        (f"{PREFIX}:ffff:ffff:ffff:ffff", f"{PREFIX}::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        (None, "unknown"),
        ("", "unknown"),
        ("not an address", "unknown"),
    ],
)
def test_each_client_counts_against_one_bucket(ip: str | None, bucket: str) -> None:
    assert client_bucket(ip) == bucket


def test_buffered_clicks_of_one_64_share_one_rate_key() -> None:
    assert len({rate_key(ip) for ip in ROTATED}) == 1
    assert rate_key(ROTATED[0]) != rate_key(f"{PREFIX[:-1]}9::1")
    assert rate_key(None) == rate_key("")


@pytest.mark.usefixtures("one_window")
def test_rotating_through_a_64_does_not_multiply_the_redirect_limit(
    link: str, settings: Any
) -> None:
    settings.CLICK_RATE_LIMIT = "3/m"
    for ip in ROTATED:
        assert visit(link, ip) == 302  # always redirected, only the storing is limited
    assert LinkClick.objects.count() == 3
    assert visit(link, "2001:db8:1234:9999::1") == 302  # the next /64 has its own budget
    assert LinkClick.objects.count() == 4


@pytest.mark.usefixtures("one_window")
def test_clicks_without_a_usable_address_share_one_budget(link: str, settings: Any) -> None:
    settings.CLICK_RATE_LIMIT = "2/m"
    for _ in range(5):
        assert visit(link, "") == 302
    assert LinkClick.objects.count() == 2


@pytest.mark.usefixtures("one_window")
def test_rotating_through_a_64_does_not_multiply_the_api_limit(link: str, settings: Any) -> None:
    settings.CLICK_RATE_LIMIT = "3/m"
    key = make_key(["clicks:write"], name="recorder")
    statuses = [
        Client()
        .post(
            "/api/link-tracking/record-click",
            data=json.dumps({"tracking_id": link}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Api-Key {key}",
            REMOTE_ADDR=ip,
        )
        .status_code
        for ip in ROTATED[:5]
    ]
    assert statuses == [201, 201, 201, 429, 429]
