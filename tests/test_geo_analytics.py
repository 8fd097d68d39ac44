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


# --- Regions and cities of one job, application or link -------------------------------------


def test_regions_and_cities_are_counted_for_one_job_with_their_country(
    fx: analytics_fixture.Fixture,
) -> None:
    selection = Selection.of(start=START, end=END, include_automated=True, job_id=fx.job.pk)
    regions = {
        (r["country_code"], r["region"]): r["total_clicks"]
        for r in queries.clicks_by_place(selection, "region")
    }
    cities = {
        (r["country_code"], r["city"]): (r["human_clicks"], r["automated_clicks"])
        for r in queries.clicks_by_place(selection, "city")
    }
    job_clicks = LinkClick.objects.filter(
        tracking__job=fx.job, clicked_at__gte=START, clicked_at__lt=END
    )
    assert regions[("DE", "Berlin")] == 1 and regions[("FR", "Île-de-France")] == 1
    assert cities[("FR", "Paris")] == (0, 1)  # c3 is the scanner's HEAD request
    assert sum(regions.values()) == job_clicks.count()
    with pytest.raises(ValueError):
        queries.clicks_by_place(Selection.of(start=START, end=END), "city")


@pytest.mark.parametrize("include_automated", [False, True])
def test_regions_summed_from_cities_equal_regions_counted_alone(
    fx: analytics_fixture.Fixture, include_automated: bool
) -> None:
    # Berlin with a click in the city and one without a city; a click with no region either.
    LinkClick.objects.filter(pk=fx.clicks["c2"].pk).update(
        country_code="DE", region="Berlin", city=None
    )
    LinkClick.objects.filter(pk=fx.clicks["c5"].pk).update(region=None, city=None)
    selection = Selection.of(
        start=START, end=END, include_automated=include_automated, job_id=fx.job.pk
    )
    both = queries.clicks_by_places(selection, ["region", "city"])
    assert both["region"] == queries.clicks_by_places(selection, ["region"])["region"]
    assert both["city"] == queries.clicks_by_place(selection, "city")
    assert len(both["region"]) < len(both["city"])


def test_an_anonymised_click_still_counts_in_its_region_but_no_longer_in_its_city(
    fx: analytics_fixture.Fixture,
) -> None:
    LinkClick.objects.filter(pk=fx.clicks["c1"].pk).update(city=None, ip_address=None)
    selection = Selection.of(start=START, end=END, tracking_id=fx.links["L1"])
    regions = {r["region"] for r in queries.clicks_by_place(selection, "region")}
    cities = {r["city"] for r in queries.clicks_by_place(selection, "city")}
    assert "Berlin" in regions
    assert "Berlin" not in cities and "unknown" in cities


def test_the_api_answers_by_region_and_by_city_only_with_clicks_read(
    fx: analytics_fixture.Fixture,
) -> None:
    url = f"/api/link-tracking/analytics/{fx.links['L1']}"
    params = {"start_date": "2026-03-10", "end_date": "2026-03-12", "include_automated": "true"}
    stats = key_client(make_key()).get(url, params).json()["click_statistics"]
    regions = {(r["country_code"], r["country_name"], r["region"]) for r in stats["by_region"]}
    assert ("DE", "Germany", "Berlin") in regions
    assert {"DE/Berlin", "DE/Munich", "FR/Paris"} <= {
        f"{r['country_code']}/{r['city']}" for r in stats["by_city"]
    }
    assert sum(r["total_clicks"] for r in stats["by_region"]) == stats["total_clicks"]
    limited = key_client(make_key(scopes=["analytics:read"])).get(url, params)
    assert limited.status_code == 200, limited.content
    assert "by_city" not in limited.json()["click_statistics"]
    assert "by_region" in limited.json()["click_statistics"]


def test_the_job_page_shows_regions_and_cities_to_who_may_view_clicks(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    url = f"{reverse('analytics:job-detail', args=[fx.job.pk])}?{CUSTOM}&automated=1"
    html = staff.get(url).content.decode()
    assert 'data-table="regions"' in html and "<td>Île-de-France</td>" in html
    assert 'data-table="cities"' in html and "<td>Munich</td>" in html
    user = make_user("jobs-only", password="pw")
    user.user_permissions.set(
        Permission.objects.filter(codename__startswith="view_").exclude(codename="view_linkclick")
    )
    limited = logged_in_client(user).get(url).content.decode()
    assert 'data-table="regions"' in limited
    assert 'data-table="cities"' not in limited and "Munich" not in limited


def test_the_job_summary_and_the_performance_report_answer_by_country(
    fx: analytics_fixture.Fixture,
) -> None:
    selection = Selection.of(start=START, end=END)
    summary = queries.job_link_summary(fx.job.pk, selection)
    assert summary is not None
    assert summary["by_country"]["DE"] == human_countries(fx)["DE"]
    report = queries.performance_report(days=3650)
    expected_people = LinkClick.objects.filter(HUMAN).count()
    assert sum(report["by_country"].values()) == expected_people
    response = key_client(make_key()).get(f"/api/link-tracking/jobs/{fx.job.pk}/summary")
    assert response.status_code == 200, response.content
    assert "by_country" in response.json()
