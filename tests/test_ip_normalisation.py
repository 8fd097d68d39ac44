"""Client addresses are stored in one form and found in every form they arrive in.

A dual-stack server reports an IPv4 visitor as ``::ffff:203.0.113.7``. Stored so, the click would
escape ``erase --ip 203.0.113.7``; so every write path stores the IPv4 address, IPv6 addresses
are stored compressed and lower-case, and erasure also finds rows an older version (or another
system, by plain SQL) stored in the mapped form.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.factories import key_client, make_key, make_link, make_visitor_click
from tests.support import post_json, run_command
from tracking import services
from tracking.clicks import spool as clickspool
from tracking.clicks import stream as clickstream
from tracking.clicks.writer import ClickWriter
from tracking.models import LinkClick, TrackedLink

pytestmark = pytest.mark.django_db

MAPPED = "::ffff:203.0.113.7"
PLAIN = "203.0.113.7"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (MAPPED, PLAIN),
        ("::FFFF:203.0.113.7", PLAIN),
        ("::ffff:cb00:7107", PLAIN),
        (" 203.0.113.7 ", PLAIN),
        ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:db8::0001", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_the_service_layer_stores_one_canonical_form(given: str, stored: str) -> None:
    link = make_link()
    services.record_click(tracking_id=link.tracking_id, ip_address=given)
    assert LinkClick.objects.get().ip_address == stored


def test_erasing_an_ipv4_address_removes_the_click_reported_in_its_mapped_form() -> None:
    link = make_link()
    services.record_click(tracking_id=link.tracking_id, ip_address=MAPPED)
    kept = make_visitor_click(link, ip_address="203.0.113.8")

    run_command("erase", "--ip", PLAIN)

    assert list(LinkClick.objects.values_list("pk", flat=True)) == [kept.pk]


def test_erasing_a_mapped_address_removes_the_clicks_of_its_ipv4_address() -> None:
    link = make_link()
    make_visitor_click(link, ip_address=PLAIN)
    run_command("erase", "--ip", MAPPED)
    assert not LinkClick.objects.exists()


def test_erasure_finds_rows_stored_in_the_mapped_form_before_normalisation() -> None:
    link = make_link()
    click = make_visitor_click(link, ip_address=PLAIN)
    # What an older version stored, or another system's plain INSERT: bypasses the services.
    LinkClick.objects.filter(pk=click.pk).update(ip_address=MAPPED)
    assert LinkClick.objects.get().ip_address != PLAIN

    assert "Deleted 1 clicks" in run_command("erase", "--ip", PLAIN)
    assert not LinkClick.objects.exists()


def test_the_redirect_stores_a_mapped_remote_address_as_ipv4() -> None:
    link = make_link()
    response = Client(REMOTE_ADDR=MAPPED).get(f"/track/{link.tracking_id}")
    assert response.status_code == 302
    assert LinkClick.objects.get().ip_address == PLAIN


def test_the_api_stores_a_reported_mapped_address_as_ipv4() -> None:
    link = make_link()
    client = key_client(make_key())
    single = post_json(
        client,
        "/api/link-tracking/record-click",
        {"tracking_id": link.tracking_id, "ip_address": MAPPED},
    )
    batch = post_json(
        client,
        "/api/link-tracking/record-clicks",
        {"clicks": [{"tracking_id": link.tracking_id, "ip_address": "::ffff:198.51.100.9"}]},
    )
    assert single.status_code == 201, single.content
    assert batch.status_code in (200, 201), batch.content
    assert set(LinkClick.objects.values_list("ip_address", flat=True)) == {
        PLAIN,
        "198.51.100.9",
    }


def _queued(link: TrackedLink, ip: str) -> str:
    click = services.build_click(tracking_id=link.tracking_id, ip_address=PLAIN)
    body: dict[str, Any] = json.loads(clickstream.encode_click(click))
    body["ip"] = ip  # as an older version queued it, before addresses were normalised
    return json.dumps(body)


def test_a_queued_click_is_normalised_when_the_writer_decodes_it() -> None:
    link = make_link()
    click, _signals = clickstream.decode_click(_queued(link, MAPPED))
    assert click.ip_address == PLAIN


def test_a_spooled_click_is_normalised_when_it_is_replayed(settings: Any) -> None:
    settings.REDIS_URL = ""
    link = make_link()
    clickspool.append(_queued(link, "::FFFF:203.0.113.7"))
    assert ClickWriter().replay_spool() == 1
    assert LinkClick.objects.get().ip_address == PLAIN
