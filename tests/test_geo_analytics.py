"""Clicks by country: the query, the link analytics API, the CSV export and the dashboard map."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from analytics import queries
from analytics.selection import HUMAN, Selection
from tests import analytics_fixture
from tests.factories import key_client, logged_in_client, make_key, make_user, utc
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db

START, END = utc(2026, 3, 10), utc(2026, 3, 13)
CUSTOM = "days=custom&from=2026-03-10&to=2026-03-12"
# Fixture clicks by name → where they came from (the rest have no geodata).
PLACES = {
    "c1": ("DE", "Berlin", "Berlin"),
    "c2": ("DE", "Bavaria", "Munich"),
    "c3": ("FR", "Île-de-France", "Paris"),
}


@pytest.fixture(params=["raw clicks", "daily rollups"])
def fx(request: pytest.FixtureRequest) -> analytics_fixture.Fixture:
    fixture = analytics_fixture.build()
    for name, (country, region, city) in PLACES.items():
        LinkClick.objects.filter(pk=fixture.clicks[name].pk).update(
            country_code=country, region=region, city=city
        )
    if request.param == "daily rollups":
        call_command("rollup_clicks", verbosity=0)
    return fixture


def human_countries(fx: analytics_fixture.Fixture) -> dict[str | None, int]:
    """The expected people per country, counted from the fixture's own rows."""
    expected: dict[str | None, int] = {}
    for click in LinkClick.objects.filter(HUMAN, clicked_at__gte=START, clicked_at__lt=END):
        expected[click.country_code or "unknown"] = (
            expected.get(click.country_code or "unknown", 0) + 1
        )
    return expected


def test_clicks_by_country_counts_people_per_country_with_names_and_map_codes(
    fx: analytics_fixture.Fixture,
) -> None:
    rows = queries.clicks_by_country(Selection.of(start=START, end=END))
    people = {r["country_code"]: r["total_clicks"] for r in rows if r["total_clicks"]}
    assert people == human_countries(fx)
    by_code = {r["country_code"]: r for r in rows}
    assert (by_code["DE"]["country_name"], by_code["DE"]["iso_numeric"]) == ("Germany", "276")
    if "unknown" in by_code:
        assert by_code["unknown"]["iso_numeric"] is None


def test_link_analytics_reports_clicks_by_country_beside_by_source(
    fx: analytics_fixture.Fixture,
) -> None:
    result = queries.link_analytics(
        fx.links["L1"], Selection.of(start=START, end=END, include_automated=True)
    )
    assert result is not None
    stats = result["click_statistics"]
    expected: dict[str, int] = {}
    for click in LinkClick.objects.filter(
        tracking_id=fx.links["L1"], clicked_at__gte=START, clicked_at__lt=END
    ):
        key = click.country_code or "unknown"
        expected[key] = expected.get(key, 0) + 1
    assert stats["by_country"] == expected
    assert sum(stats["by_country"].values()) == sum(stats["by_source"].values())


def test_the_analytics_api_answers_by_country(fx: analytics_fixture.Fixture) -> None:
    client = key_client(make_key())
    response = client.get(
        f"/api/link-tracking/analytics/{fx.links['L1']}",
        {"start_date": "2026-03-10", "end_date": "2026-03-12", "include_automated": "true"},
    )
    assert response.status_code == 200, response.content
    stats = response.json()["click_statistics"]
    assert "by_country" in stats and "by_source" in stats
    assert sum(stats["by_country"].values()) == stats["total_clicks"]


@pytest.fixture
def staff() -> Client:
    user = make_user("staff", password="pw")
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return logged_in_client(user)


def test_the_csv_export_has_the_place_of_each_click(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    response = staff.get(f"{reverse('analytics:export-csv')}?{CUSTOM}&automated=1")
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(body)))
    by_id = {r["click_id"]: r for r in rows}
    berlin = by_id[str(fx.clicks["c1"].pk)]
    assert (berlin["country_code"], berlin["region"], berlin["city"]) == PLACES["c1"]


def test_the_country_chart_feeds_the_map_with_numeric_codes(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    response = staff.get(f"{reverse('analytics:chart-countries')}?{CUSTOM}")
    assert response.status_code == 200
    payload: dict[str, Any] = response.json()
    assert payload["chart"]["type"] == "choropleth"
    values = {point["id"]: point["v"] for point in payload["chart"]["datasets"][0]["data"]}
    expected = human_countries(fx)
    assert values.get("276") == expected.get("DE")
    assert payload["empty"] is False


def test_the_overview_shows_the_map_and_the_country_table(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    html = staff.get(f"{reverse('analytics:overview')}?{CUSTOM}").content.decode()
    assert 'data-chart="countries"' in html
    assert "vendor/world-atlas/countries-110m.json" in html
    assert "vendor/chartjs-chart-geo/index.umd.min.js" in html
    assert "<td>Germany</td>" in html
    assert "<script>" not in html  # CSP: no inline scripts
