"""Geodata: country, region, city and network per click, from MaxMind-format databases."""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests import geodata
from tests.factories import CHROME, HOUR, make_link, make_visitor_click
from tests.support import run_command
from tracking import geo
from tracking.clicks.writer import ClickWriter
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db

HEALTH_TOKEN = "health-token-for-the-geo-tests-0123"


@pytest.fixture
def geodb(settings: Any, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """Both databases written with mmdb-writer and configured."""
    city = geodata.write_city(tmp_path / "city.mmdb")
    asn = geodata.write_asn(tmp_path / "asn.mmdb")
    settings.GEOIP_CITY_PATH = str(city)
    settings.GEOIP_ASN_PATH = str(asn)
    geo.reset()
    yield city, asn
    geo.reset()


def visit(tracking_id: str, ip: str, **headers: Any) -> Any:
    url = reverse("tracking:redirect", args=[tracking_id])
    return Client().get(
        url,
        REMOTE_ADDR=ip,
        HTTP_USER_AGENT=CHROME,
        HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9",
        **headers,
    )


def geo_fields(click: LinkClick) -> tuple[Any, ...]:
    return tuple(getattr(click, name) for name in geo.GEO_FIELDS)


BERLIN = ("DE", "Berlin", "Berlin", 3320, "Deutsche Telekom AG", "residential")
PARIS = ("FR", "Île-de-France", "Paris", 3215, "Orange S.A.", "residential")


# --- Direct mode ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "expected"), [(geodata.BERLIN_IP, BERLIN), (geodata.PARIS_IP6, PARIS)]
)
def test_a_direct_click_is_stored_with_its_place_and_network(
    geodb: Any, ip: str, expected: tuple[Any, ...]
) -> None:
    assert visit(make_link(sent_ago=HOUR).tracking_id, ip).status_code == 302
    click = LinkClick.objects.get()
    assert geo_fields(click) == expected
    assert click.classification == "human"


def test_a_click_from_a_cloud_network_is_not_a_person_even_with_a_browser(geodb: Any) -> None:
    visit(make_link(sent_ago=HOUR).tracking_id, geodata.CLOUD_IP)
    click = LinkClick.objects.get()
    assert click.network_kind == "hosting"
    assert click.classification == "scanner"
    assert click.classification_reasons == ["datacenter_network"]


def test_a_click_from_a_mail_security_network_is_a_scanner(geodb: Any) -> None:
    visit(make_link(sent_ago=HOUR).tracking_id, geodata.MAIL_SECURITY_IP)
    click = LinkClick.objects.get()
    assert (click.network_kind, click.classification) == ("mail_security", "scanner")
    assert click.classification_reasons == ["mail_security_network"]


def test_a_click_through_a_corporate_gateway_stays_a_person(geodb: Any) -> None:
    visit(make_link(sent_ago=HOUR).tracking_id, geodata.GATEWAY_IP)
    click = LinkClick.objects.get()
    assert (click.network_kind, click.classification) == ("corporate_gateway", "human")


def test_the_users_own_network_file_overrides_the_built_in_list(
    geodb: Any, settings: Any, tmp_path: Path
) -> None:
    own = tmp_path / "networks.csv"
    own.write_text("asn,kind,organisation,source\n16509,corporate_gateway,Our VPN,our IT\n")
    settings.GEOIP_NETWORKS_PATH = str(own)
    geo.reset()
    visit(make_link(sent_ago=HOUR).tracking_id, geodata.CLOUD_IP)
    click = LinkClick.objects.get()
    assert (click.network_kind, click.classification) == ("corporate_gateway", "human")


@pytest.mark.parametrize("header", ["HTTP_DNT", "HTTP_SEC_GPC"])
def test_an_opted_out_click_keeps_its_country_only(geodb: Any, header: str) -> None:
    visit(make_link(sent_ago=HOUR).tracking_id, geodata.BERLIN_IP, **{header: "1"})
    click = LinkClick.objects.get()
    assert click.ip_address is None
    assert geo_fields(click) == ("DE", None, None, None, None, None)


def test_an_opted_out_click_from_a_cloud_is_still_not_a_person(geodb: Any) -> None:
    visit(make_link(sent_ago=HOUR).tracking_id, geodata.CLOUD_IP, HTTP_DNT="1")
    click = LinkClick.objects.get()
    assert (click.country_code, click.asn) == ("US", None)
    assert click.classification_reasons == ["datacenter_network"]


def test_without_databases_clicks_are_stored_without_geo_fields() -> None:
    assert visit(make_link(sent_ago=HOUR).tracking_id, geodata.BERLIN_IP).status_code == 302
    assert geo_fields(LinkClick.objects.get()) == (None,) * 6


def test_an_address_outside_every_network_stores_nothing(geodb: Any) -> None:
    visit(make_link(sent_ago=HOUR).tracking_id, "8.8.8.8")
    assert geo_fields(LinkClick.objects.get()) == (None,) * 6


def test_a_warm_redirect_with_geo_still_makes_one_insert(
    geodb: Any, django_assert_num_queries: Any
) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    visit(tracking_id, geodata.BERLIN_IP)
    with django_assert_num_queries(1):
        assert visit(tracking_id, geodata.BERLIN_IP).status_code == 302


# --- Buffered mode --------------------------------------------------------------------------


def drain() -> None:
    ClickWriter(consumer="geo-test-writer").run(drain=True)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_buffered_click_is_located_by_the_writer_not_the_request(
    geodb: Any, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    calls: list[str | None] = []
    real_locate = geo.locate

    def counting_locate(ip: str | None) -> geo.Location:
        calls.append(ip)
        return real_locate(ip)

    monkeypatch.setattr(geo, "locate", counting_locate)
    visit(tracking_id, geodata.BERLIN_IP)
    visit(tracking_id, geodata.PARIS_IP6)
    visit(tracking_id, geodata.CLOUD_IP)
    assert calls == []  # nothing looked up in the request
    drain()
    stored = {click.ip_address: click for click in LinkClick.objects.all()}
    assert geo_fields(stored[geodata.BERLIN_IP]) == BERLIN
    assert geo_fields(stored["2001:db8:1::7"]) == PARIS
    assert stored[geodata.CLOUD_IP].classification_reasons == ["datacenter_network"]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_buffered_opted_out_click_keeps_its_country_and_the_stream_no_ip(
    geodb: Any, stream: str
) -> None:
    import redis
    from django.conf import settings

    visit(make_link(sent_ago=HOUR).tracking_id, geodata.CLOUD_IP, HTTP_DNT="1")
    entries: Any = redis.Redis.from_url(settings.REDIS_URL).xrange(stream)
    assert entries and geodata.CLOUD_IP.encode() not in entries[0][1][b"c"]
    drain()
    click = LinkClick.objects.get()
    assert click.ip_address is None
    assert geo_fields(click) == ("US", None, None, None, None, None)
    assert click.classification == "scanner"
    assert "datacenter_network" in (click.classification_reasons or [])


# --- Files changing, missing or broken ------------------------------------------------------


def test_a_replaced_database_is_picked_up_after_the_check_interval(
    geodb: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    city, _asn = geodb
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    visit(tracking_id, geodata.BERLIN_IP)
    moved = {**geodata.CITY_NETWORKS, "198.51.100.0/24": geodata.CITY_NETWORKS["2001:db8:1::/48"]}
    geodata.write_city(city, moved)
    stat = city.stat()
    os.utime(city, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    visit(tracking_id, geodata.BERLIN_IP)  # within the interval: the old answer
    now = geo.time.monotonic()
    monkeypatch.setattr(geo.time, "monotonic", lambda: now + geo.RELOAD_CHECK_SECONDS + 1)
    visit(tracking_id, geodata.BERLIN_IP)
    countries = list(LinkClick.objects.order_by("clicked_at").values_list("country_code", "city"))
    assert countries == [("DE", "Berlin"), ("DE", "Berlin"), ("FR", "Paris")]


def test_a_missing_database_warns_once_and_never_fails_a_click(
    settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings.GEOIP_CITY_PATH = str(tmp_path / "nowhere.mmdb")
    geo.reset()
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    with caplog.at_level(logging.WARNING, logger="tracking.geo"):
        for _ in range(3):
            assert visit(tracking_id, geodata.BERLIN_IP).status_code == 302
            geo._Checked.next_check = float("-inf")  # look at the file again each time
    assert LinkClick.objects.filter(country_code__isnull=True).count() == 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "tracking.geo"]
    assert len(warnings) == 1
    assert "nowhere.mmdb" in warnings[0]


def test_a_corrupt_database_warns_and_the_other_one_still_works(
    geodb: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    city, _asn = geodb
    city.write_bytes(b"this is not a MaxMind database")
    geo.reset()
    with caplog.at_level(logging.WARNING, logger="tracking.geo"):
        assert visit(make_link(sent_ago=HOUR).tracking_id, geodata.BERLIN_IP).status_code == 302
    click = LinkClick.objects.get()
    assert (click.country_code, click.asn) == (None, 3320)
    assert any("not a MaxMind database" in r.getMessage() for r in caplog.records)


# --- Health, checks, privacy ----------------------------------------------------------------


def test_the_full_health_report_shows_the_build_dates(geodb: Any, settings: Any) -> None:
    settings.HEALTH_TOKEN = HEALTH_TOKEN
    body = Client().get("/track/health", HTTP_AUTHORIZATION=f"Bearer {HEALTH_TOKEN}").json()
    assert body["geo"]["status"] == "ok"
    assert body["geo"]["city"]["database_type"] == "GeoLite2-City"
    assert len(body["geo"]["asn"]["build_date"]) == 10
    assert Client().get("/track/health").json() == {"status": "ok"}


def test_the_system_check_warns_when_no_database_is_set(settings: Any) -> None:
    from tracking import checks

    assert [w.id for w in checks.check_geodata(None)] == ["linktrack.W006"]
    settings.GEOIP_ASN_PATH = "/var/lib/geoip/GeoLite2-ASN.mmdb"
    assert checks.check_geodata(None) == []


def test_anonymisation_keeps_country_and_region_and_drops_city_and_network(geodb: Any) -> None:
    click = make_visitor_click(make_link(), days_ago=200, ip_address=geodata.BERLIN_IP)
    geo.locate_into(click, click.ip_address)
    click.save()
    run_command("anonymize_clicks")
    click.refresh_from_db()
    assert click.ip_address is None
    assert geo_fields(click) == ("DE", "Berlin", None, None, None, "residential")


# --- Lookups kept per network -----------------------------------------------------------------

NESTED_NETWORKS: dict[str, dict[str, Any]] = {
    "81.0.0.0/8": geodata._place("DE", "Hesse", "Frankfurt"),
    "81.1.0.0/16": geodata._place("FR", "Brittany", "Rennes"),
    "81.1.2.0/24": geodata._place("FR", None, None),  # a more specific network without a city
    "81.1.3.128/25": {"country": {"iso_code": "BE"}, "subdivisions": []},
    "2001:db8::/32": geodata._place("NL", "North Holland", "Amsterdam"),
    "2001:db8:5::/48": geodata._place("AT", "Vienna", "Vienna"),
}
NESTED_ADDRESSES = [
    "81.200.3.4", "81.1.9.9", "81.1.2.3", "81.1.2.250", "81.1.3.1", "81.1.3.129",
    "81.1.3.255", "81.0.0.0", "81.255.255.255", "81.1.255.255", "82.0.0.1", "80.255.255.255",
    "2001:db8:7::1", "2001:db8:5::1", "2001:db8:5:ffff::1", "2001:db9::1", "::ffff:81.1.2.3",
    "::ffff:81.9.9.9", "81.1.9.10", "81.200.3.5",
]  # fmt: skip


def geoip2_answer(path: Path, ip: str) -> tuple[Any, ...]:
    """What geoip2's own reader says of one address (the reference)."""
    import geoip2.database
    import geoip2.errors

    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    with geoip2.database.Reader(str(path)) as reader:
        try:
            if "City" in reader.metadata().database_type:
                record = reader.city(str(address))
                region = record.subdivisions.most_specific.name
                return (record.country.iso_code, region, record.city.name)
            return (reader.country(str(address)).country.iso_code, None, None)
        except geoip2.errors.AddressNotFoundError:
            return (None, None, None)


@pytest.mark.parametrize("database_type", ["GeoLite2-City", "GeoLite2-Country"])
def test_every_address_of_a_network_is_located_as_geoip2_locates_it(
    settings: Any, tmp_path: Path, database_type: str
) -> None:
    path = tmp_path / "nested.mmdb"
    geo.write_database(
        path, database_type=database_type, description="nested", networks=NESTED_NETWORKS
    )
    settings.GEOIP_CITY_PATH, settings.GEOIP_ASN_PATH = str(path), None
    geo.reset()
    try:
        for _round in range(2):  # the second time from the caches
            for ip in NESTED_ADDRESSES:
                location = geo.locate(ip)
                found = (location.country_code, location.region, location.city)
                assert found == geoip2_answer(path, ip), ip
            geo._cached_lookup.cache_clear()  # the per-network fields answer the next round
    finally:
        geo.reset()


def test_the_fields_kept_per_network_are_bounded(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    networks = {
        f"81.{n}.0.0/16": geodata._place("DE", f"Region {n}", f"City {n}") for n in range(12)
    }
    path = tmp_path / "many.mmdb"
    geo.write_database(path, database_type="GeoLite2-City", description="many", networks=networks)
    settings.GEOIP_CITY_PATH, settings.GEOIP_ASN_PATH = str(path), None
    monkeypatch.setattr(geo, "NETWORK_CACHE_SIZE", 4)
    geo.reset()
    try:
        for n in range(12):
            assert geo.locate(f"81.{n}.1.1").city == f"City {n}"
            assert len(geo._city_db.reader.fields) <= 4
        assert geo.locate("81.0.9.9").city == "City 0"  # forgotten, read again
    finally:
        geo.reset()
