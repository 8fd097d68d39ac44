"""``geolocate_clicks``: fills geo fields of stored clicks that still hold their IP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError
from django.utils import timezone

from analytics import queries, rollups, sources
from analytics.selection import Selection
from tests import geodata
from tests.factories import make_link, make_visitor_click
from tests.support import run_command
from tracking import geo
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db


@pytest.fixture
def geodb(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.GEOIP_CITY_PATH = str(geodata.write_city(tmp_path / "city.mmdb"))
    settings.GEOIP_ASN_PATH = str(geodata.write_asn(tmp_path / "asn.mmdb"))
    geo.reset()
    yield
    geo.reset()


def test_it_locates_stored_clicks_in_batches_with_progress(geodb: None) -> None:
    link = make_link()
    for ip in [geodata.BERLIN_IP, geodata.PARIS_IP6, geodata.CLOUD_IP, "8.8.8.8"]:
        make_visitor_click(link, ip_address=ip)
    make_visitor_click(link, ip_address=None)  # anonymized: nothing to look up
    output = run_command("geolocate_clicks", "--batch-size", "2")
    assert "looked up 2/4" in output and "looked up 4/4" in output
    assert "Located 3 of 4 clicks" in output
    places = dict(LinkClick.objects.values_list("ip_address", "country_code"))
    assert places == {
        geodata.BERLIN_IP: "DE",
        "2001:db8:1::7": "FR",
        geodata.CLOUD_IP: "US",
        "8.8.8.8": None,
        None: None,
    }
    berlin = LinkClick.objects.get(ip_address=geodata.BERLIN_IP)
    assert (berlin.city, berlin.asn, berlin.network_kind) == ("Berlin", 3320, "residential")


def test_a_second_run_changes_nothing(geodb: None) -> None:
    make_visitor_click(make_link(), ip_address=geodata.BERLIN_IP)
    run_command("geolocate_clicks")
    assert "Located 0 of 0 clicks" in run_command("geolocate_clicks")


def test_since_limits_the_run_to_recent_clicks(geodb: None) -> None:
    link = make_link()
    make_visitor_click(link, ip_address=geodata.BERLIN_IP, days_ago=40)
    recent = make_visitor_click(link, ip_address=geodata.BERLIN_IP, days_ago=1)
    since = (recent.clicked_at or recent.clicked_at).date().isoformat()  # type: ignore[union-attr]
    run_command("geolocate_clicks", "--since", since)
    assert list(
        LinkClick.objects.order_by("clicked_at").values_list("country_code", flat=True)
    ) == [
        None,
        "DE",
    ]


def test_dry_run_counts_and_changes_nothing(geodb: None) -> None:
    make_visitor_click(make_link(), ip_address=geodata.BERLIN_IP)
    assert "Would look up 1 clicks" in run_command("geolocate_clicks", "--dry-run")
    assert LinkClick.objects.get().country_code is None


def test_without_geodata_it_says_what_to_set() -> None:
    with pytest.raises(CommandError, match="GEOIP_CITY_PATH"):
        run_command("geolocate_clicks")


def test_the_rolled_up_countries_take_the_located_clicks_at_once(geodb: None) -> None:
    link = make_link()
    make_visitor_click(link, ip_address=geodata.BERLIN_IP, days_ago=3)
    rollups.run()
    three_days = Selection.of(
        start=timezone.now() - dt.timedelta(days=5), end=timezone.now() - dt.timedelta(days=1)
    )
    assert sources.split(three_days.start, three_days.end).rolled is not None  # read rolled up
    assert {r["country_code"] for r in queries.clicks_by_country(three_days)} == {"unknown"}
    output = run_command("geolocate_clicks")
    assert "Rollups complete until" in output
    assert {r["country_code"] for r in queries.clicks_by_country(three_days)} == {"DE"}
