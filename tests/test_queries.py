from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import override_settings

from analytics import queries, selection, sources
from analytics.models import DailyLinkClicks, RollupState
from analytics.selection import Period, Scope, Selection
from tests import analytics_fixture
from tests.factories import build_click, utc
from tracking import services
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db

START, END = utc(2026, 3, 10), utc(2026, 3, 13)


@pytest.fixture(params=["raw clicks", "daily rollups"])
def rollups(request: pytest.FixtureRequest) -> bool:
    """Every query test runs twice: on raw clicks, and with the past days rolled up."""
    return request.param == "daily rollups"


@pytest.fixture
def fx(rollups: bool) -> analytics_fixture.Fixture:
    fixture = analytics_fixture.build()
    if rollups:
        call_command("rollup_clicks", verbosity=0)
        assert DailyLinkClicks.objects.exists()
    return fixture


# --- link_analytics -------------------------------------------------------------------------


def test_link_analytics_counts_people_by_default_and_reports_automated_beside_them(
    fx: analytics_fixture.Fixture,
) -> None:
    result = queries.link_analytics(fx.links["L1"], Selection.of(start=START, end=END))
    assert result is not None
    assert result["link_info"]["tracking_id"] == "fx_l1"
    stats = result["click_statistics"]
    # c4 is not classified yet: neither a person nor automated, counted apart.
    assert stats == {
        "total_clicks": 2,
        "unique_sessions": 1,
        "human_clicks": 2,
        "automated_clicks": 1,
        "unclassified_clicks": 1,
        "first_click": "2026-03-10T09:00:00+00:00",
        "last_click": "2026-03-10T09:05:00+00:00",
        "by_source": {"email": 2, "linkedin": 0},
        "by_country": {"unknown": 2},
        "by_region": [
            {
                "country_code": "unknown",
                "region": "unknown",
                "country_name": "Unknown",
                "total_clicks": 2,
                "human_clicks": 2,
                "automated_clicks": 1,
                "unclassified_clicks": 1,
            }
        ],
        "by_city": [
            {
                "country_code": "unknown",
                "region": "unknown",
                "city": "unknown",
                "country_name": "Unknown",
                "total_clicks": 2,
                "human_clicks": 2,
                "automated_clicks": 1,
                "unclassified_clicks": 1,
            }
        ],
        "from_company_network": {"person_clicks": 0, "first": None, "last": None},
        "by_classification": {"human": 2, "scanner": 1, "unclassified": 1},
        "by_rule": [],  # a link without routing rules
    }
    assert [c["clicked_at"] for c in result["click_timeline"]] == [
        "2026-03-10T09:05:00+00:00",
        "2026-03-10T09:00:00+00:00",
    ]
    assert set(result["click_timeline"][0]) >= {
        "click_id",
        "clicked_at",
        "click_source",
        "ip_address",
        "referrer_url",
        "metadata",
        "classification",
        "classification_reasons",
        "device_type",
        "browser",
        "os",
    }


def test_link_analytics_with_automated_counts_every_click(fx: analytics_fixture.Fixture) -> None:
    result = queries.link_analytics(
        fx.links["L1"], Selection.of(start=START, end=END, include_automated=True)
    )
    assert result is not None
    stats = result["click_statistics"]
    assert (stats["total_clicks"], stats["unique_sessions"]) == (4, 2)
    assert (stats["human_clicks"], stats["automated_clicks"], stats["unclassified_clicks"]) == (
        2,
        1,
        1,
    )
    assert stats["first_click"] == "2026-03-10T08:59:58+00:00"
    assert stats["by_source"] == {"email": 3, "linkedin": 1}
    assert result["click_timeline"][-1]["classification"] == "scanner"
    assert result["click_timeline"][-1]["classification_reasons"] == ["scanner signal"]


def test_link_analytics_without_a_range_counts_all_time(fx: analytics_fixture.Fixture) -> None:
    result = queries.link_analytics(fx.links["L5"])
    assert result is not None
    assert result["click_statistics"]["total_clicks"] == 2


def test_link_analytics_is_none_for_an_unknown_link(fx: analytics_fixture.Fixture) -> None:
    assert queries.link_analytics("no_such_link") is None


def test_link_analytics_of_a_link_without_clicks_has_zeros(fx: analytics_fixture.Fixture) -> None:
    tid = services.create_tracked_link(
        original_url="https://example.com/x", link_function="Resume", link_type="document"
    )["tracking_id"]
    result = queries.link_analytics(tid)
    assert result is not None
    assert result["click_statistics"]["total_clicks"] == 0
    assert result["click_statistics"]["first_click"] is None
    assert result["click_timeline"] == []


def test_the_timeline_keeps_the_latest_fifty_clicks(fx: analytics_fixture.Fixture) -> None:
    base = utc(2026, 3, 1)
    services.insert_clicks(
        [
            build_click(
                classification="human",
                link=fx.links["L5"],
                clicked_at=base + dt.timedelta(minutes=i),
            )
            for i in range(60)
        ]
    )
    result = queries.link_analytics(fx.links["L5"])
    assert result is not None
    assert len(result["click_timeline"]) == 50
    assert result["click_timeline"][0]["clicked_at"] == "2026-03-12T02:00:00+00:00"


# --- job_link_summary -----------------------------------------------------------------------


def test_job_link_summary_groups_active_links_by_function(fx: analytics_fixture.Fixture) -> None:
    result = queries.job_link_summary(fx.job.id, Selection.of(start=START, end=END))
    assert result is not None
    assert result["job"]["title"] == "Backend Engineer"
    assert result["job"]["application_count"] == 2
    assert (result["job"]["link_count"], result["job"]["active_link_count"]) == (4, 3)
    assert result["link_functions"] == [
        {
            "link_function": "LinkedIn",
            "link_count": 2,
            "total_clicks": 3,
            "unique_sessions": 2,
            "human_clicks": 3,
            "automated_clicks": 2,
            "unclassified_clicks": 1,
        },
        {
            "link_function": "Calendly",
            "link_count": 1,
            "total_clicks": 1,
            "unique_sessions": 1,
            "human_clicks": 1,
            "automated_clicks": 1,
            "unclassified_clicks": 0,
        },
    ]


def test_job_link_summary_with_automated(fx: analytics_fixture.Fixture) -> None:
    result = queries.job_link_summary(
        fx.job.id, Selection.of(start=START, end=END, include_automated=True)
    )
    assert result is not None
    rows = {r["link_function"]: r for r in result["link_functions"]}
    assert (rows["LinkedIn"]["total_clicks"], rows["LinkedIn"]["unique_sessions"]) == (6, 4)
    assert (rows["Calendly"]["total_clicks"], rows["Calendly"]["unique_sessions"]) == (2, 2)


def test_job_link_summary_is_none_for_an_unknown_job(fx: analytics_fixture.Fixture) -> None:
    assert queries.job_link_summary("8c1d2a9e-0000-4000-8000-000000000000") is None


# --- performance_report and daily trends -----------------------------------------------------


def test_performance_report_covers_today_and_the_previous_days(rollups: bool) -> None:
    today = selection.today()
    yesterday_noon = selection.local_midnight(today - dt.timedelta(days=1)) + dt.timedelta(hours=12)
    long_ago = selection.local_midnight(today - dt.timedelta(days=40))
    tid = services.create_tracked_link(
        original_url="https://example.com/p", link_function="Portfolio", link_type="profile"
    )["tracking_id"]
    clicks = [
        build_click(classification="human", link=tid, clicked_at=yesterday_noon, session_id="a"),
        build_click(classification="human", link=tid, clicked_at=yesterday_noon, session_id="b"),
        build_click(classification="human", link=tid, clicked_at=yesterday_noon, session_id="c"),
        build_click(classification="human", link=tid, clicked_at=long_ago, session_id="d"),
    ]
    clicks[2].classification = "bot"
    services.insert_clicks(clicks)
    if rollups:
        call_command("rollup_clicks", verbosity=0)

    report = queries.performance_report(days=30)

    assert report["period"]["days"] == 30
    assert report["overall_statistics"] == {
        "total_links": 1,
        "active_links": 1,
        "total_clicks": 2,
        "unique_sessions": 2,
        "human_clicks": 2,
        "automated_clicks": 1,
        "unclassified_clicks": 0,
    }
    assert report["function_performance"] == [
        {
            "link_function": "Portfolio",
            "link_count": 1,
            "total_clicks": 2,
            "unique_sessions": 2,
            "human_clicks": 2,
            "automated_clicks": 1,
            "unclassified_clicks": 0,
        }
    ]
    trends = report["daily_trends"]
    assert len(trends) == 30
    assert trends[-1]["date"] == today.isoformat()
    assert trends[-2] == {
        "date": (today - dt.timedelta(days=1)).isoformat(),
        "total_clicks": 2,
        "unique_sessions": 2,
        "human_clicks": 2,
        "automated_clicks": 1,
        "unclassified_clicks": 0,
    }
    assert sum(day["total_clicks"] for day in trends) == 2


def test_performance_report_adds_todays_clicks_to_the_rolled_days_exactly(
    rollups: bool, noon: dt.datetime
) -> None:
    today = selection.today()
    midnight = selection.local_midnight(today)
    yesterday_noon = midnight - dt.timedelta(hours=12)
    portfolio, resume = (
        services.create_tracked_link(
            original_url=f"https://example.com/{name}", link_function=name, link_type="profile"
        )["tracking_id"]
        for name in ("Portfolio", "Resume")
    )

    def click(
        tid: str, at: dt.datetime, session: str | None, kind: str | None = "human"
    ) -> LinkClick:
        built = build_click(classification="human", link=tid, clicked_at=at, session_id=session)
        built.classification = kind
        return built

    services.insert_clicks(
        [
            click(portfolio, yesterday_noon, "a"),
            click(portfolio, yesterday_noon, "b", "bot"),
            click(portfolio, midnight, "a"),  # session "a" again, today: counted once overall
            click(resume, midnight, "a"),
            click(resume, midnight, "e", "scanner"),
            click(resume, midnight, None),
        ]
    )
    if rollups:
        call_command("rollup_clicks", verbosity=0)
    # A new click, stored after the rollup run: read raw, and counted at once.
    services.insert_clicks([click(portfolio, noon - dt.timedelta(seconds=30), "f")])

    report = queries.performance_report(days=7)

    assert report["overall_statistics"] == {
        "total_links": 2,
        "active_links": 2,
        "total_clicks": 5,
        "unique_sessions": 2,
        "human_clicks": 5,
        "automated_clicks": 2,
        "unclassified_clicks": 0,
    }
    assert [
        (row["link_function"], row["total_clicks"], row["unique_sessions"], row["automated_clicks"])
        for row in report["function_performance"]
    ] == [("Portfolio", 3, 2, 1), ("Resume", 2, 1, 1)]
    assert report["daily_trends"][-2:] == [
        {
            "date": (today - dt.timedelta(days=1)).isoformat(),
            "total_clicks": 1,
            "unique_sessions": 1,
            "human_clicks": 1,
            "automated_clicks": 1,
            "unclassified_clicks": 0,
        },
        {
            "date": today.isoformat(),
            "total_clicks": 4,
            "unique_sessions": 2,
            "human_clicks": 4,
            "automated_clicks": 1,
            "unclassified_clicks": 0,
        },
    ]
    everything = queries.performance_report(days=7, include_automated=True)
    overall = everything["overall_statistics"]
    assert (overall["total_clicks"], overall["unique_sessions"]) == (7, 4)
    assert [
        (row["link_function"], row["total_clicks"], row["unique_sessions"])
        for row in everything["function_performance"]
    ] == [("Portfolio", 4, 3), ("Resume", 3, 2)]
    assert [
        (row["total_clicks"], row["unique_sessions"]) for row in everything["daily_trends"][-2:]
    ] == [
        (2, 2),
        (5, 3),
    ]


def _links(*functions: str) -> list[str]:
    return [
        services.create_tracked_link(
            original_url=f"https://example.com/{name}", link_function=name, link_type="profile"
        )["tracking_id"]
        for name in functions
    ]


def _click(tid: str, at: dt.datetime, session: str | None, kind: str | None = "human") -> LinkClick:
    built = build_click(classification="human", link=tid, clicked_at=at, session_id=session)
    built.classification = kind
    return built


def test_today_is_rolled_up_until_a_moment_ago_and_read_raw_after_it(noon: dt.datetime) -> None:
    call_command("rollup_clicks", verbosity=0)
    state = RollupState.objects.get()
    assert (state.complete_until, state.partial_until) == (
        selection.today(),
        noon - dt.timedelta(seconds=300),
    )
    with override_settings(ANALYTICS_ROLLUP_LAG_SECONDS=12 * 3600 + 1):  # before midnight
        call_command("rollup_clicks", verbosity=0)
    assert RollupState.objects.get().partial_until is None


def test_todays_rolled_part_and_raw_part_add_up_exactly(rollups: bool, noon: dt.datetime) -> None:
    midnight = selection.local_midnight(selection.today())
    portfolio, resume = _links("Portfolio", "Resume")
    services.insert_clicks(
        [
            _click(portfolio, midnight + dt.timedelta(hours=1), "a"),
            _click(resume, midnight + dt.timedelta(hours=2), "b"),
            _click(resume, midnight + dt.timedelta(hours=3), "a", "scanner"),
        ]
    )
    if rollups:
        call_command("rollup_clicks", verbosity=0)
        rolled = DailyLinkClicks.objects.filter(day=selection.today())
        assert sorted(
            rolled.values_list("tracking_id", "human_clicks", "automated_clicks")
        ) == sorted([(portfolio, 1, 0), (resume, 1, 1)])
    services.insert_clicks(  # after the instant the rollups hold today until
        [
            _click(portfolio, noon - dt.timedelta(seconds=60), "a"),  # seen before: once
            _click(resume, noon - dt.timedelta(seconds=30), "c"),
            _click(portfolio, noon - dt.timedelta(seconds=30), None),
        ]
    )

    report = queries.performance_report(days=7)
    today = report["daily_trends"][-1]
    assert (today["human_clicks"], today["automated_clicks"], today["unique_sessions"]) == (5, 1, 3)
    overall = report["overall_statistics"]
    assert (overall["human_clicks"], overall["unique_sessions"]) == (5, 3)
    assert [
        (row["link_function"], row["human_clicks"], row["unique_sessions"])
        for row in report["function_performance"]
    ] == [("Portfolio", 3, 1), ("Resume", 2, 2)]
    start, end = Period.for_dates(selection.today(), selection.today())
    grid = queries.clicks_by_hour_of_week(
        Selection.of(start=start, end=end, include_automated=True)
    )
    weekday = selection.today().isoweekday() - 1
    assert [grid["total_clicks"][weekday][hour] for hour in (1, 2, 3, 11)] == [1, 1, 1, 3]
    assert sum(map(sum, grid["total_clicks"])) == 6
    sessions = queries.daily_clicks(Selection.of(start=start, end=end, include_automated=True))
    assert [(d["human_clicks"], d["automated_clicks"], d["unique_sessions"]) for d in sessions] == [
        (5, 1, 3)
    ]


def test_a_click_stored_late_into_the_rolled_part_of_today_counts_from_the_next_run(
    noon: dt.datetime,
) -> None:
    midnight = selection.local_midnight(selection.today())
    (portfolio,) = _links("Portfolio")
    services.insert_clicks([_click(portfolio, midnight + dt.timedelta(hours=1), "a")])
    call_command("rollup_clicks", verbosity=0)
    # Replayed from a spool long after it happened: before the instant already rolled up.
    services.insert_clicks([_click(portfolio, midnight + dt.timedelta(hours=2), "b")])
    assert queries.performance_report(days=1)["overall_statistics"]["human_clicks"] == 1

    call_command("rollup_clicks", verbosity=0)

    overall = queries.performance_report(days=1)["overall_statistics"]
    assert (overall["human_clicks"], overall["unique_sessions"]) == (2, 2)


def test_a_period_ending_before_the_rolled_instant_reads_today_raw(
    rollups: bool, noon: dt.datetime
) -> None:
    midnight = selection.local_midnight(selection.today())
    (portfolio,) = _links("Portfolio")
    services.insert_clicks(
        [
            _click(portfolio, midnight + dt.timedelta(hours=1), "a"),
            _click(portfolio, midnight + dt.timedelta(hours=3), "b"),
        ]
    )
    if rollups:
        call_command("rollup_clicks", verbosity=0)
    totals = queries.click_totals(
        Selection.of(start=midnight, end=midnight + dt.timedelta(hours=2), include_automated=False)
    )
    assert (totals["human_clicks"], totals["unique_sessions"]) == (1, 1)


def test_daily_clicks_cut_days_in_utc_by_default(fx: analytics_fixture.Fixture) -> None:
    days = queries.daily_clicks(Selection.of(start=START, end=END))
    assert [
        (d["date"], d["human_clicks"], d["automated_clicks"], d["unclassified_clicks"])
        for d in days
    ] == [
        ("2026-03-10", 3, 1, 0),
        ("2026-03-11", 2, 1, 1),
        ("2026-03-12", 1, 1, 0),
    ]
    assert [d["unique_sessions"] for d in days] == [1, 1, 1]


@override_settings(TIME_ZONE="America/New_York")
def test_daily_clicks_cut_days_in_the_configured_time_zone(fx: analytics_fixture.Fixture) -> None:
    start, end = Period.for_dates(dt.date(2026, 3, 10), dt.date(2026, 3, 12))
    assert start == utc(2026, 3, 10, 4)  # EDT, UTC-4
    days = queries.daily_clicks(Selection.of(start=start, end=end))
    assert [
        (d["date"], d["human_clicks"], d["automated_clicks"], d["unclassified_clicks"])
        for d in days
    ] == [
        ("2026-03-10", 3, 1, 0),
        ("2026-03-11", 3, 1, 1),  # c4, 19:30 in New York
        ("2026-03-12", 0, 1, 0),
    ]


def test_daily_clicks_of_one_link_with_automated(fx: analytics_fixture.Fixture) -> None:
    days = queries.daily_clicks(
        Selection.of(start=START, end=END, tracking_id=fx.links["L2"], include_automated=True)
    )
    assert [d["total_clicks"] for d in days] == [1, 0, 1]


# --- breakdowns -----------------------------------------------------------------------------


def test_overview_totals(fx: analytics_fixture.Fixture) -> None:
    assert queries.overview_totals(Selection.of(start=START, end=END)) == {
        "total_clicks": 6,
        "unique_sessions": 3,
        "human_clicks": 6,
        "automated_clicks": 3,
        "unclassified_clicks": 1,
        "links": 5,
        "active_links": 4,
        "jobs": 1,
        "applications": 2,
    }


def test_clicks_by_function_over_all_links(fx: analytics_fixture.Fixture) -> None:
    rows = queries.clicks_by_function(Selection.of(start=START, end=END, include_automated=True))
    assert [(r["link_function"], r["link_count"], r["total_clicks"]) for r in rows] == [
        ("LinkedIn", 2, 6),
        ("Calendly", 1, 2),
        ("GitHub", 1, 1),
        ("Portfolio", 1, 1),
    ]


def test_clicks_by_source_names_missing_sources_unknown(fx: analytics_fixture.Fixture) -> None:
    rows = queries.clicks_by_source(Selection.of(start=START, end=END, include_automated=True))
    assert [(r["click_source"], r["total_clicks"]) for r in rows] == [
        ("email", 5),
        ("linkedin", 2),
        ("direct", 2),
        ("unknown", 1),
    ]
    people = queries.clicks_by_source(Selection.of(start=START, end=END))
    assert {r["click_source"]: r["total_clicks"] for r in people} == {
        "email": 4,
        "direct": 2,
        "linkedin": 0,  # c6 is a preview, c4 not classified yet
        "unknown": 0,
    }


def test_clicks_by_classification_lists_automated_classes_apart(
    fx: analytics_fixture.Fixture,
) -> None:
    rows = queries.clicks_by_classification(Selection.of(start=START, end=END))
    assert rows == [
        {"classification": "unclassified", "automated": False, "clicks": 1},
        {"classification": "human", "automated": False, "clicks": 6},
        {"classification": "bot", "automated": True, "clicks": 1},
        {"classification": "scanner", "automated": True, "clicks": 1},
        {"classification": "preview", "automated": True, "clicks": 1},
    ]


def test_clicks_by_device(fx: analytics_fixture.Fixture) -> None:
    result = queries.clicks_by_device(Selection.of(start=START, end=END))
    assert [(r["device_type"], r["total_clicks"]) for r in result["device_type"]] == [
        ("desktop", 6),
        ("unknown", 0),  # c4: listed, not counted as a person
    ]
    assert [(r["browser"], r["automated_clicks"]) for r in result["browser"]] == [
        ("Chrome", 0),
        ("unknown", 3),
    ]


def test_clicks_by_hour_of_week(fx: analytics_fixture.Fixture) -> None:
    grid = queries.clicks_by_hour_of_week(Selection.of(start=START, end=END))
    assert grid["weekdays"][1] == "Tue"
    assert grid["human_clicks"][1][9] == 3  # Tuesday 09:00 UTC: c1, c2, c5
    assert grid["automated_clicks"][1][8] == 1  # the scanner at 08:59:58
    assert grid["total_clicks"][1][8] == 0
    assert sum(map(sum, grid["human_clicks"])) == 6
    assert sum(map(sum, grid["automated_clicks"])) == 3
    assert grid["unclassified_clicks"][2][23] == 1  # c4, Wednesday 23:30
    assert sum(map(sum, grid["total_clicks"])) == 6


@override_settings(TIME_ZONE="America/New_York")
def test_hour_of_week_uses_the_configured_time_zone(fx: analytics_fixture.Fixture) -> None:
    grid = queries.clicks_by_hour_of_week(Selection.of(start=START, end=END))
    assert grid["human_clicks"][1][5] == 3  # 09:00 UTC is 05:00 in New York


def test_top_jobs_and_links(fx: analytics_fixture.Fixture) -> None:
    jobs = queries.top_jobs(Selection.of(start=START, end=END))
    assert [(j["title"], j["total_clicks"], j["automated_clicks"]) for j in jobs] == [
        ("Backend Engineer", 5, 3)
    ]
    links = queries.top_links(Selection.of(start=START, end=END), limit=2)
    assert [(link["tracking_id"], link["total_clicks"]) for link in links] == [
        ("fx_l1", 2),
        ("fx_l2", 1),
    ]


# --- applications ---------------------------------------------------------------------------


def test_application_journey_orders_clicks_by_session_and_shows_automated_apart(
    fx: analytics_fixture.Fixture,
) -> None:
    journey = queries.application_journey(fx.a1.id, Selection.of(start=START, end=END))
    assert journey is not None
    assert journey["first_human_click"] == "2026-03-10T09:00:00+00:00"
    assert journey["statistics"] == {
        "total_clicks": 3,
        "unique_sessions": 1,
        "human_clicks": 3,
        "automated_clicks": 2,
        "unclassified_clicks": 1,
    }
    people = journey["human_sessions"]
    assert [s["session_id"] for s in people] == ["s1"]
    # c4's session is nobody's until c4 is classified: neither a person's nor automated.
    assert [s["session_id"] for s in journey["unclassified_sessions"]] == ["s2"]
    assert [c["link_function"] for c in people[0]["clicks"]] == ["LinkedIn", "Calendly", "LinkedIn"]
    automated = journey["automated_sessions"]
    assert [(s["session_id"], s["clicks"][0]["classification"]) for s in automated] == [
        (None, "scanner"),
        ("s3", "preview"),
    ]
    links = {link["tracking_id"]: link for link in journey["links"]}
    assert links["fx_l1"]["first_human_click"] == "2026-03-10T09:00:00+00:00"
    assert links["fx_l2"]["first_human_click"] == "2026-03-10T09:01:00+00:00"
    assert (links["fx_l1"]["unique_sessions"], links["fx_l2"]["unique_sessions"]) == (1, 1)
    assert (journey["clicks_shown"], journey["clicks_in_period"]) == (6, 6)


def test_application_journey_is_none_for_an_unknown_application(
    fx: analytics_fixture.Fixture,
) -> None:
    assert queries.application_journey("8c1d2a9e-0000-4000-8000-000000000000") is None


def test_time_to_first_human_click(fx: analytics_fixture.Fixture) -> None:
    result = queries.time_to_first_human_click(Selection.of(application_id=fx.a1.id))
    assert result["links"] == 2
    assert result["links_opened"] == 2
    rows = {r["tracking_id"]: r for r in result["rows"]}
    assert rows["fx_l1"]["seconds_to_first_click"] == 3600
    assert rows["fx_l2"]["seconds_to_first_click"] == 3660
    assert result["median_seconds"] == 3630
    with_bots = queries.time_to_first_human_click(
        Selection.of(application_id=fx.a1.id, include_automated=True)
    )
    assert {r["tracking_id"]: r["seconds_to_first_click"] for r in with_bots["rows"]} == {
        "fx_l1": 3598,
        "fx_l2": 3660,
    }


# --- export ---------------------------------------------------------------------------------


def test_export_rows_are_the_clicks_behind_the_view(fx: analytics_fixture.Fixture) -> None:
    rows = list(queries.export_rows(start=START, end=END, job_id=fx.job.id))
    assert len(rows) == 5  # people only: not c4, which is not classified yet
    header = queries.EXPORT_COLUMNS
    first = dict(zip(header, rows[0], strict=True))
    assert first["clicked_at"] == "2026-03-10T09:00:00+00:00"
    assert first["link_function"] == "LinkedIn"
    everything = list(
        queries.export_rows(start=START, end=END, job_id=fx.job.id, include_automated=True)
    )
    assert len(everything) == 9
    by_time = {row[header.index("clicked_at")]: row for row in everything}
    assert by_time["2026-03-11T23:30:00+00:00"][header.index("classification")] == "unclassified"
    assert LinkClick.objects.count() == 11


# --- rollups and raw clicks agree -----------------------------------------------------------


def test_a_period_with_partial_days_combines_rollups_and_raw_clicks(
    fx: analytics_fixture.Fixture,
) -> None:
    start, end = utc(2026, 3, 10, 9, 2), utc(2026, 3, 12, 3)  # partial first and last days
    totals = queries.click_totals(Selection.of(start=start, end=end, include_automated=True))
    # c2 (09:05 on the 10th), c4, c7, c8, c9 (the 11th) and c11 (02:00 on the 12th).
    assert totals == {
        "total_clicks": 6,
        "unique_sessions": 5,
        "human_clicks": 4,
        "automated_clicks": 1,
        "unclassified_clicks": 1,
    }


def test_sessions_seen_on_several_days_count_once(fx: analytics_fixture.Fixture) -> None:
    # s1 clicks again on the 11th: still one session over the period.
    services.insert_clicks(
        [
            build_click(
                classification="human",
                link=fx.links["L2"],
                clicked_at=utc(2026, 3, 11, 8),
                session_id="s1",
            )
        ]
    )
    call_command("rollup_clicks", verbosity=0)
    totals = queries.click_totals(Selection.of(start=START, end=END, job_id=fx.job.id))
    assert (totals["human_clicks"], totals["unique_sessions"]) == (6, 2)


def test_sessions_on_days_outside_the_period_do_not_count(
    fx: analytics_fixture.Fixture, rollups: bool
) -> None:
    def click(when: dt.datetime, session: str) -> LinkClick:
        return build_click(
            classification="human", link=fx.links["L5"], clicked_at=when, session_id=session
        )

    services.insert_clicks(
        [
            click(utc(2026, 2, 27, 12), "edge"),
            click(utc(2026, 4, 2, 12), "edge"),
            click(utc(2026, 3, 15, 12), "inside"),
        ]
    )
    if rollups:
        call_command("rollup_clicks", verbosity=0)
    start, end = Period.for_dates(dt.date(2026, 2, 28), dt.date(2026, 4, 1))
    totals = queries.click_totals(Selection.of(start=start, end=end, tracking_id=fx.links["L5"]))
    assert (totals["human_clicks"], totals["unique_sessions"]) == (3, 3)  # s6, s7, inside
    wider = Period.for_dates(dt.date(2026, 2, 27), dt.date(2026, 4, 2))
    totals = queries.click_totals(Selection(wider, Scope(tracking_id=fx.links["L5"])))
    assert (totals["human_clicks"], totals["unique_sessions"]) == (5, 4)


@pytest.mark.django_db(transaction=True)
def test_a_rollup_run_committing_mid_count_is_not_counted_twice(
    noon: dt.datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from django.db import connection

    midnight = selection.local_midnight(selection.today())
    (portfolio,) = _links("Portfolio")
    services.insert_clicks([_click(portfolio, midnight + dt.timedelta(hours=1), "a")])
    with override_settings(ANALYTICS_ROLLUP_LAG_SECONDS=11 * 3600 + 1800):  # rolled to 00:30
        call_command("rollup_clicks", verbosity=0)
    original = sources.split
    runs: list[str] = []

    def split_then_roll_up(start: dt.datetime | None, end: dt.datetime | None) -> sources.Split:
        parts = original(start, end)
        if not runs:  # another process rolls today up to 11:55 between our statements
            worker = threading.Thread(target=lambda: runs.append(_roll_up_apart()))
            worker.start()
            worker.join()
        return parts

    def _roll_up_apart() -> str:
        try:
            call_command("rollup_clicks", verbosity=0)
            return "done"
        finally:
            connection.close()

    monkeypatch.setattr(sources, "split", split_then_roll_up)
    totals = queries.click_totals(Selection.of(start=midnight, end=midnight + dt.timedelta(days=1)))
    assert runs == ["done"]
    assert RollupState.objects.get().partial_until == noon - dt.timedelta(seconds=300)
    assert (totals["human_clicks"], totals["unique_sessions"]) == (1, 1)
    again = queries.click_totals(Selection.of(start=midnight, end=midnight + dt.timedelta(days=1)))
    assert (again["human_clicks"], again["unique_sessions"]) == (1, 1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rolled_and_raw_figures_agree_on_random_clicks_around_today(
    noon: dt.datetime, seed: int
) -> None:
    """Random clicks over the last days and today, some after the rolled instant: every figure
    read through the rollups equals the one read from the raw clicks alone."""
    import random

    from analytics import counting

    rng = random.Random(seed)
    links = _links("LinkedIn", "Portfolio", "Resume")
    midnight = selection.local_midnight(selection.today())
    clicks = []
    for n in range(200):
        if n % 5 == 0:  # after the instant today is rolled up to: read raw
            at = noon - dt.timedelta(seconds=rng.randrange(1, 300))
        elif n % 5 in (1, 2):  # today, rolled up
            at = midnight + dt.timedelta(seconds=rng.randrange(0, 11 * 3600))
        else:
            at = midnight - dt.timedelta(days=rng.randrange(1, 40))
            at += dt.timedelta(seconds=rng.randrange(0, 86400))
        kind = rng.choice([None, "human", "human", "bot", "scanner", "preview"])
        session = rng.choice([None, *(f"s{i}" for i in range(60))])
        clicks.append(_click(rng.choice(links), at, session, kind))
    services.insert_clicks(clicks)
    call_command("rollup_clicks", verbosity=0)
    assert RollupState.objects.get().partial_until == noon - dt.timedelta(seconds=300)

    def figures() -> list[object]:
        out: list[object] = []
        for days in (1, 7, 30):
            for automated in (False, True):
                start, end = Period.for_dates(
                    selection.today() - dt.timedelta(days=days - 1), selection.today()
                )
                out.append(
                    counting.count_by_keys(
                        [None, "day", "link_function", "tracking_id"],
                        Selection.of(start=start, end=end, include_automated=automated),
                    )
                )
                out.append(counting.breakdown("click_source", Selection.of(start=start, end=end)))
                out.append(counting.hour_of_week(Selection.of(start=start, end=end)))
                out.append(
                    queries.daily_clicks(
                        Selection.of(
                            start=start, end=end, include_automated=automated, tracking_id=links[0]
                        )
                    )
                )
        return out

    through_rollups = figures()
    assert sources.split(None, None).partial_day == selection.today()
    RollupState.objects.all().delete()  # every figure from the raw clicks alone
    assert sources.split(None, None).rolled is None
    assert figures() == through_rollups
