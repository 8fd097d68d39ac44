"""Every date range and day count from outside is bounded: 2000-01-01 to tomorrow, ten years.

Through each door that takes one: the analytics API, the resource API's list filters, the
dashboard's pages, charts and export, and the management commands. Each refusal is a 400 (or a
CommandError) naming the field; nothing out of bounds reaches a query, and nothing is a 500.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from tests.factories import (
    key_client,
    logged_in_client,
    make_key,
    make_link,
    make_user,
    make_visitor_click,
)
from tests.support import error_of, run_command
from tracking import periods
from tracking.models import TrackedLink

pytestmark = pytest.mark.django_db

HUGE = "99999999999"


def day(offset: int) -> str:
    """Today plus ``offset`` local days, as YYYY-MM-DD."""
    return (periods.today() + dt.timedelta(days=offset)).isoformat()


@pytest.fixture
def link() -> TrackedLink:
    link = make_link()
    make_visitor_click(link, days_ago=1)
    return link


@pytest.fixture
def api() -> Client:
    return key_client(make_key())


@pytest.fixture
def staff() -> Client:
    return logged_in_client(make_user("staff", superuser=True))


# --- The rule itself ------------------------------------------------------------------------


def test_the_bounds_are_named_and_about_ten_years() -> None:
    assert periods.EARLIEST_DATE == dt.date(2000, 1, 1)
    assert 3650 <= periods.MAX_RANGE_DAYS <= 3660
    assert periods.MAX_DAYS == periods.MAX_RANGE_DAYS


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        (dt.date(1999, 12, 31), dt.date(2000, 1, 5), "start"),
        (dt.date(2000, 1, 1), dt.date(9999, 12, 31), "end"),
        (dt.date(2000, 1, 1), dt.date(2010, 1, 10), "start"),  # 3663 days
        (dt.date(2020, 1, 2), dt.date(2020, 1, 1), "start"),
    ],
)
def test_dates_out_of_bounds_are_refused_naming_the_field(
    first: dt.date, last: dt.date, field: str
) -> None:
    with pytest.raises(periods.RangeError) as caught:
        periods.check_dates(first, last)
    assert caught.value.field == field


def test_the_longest_range_and_tomorrow_are_allowed() -> None:
    periods.check_dates(dt.date(2000, 1, 1), dt.date(2000, 1, 1) + dt.timedelta(days=3659))
    tomorrow = periods.today() + dt.timedelta(days=1)
    periods.check_dates(tomorrow, tomorrow)
    ten_years_ago = periods.today() - dt.timedelta(days=periods.MAX_RANGE_DAYS - 1)
    periods.check_instants(periods.local_midnight(ten_years_ago), None)
    with pytest.raises(periods.RangeError, match="at most 3660 days"):
        periods.check_instants(periods.local_midnight(ten_years_ago - dt.timedelta(days=2)), None)


# --- The analytics API ----------------------------------------------------------------------


def analytics_url(link: TrackedLink) -> str:
    return f"/api/link-tracking/analytics/{link.tracking_id}"


def test_the_range_from_the_report_is_a_400_not_a_503_or_a_slow_200(
    api: Client, link: TrackedLink
) -> None:
    response = api.get(analytics_url(link), {"start": "0002-01-01", "end": "9999-12-01"})

    assert response.status_code == 400
    error = error_of(response)
    assert set(error["fields"]) & {"start", "end"}
    assert "2000-01-01" in str(error["fields"]) or "tomorrow" in str(error["fields"])


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"start": "1999-12-31"}, "start", "on or after 2000-01-01"),
        ({"start": "0002-01-01"}, "start", "on or after 2000-01-01"),
        ({"end": "9999-12-01"}, "end", "(tomorrow)"),
        ({"start": "2000-01-01", "end": "2012-01-01"}, "start", "at most 3660 days"),
        ({"start": "2000-01-01"}, "start", "at most 3660 days"),  # runs until now
        ({"start": "2020-01-02", "end": "2020-01-01"}, "end", "after start"),
    ],
)
def test_link_analytics_refuses_ranges_out_of_bounds(
    api: Client, link: TrackedLink, params: dict[str, str], field: str, words: str
) -> None:
    response = api.get(analytics_url(link), params)

    assert response.status_code == 400, response.content
    fields = error_of(response)["fields"]
    assert field in fields
    assert words in " ".join(fields[field])


def test_the_day_after_tomorrow_is_out_of_bounds(api: Client, link: TrackedLink) -> None:
    response = api.get(analytics_url(link), {"end": day(2)})
    assert (response.status_code, list(error_of(response)["fields"])) == (400, ["end"])
    assert api.get(analytics_url(link), {"end": day(1)}).status_code == 200


def test_the_longest_range_is_answered(api: Client, link: TrackedLink) -> None:
    # 3660 days ending tomorrow, read through the rollups (one condition per month on their
    # session bits): the widest query anyone can ask, on SQLite too (no 503).
    run_command("rollup_clicks")
    response = api.get(analytics_url(link), {"start": day(-3658), "end": day(1)})
    assert response.status_code == 200, response.content
    assert response.json()["click_statistics"]["total_clicks"] == 1
    # 2000-01-01 to 2010-01-07 inclusive: exactly 3660 days; one more day is too many.
    response = api.get(analytics_url(link), {"start": "2000-01-01", "end": "2010-01-07"})
    assert response.status_code == 200, response.content
    response = api.get(analytics_url(link), {"start": "2000-01-01", "end": "2010-01-08"})
    assert response.status_code == 400


def test_the_job_summary_refuses_ranges_out_of_bounds(api: Client) -> None:
    job_id = "550e8400-e29b-41d4-a716-446655440000"
    url = f"/api/link-tracking/jobs/{job_id}/summary"
    response = api.get(url, {"start": "0002-01-01", "end": "9999-12-01"})
    assert response.status_code == 400
    assert set(error_of(response)["fields"]) & {"start", "end"}


@pytest.mark.parametrize("days", ["0", "-1", "3661", HUGE, "1e3", "abc", "7.5", ""])
def test_the_report_refuses_days_out_of_bounds(api: Client, days: str) -> None:
    response = api.get("/api/link-tracking/report", {"days": days})
    assert response.status_code == 400, response.content
    assert "days" in error_of(response)["fields"]


def test_the_report_answers_the_longest_period(api: Client, link: TrackedLink) -> None:
    response = api.get("/api/link-tracking/report", {"days": "3660"})
    assert response.status_code == 200
    assert len(response.json()["daily_trends"]) == 3660


# --- The resource API's list filters --------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/clicks", {"start": "1999-12-31"}, "start"),
        ("/api/v1/clicks", {"end": "9999-12-01"}, "end"),
        ("/api/v1/clicks", {"start": "2000-01-01", "end": "2020-01-01"}, "start"),
        ("/api/v1/links", {"created_after": "0002-01-01"}, "created_after"),
        ("/api/v1/links", {"created_before": "9999-12-01"}, "created_before"),
    ],
)
def test_list_filters_refuse_ranges_out_of_bounds(
    api: Client, path: str, params: dict[str, str], field: str
) -> None:
    response = api.get(path, params)
    assert response.status_code == 400, response.content
    assert field in error_of(response)["fields"]


def test_list_filters_within_bounds_still_filter(api: Client, link: TrackedLink) -> None:
    response = api.get("/api/v1/clicks", {"start": day(-30), "end": day(1)})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


# --- The dashboard --------------------------------------------------------------------------


def dashboard_urls(link: TrackedLink) -> list[str]:
    return [
        reverse("analytics:overview"),
        reverse("analytics:link-detail", args=[link.tracking_id]),
        reverse("analytics:chart-daily"),
        reverse("analytics:chart-hour-of-week"),
        reverse("analytics:export-csv"),
    ]


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("days=custom&from=9999-12-31&to=9999-12-31", "from", "(tomorrow)"),
        ("days=custom&from=2026-01-01&to=9999-12-31", "to", "(tomorrow)"),
        ("days=custom&from=0001-01-01&to=2001-01-01", "from", "on or after 2000-01-01"),
        ("days=custom&from=1999-12-31&to=2000-01-01", "from", "on or after 2000-01-01"),
        ("days=custom&from=2000-01-01&to=2020-01-01", "from", "at most 3660 days"),
        (f"days={HUGE}", "days", "days must be"),
        ("days=abc", "days", "days must be"),
        ("days=-7", "days", "days must be"),
    ],
)
def test_dashboard_filters_out_of_bounds_are_a_400_naming_the_field(
    staff: Client, link: TrackedLink, query: str, field: str, words: str
) -> None:
    for url in dashboard_urls(link):
        response = staff.get(f"{url}?{query}")
        assert response.status_code == 400, (url, response.status_code)
        if response["Content-Type"].startswith("application/json"):
            assert response.json()["field"] == field
            assert words in response.json()["error"]
        else:
            html = response.content.decode()
            assert f'data-error-field="{field}"' in html
            assert words in html


def test_the_dashboard_shows_a_range_ending_tomorrow(staff: Client, link: TrackedLink) -> None:
    query = f"days=custom&from={day(-3658)}&to={day(1)}"
    for url in dashboard_urls(link):
        assert staff.get(f"{url}?{query}").status_code == 200, url


# --- Management commands --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "args", "words"),
    [
        ("rollup_clicks", ["--refresh-days", HUGE], "--refresh-days must be"),
        ("rollup_clicks", ["--refresh-days", "3661"], "--refresh-days must be"),
        ("rollup_clicks", ["--refresh-days", "-1"], "--refresh-days must be"),
        ("anonymize_clicks", ["--days", HUGE], "--days must be"),
        ("anonymize_clicks", ["--days", "0"], "--days must be"),
        ("purge_clicks", ["--days", HUGE], "--days must be"),
        ("purge_clicks", ["--days", "3661"], "--days must be"),
        ("create_api_key", ["--name", "x", "--scopes", "links:read", "--expires-days", HUGE], ""),
        ("anonymize_clicks", ["--days", "abc"], "invalid int value"),
    ],
)
def test_commands_refuse_day_counts_out_of_bounds(
    command: str, args: list[str], words: str
) -> None:
    with pytest.raises(CommandError, match=words or "--expires-days must be"):
        call_command(command, *args)


def test_a_retention_setting_out_of_bounds_names_the_setting(settings: Any) -> None:
    settings.CLICK_RETENTION_DAYS = int(HUGE)
    with pytest.raises(CommandError, match="CLICK_RETENTION_DAYS must be"):
        call_command("purge_clicks")


def test_commands_accept_the_longest_day_counts(link: TrackedLink) -> None:
    assert "Deleted 0 clicks" in run_command("purge_clicks", "--days", "3660")
    assert "Anonymized 0 clicks" in run_command("anonymize_clicks", "--days", "3660")
    run_command("rollup_clicks", "--refresh-days", "3660")


@pytest.mark.parametrize(
    "args",
    [
        ["purge_clicks", "--batch-size", HUGE * 2],
        ["anonymize_clicks", "--batch-size", HUGE * 2],
        ["erase", "--ip", "203.0.113.7", "--batch-size", HUGE * 2],
    ],
)
def test_batch_sizes_past_any_database_integer_are_a_command_error(
    link: TrackedLink, args: list[str]
) -> None:
    make_visitor_click(link, days_ago=1000)
    with pytest.raises(CommandError, match="--batch-size must be at least 1 and at most"):
        call_command(*args)
