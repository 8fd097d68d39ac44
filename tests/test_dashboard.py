from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests import analytics_fixture
from tests.factories import logged_in_client, make_click, make_job, make_user, utc

pytestmark = pytest.mark.django_db

CUSTOM = "days=custom&from=2026-03-10&to=2026-03-12"
CHARTS = [
    "analytics:chart-daily",
    "analytics:chart-functions",
    "analytics:chart-sources",
    "analytics:chart-devices",
    "analytics:chart-classifications",
    "analytics:chart-hour-of-week",
]


@pytest.fixture
def staff() -> Client:
    user = make_user("staff", password="pw")
    user.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    return logged_in_client(user)


@pytest.fixture
def fx() -> analytics_fixture.Fixture:
    return analytics_fixture.build()


def pages(fx: analytics_fixture.Fixture) -> list[str]:
    return [
        reverse("analytics:overview"),
        reverse("analytics:job-detail", args=[fx.job.id]),
        reverse("analytics:link-detail", args=[fx.links["L1"]]),
        reverse("analytics:application-detail", args=[fx.a1.id]),
    ]


def stat(html: str, name: str) -> str:
    marker = f'data-stat="{name}">'
    start = html.index(marker) + len(marker)
    return html[start : html.index("<", start)]


# --- access ---------------------------------------------------------------------------------


def test_the_root_redirects_to_the_dashboard(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("analytics:overview")


def test_anonymous_visitors_are_sent_to_the_admin_login(
    client: Client, fx: analytics_fixture.Fixture
) -> None:
    for url in [*pages(fx), reverse("analytics:export-csv"), reverse(CHARTS[0])]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login"))


def test_non_staff_users_are_sent_to_the_login_too(
    client: Client, fx: analytics_fixture.Fixture
) -> None:
    client.force_login(make_user("visitor", staff=False, password="pw"))
    response = client.get(reverse("analytics:overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_every_page_renders_for_staff(staff: Client, fx: analytics_fixture.Fixture) -> None:
    for url in pages(fx):
        response = staff.get(f"{url}?{CUSTOM}")
        assert response.status_code == 200, url
        assert b"<script>" not in response.content  # no inline script (strict CSP)
        assert b' style="' not in response.content
        assert b"https://cdn" not in response.content


def test_unknown_job_link_and_application_are_404(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    missing = "8c1d2a9e-0000-4000-8000-000000000000"
    assert staff.get(reverse("analytics:job-detail", args=[missing])).status_code == 404
    assert staff.get(reverse("analytics:link-detail", args=["nope"])).status_code == 404
    assert staff.get(reverse("analytics:application-detail", args=[missing])).status_code == 404


# --- numbers and filters --------------------------------------------------------------------


def test_the_overview_shows_people_by_default_and_everything_with_automated(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    people = staff.get(f"{reverse('analytics:overview')}?{CUSTOM}").content.decode()
    assert stat(people, "total_clicks") == "6"
    assert stat(people, "automated_clicks") == "3"
    assert stat(people, "unclassified_clicks") == "1"  # c4: its own card, not a person
    assert stat(people, "links") == "5"
    everything = staff.get(f"{reverse('analytics:overview')}?{CUSTOM}&automated=1").content.decode()
    assert stat(everything, "total_clicks") == "10"


def test_the_period_filter_changes_the_numbers(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    narrow = "days=custom&from=2026-03-10&to=2026-03-10"
    html = staff.get(f"{reverse('analytics:overview')}?{narrow}").content.decode()
    assert stat(html, "total_clicks") == "3"


def test_the_link_page_shows_the_redirect_url_and_the_reasons(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    url = reverse("analytics:link-detail", args=[fx.links["L1"]])
    html = staff.get(f"{url}?{CUSTOM}&automated=1").content.decode()
    assert "https://links.example.com/track/fx_l1" in html
    assert "data-copy=" in html
    assert "scanner signal" in html
    assert stat(html, "total_clicks") == "4"


def test_the_application_page_shows_the_first_human_click_and_automated_hits(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    url = reverse("analytics:application-detail", args=[fx.a1.id])
    html = staff.get(f"{url}?{CUSTOM}").content.decode()
    assert 'datetime="2026-03-10T09:00:00+00:00"' in html
    assert "Session s1" in html
    assert "scanner signal" in html


def test_the_application_page_offers_an_email_with_its_tracked_links(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    url = reverse("analytics:application-detail", args=[fx.a1.id])
    html = staff.get(url).content.decode()
    assert "Email with tracked links" in html
    assert 'href="https://links.example.com/track/fx_l1"' in html
    assert 'href="https://links.example.com/track/fx_l2"' in html
    assert "js/copy_buttons.js" in html


def test_a_bad_filter_is_a_400_naming_the_parameter(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    response = staff.get(f"{reverse('analytics:overview')}?days=12")
    assert response.status_code == 400
    assert b"days must be 7, 30, 90 or custom" in response.content
    response = staff.get(f"{reverse('analytics:chart-daily')}?days=custom&from=2026-03-12&to=x")
    assert response.status_code == 400
    assert response.json()["field"] == "to"
    response = staff.get(f"{reverse('analytics:chart-daily')}?automated=maybe")
    assert response.json() == {
        "error": "automated must be 1 or 0.",
        "field": "automated",
        "code": "invalid_filter",
    }
    response = staff.get(f"{reverse('analytics:chart-daily')}?job=not-a-uuid")
    assert (response.status_code, response.json()["field"]) == (400, "job")


# --- chart endpoints ------------------------------------------------------------------------


def test_every_chart_endpoint_answers_chart_ready_json(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    for name in CHARTS:
        response = staff.get(f"{reverse(name)}?{CUSTOM}&automated=1")
        assert response.status_code == 200, name
        payload = response.json()
        assert set(payload) == {"chart", "rows", "empty"}, name
        assert payload["chart"]["type"] in {"bar", "doughnut", "bubble"}
        assert payload["chart"]["datasets"], name
        assert payload["empty"] is False, name


def test_the_daily_chart_stacks_people_and_automated_for_one_job(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    url = f"{reverse('analytics:chart-daily')}?{CUSTOM}&job={fx.job.id}"
    chart = staff.get(url).json()["chart"]
    assert chart["labels"] == ["2026-03-10", "2026-03-11", "2026-03-12"]
    assert chart["datasets"] == [
        {"label": "People", "data": [3, 2, 0]},
        {"label": "Automated", "data": [1, 1, 1]},
        {"label": "Not classified yet", "data": [0, 1, 0]},
    ]


def test_the_hour_of_week_chart_places_bubbles_by_weekday_and_hour(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    points = staff.get(f"{reverse('analytics:chart-hour-of-week')}?{CUSTOM}").json()["chart"]
    tuesday_nine = [p for p in points["datasets"][0]["data"] if (p["x"], p["y"]) == (9, 1)]
    assert tuesday_nine[0]["v"] == 3


def test_chart_data_is_cached_briefly(
    staff: Client, fx: analytics_fixture.Fixture, settings: Any
) -> None:
    settings.ANALYTICS_CACHE_SECONDS = 30
    url = f"{reverse('analytics:chart-daily')}?{CUSTOM}"
    before = staff.get(url).json()["chart"]["datasets"][0]["data"]
    make_click(fx.links["L5"], clicked_at=utc(2026, 3, 10, 12), classification="human")
    assert staff.get(url).json()["chart"]["datasets"][0]["data"] == before
    cache.clear()  # what the expiry does after ANALYTICS_CACHE_SECONDS
    fresh = staff.get(url).json()["chart"]["datasets"][0]["data"]
    assert fresh[0] == before[0] + 1


def test_caching_can_be_turned_off(
    staff: Client, fx: analytics_fixture.Fixture, settings: Any
) -> None:
    settings.ANALYTICS_CACHE_SECONDS = 0
    url = f"{reverse('analytics:chart-daily')}?{CUSTOM}"
    before = staff.get(url).json()["chart"]["datasets"][0]["data"]
    make_click(fx.links["L5"], clicked_at=utc(2026, 3, 10, 12), classification="human")
    assert staff.get(url).json()["chart"]["datasets"][0]["data"][0] == before[0] + 1


def test_charts_of_an_empty_period_say_so(staff: Client, fx: analytics_fixture.Fixture) -> None:
    payload = staff.get(
        f"{reverse('analytics:chart-sources')}?days=custom&from=2020-01-01&to=2020-01-02"
    ).json()
    assert payload["empty"] is True


# --- CSV export -----------------------------------------------------------------------------


def test_the_csv_export_holds_the_clicks_behind_the_view(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    response = staff.get(f"{reverse('analytics:export-csv')}?{CUSTOM}&link={fx.links['L1']}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))  # type: ignore[attr-defined]
    assert [r["clicked_at"] for r in rows] == [  # people only: c4 is not classified yet
        "2026-03-10T09:00:00+00:00",
        "2026-03-10T09:05:00+00:00",
    ]
    assert rows[0]["link_function"] == "LinkedIn"
    everything = staff.get(f"{reverse('analytics:export-csv')}?{CUSTOM}&automated=1")
    lines = b"".join(everything.streaming_content).decode().strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 + 10
    assert sum(",unclassified," in line for line in lines) == 1


def test_the_csv_export_defuses_spreadsheet_formulas(
    staff: Client, fx: analytics_fixture.Fixture
) -> None:
    make_click(
        fx.links["L5"],
        clicked_at=utc(2026, 3, 10, 12),
        session_id="=HYPERLINK(1)",
        classification="human",
    )
    response = staff.get(f"{reverse('analytics:export-csv')}?{CUSTOM}&link={fx.links['L5']}")
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert "'=HYPERLINK(1)" in body


# --- empty states ---------------------------------------------------------------------------


def test_a_fresh_install_explains_what_to_do(staff: Client) -> None:
    response = staff.get(reverse("analytics:overview"))
    assert response.status_code == 200
    assert b"data-empty-state" in response.content
    assert b"load_demo" in response.content
    assert b"chart.umd.js" not in response.content


def test_a_job_without_links_explains_what_to_do(staff: Client) -> None:
    job = make_job(title="Data Analyst")
    response = staff.get(reverse("analytics:job-detail", args=[job.id]))
    assert response.status_code == 200
    assert b"This job has no tracked links yet" in response.content


def test_a_long_journey_shows_the_latest_clicks_and_offers_the_export(
    staff: Client, fx: analytics_fixture.Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("analytics.queries.applications.JOURNEY_CLICK_LIMIT", 2)
    url = reverse("analytics:application-detail", args=[fx.a1.id])
    html = staff.get(f"{url}?{CUSTOM}").content.decode()
    assert "Showing the latest 2 of 6 clicks in this period" in html
    assert stat(html, "total_clicks") == "3"  # the totals still cover the whole period
