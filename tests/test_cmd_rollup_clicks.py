from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.test import override_settings

from analytics import queries, selection
from analytics.models import (
    DailyGroupClicks,
    DailyLinkBreakdown,
    DailyLinkClicks,
    DailyScopeSessions,
    MonthlyLinkSession,
    RollupState,
)
from analytics.selection import Period, Selection
from tests import analytics_fixture
from tests.factories import build_click, utc
from tracking import services
from tracking.models import TrackedLink

pytestmark = pytest.mark.django_db

START, END = utc(2026, 3, 10), utc(2026, 3, 13)


@pytest.fixture
def fx() -> analytics_fixture.Fixture:
    return analytics_fixture.build()


def rollup(*args: str) -> str:
    out = io.StringIO()
    call_command("rollup_clicks", *args, stdout=out)
    return out.getvalue()


def snapshot() -> list[tuple[object, ...]]:
    return sorted(
        DailyLinkClicks.objects.values_list(
            "day", "tracking_id", "human_clicks", "automated_clicks"
        )
    )


def test_it_rolls_up_every_past_day_and_marks_them_complete(
    fx: analytics_fixture.Fixture, noon: dt.datetime
) -> None:
    output = rollup()
    assert f"Rollups complete until {selection.today()}, today until " in output
    state = RollupState.objects.get()
    assert (state.time_zone, state.complete_until) == ("UTC", selection.today())
    assert DailyLinkClicks.objects.aggregate(h=Sum("human_clicks"), a=Sum("automated_clicks")) == {
        "h": 7,  # c4, not classified yet, is counted from the raw clicks until it is
        "a": 3,
    }
    hours = DailyLinkBreakdown.objects.filter(dimension="hour", day="2026-03-10")
    per_link = hours.filter(tracking__isnull=False)
    assert sorted(per_link.values_list("value", "human_clicks", "automated_clicks")) == [
        ("8", 0, 1),
        ("9", 1, 0),  # c5 on L2
        ("9", 2, 0),  # c1 and c2 on L1
    ]
    all_links = hours.filter(tracking__isnull=True)
    assert sorted(all_links.values_list("value", "human_clicks", "automated_clicks")) == [
        ("8", 0, 1),
        ("9", 3, 0),
    ]
    s1 = MonthlyLinkSession.objects.filter(month="2026-03-01", session_id="s1", human=True)
    assert sorted(s1.values_list("tracking_id", "days")) == [("fx_l1", 1 << 9), ("fx_l2", 1 << 9)]
    s5 = MonthlyLinkSession.objects.get(session_id="s5", tracking_id="fx_l3")
    assert s5.days == 1 << 10  # the 11th
    everyone = DailyScopeSessions.objects.get(kind="all", day="2026-03-11")
    # s5; and the bot's s4 and the unclassified c4's s2 among all sessions.
    assert (everyone.human_sessions, everyone.all_sessions) == (1, 3)


def test_running_it_twice_changes_nothing(fx: analytics_fixture.Fixture) -> None:
    rollup()
    first = snapshot()
    rollup()
    assert snapshot() == first


def test_whole_past_days_are_read_from_the_rollups(fx: analytics_fixture.Fixture) -> None:
    rollup()
    every_link = Selection.of(start=START, end=END)
    one_link = Selection.of(start=START, end=END, tracking_id="fx_l3")
    before = [
        queries.click_totals(selection)["human_clicks"] for selection in (every_link, one_link)
    ]
    # A link's figures read its own rows; sums over every link, the rows per function and job.
    DailyLinkClicks.objects.filter(day="2026-03-11", tracking_id="fx_l3").update(human_clicks=101)
    DailyGroupClicks.objects.filter(day="2026-03-11", link_function="LinkedIn").update(
        human_clicks=101
    )
    after = [
        queries.click_totals(selection)["human_clicks"] for selection in (every_link, one_link)
    ]
    assert after == [before[0] + 100, before[1] + 100]


def test_a_late_click_on_an_old_day_is_picked_up_by_the_next_run(
    fx: analytics_fixture.Fixture,
) -> None:
    rollup()
    services.insert_clicks(
        [
            build_click(
                fx.links["L3"],
                classification="human",
                clicked_at=utc(2026, 3, 11, 15),
                session_id="late",
            )
        ]
    )
    output = rollup("--verbosity", "2")
    assert "2026-03-11 .. 2026-03-11" in output
    totals = queries.click_totals(Selection.of(start=START, end=END))
    assert (totals["human_clicks"], totals["unique_sessions"]) == (7, 4)


def test_reclassified_clicks_are_picked_up_too(fx: analytics_fixture.Fixture) -> None:
    rollup()
    fx.clicks["c8"].__class__.objects.filter(click_id=fx.clicks["c8"].click_id).update(
        classification="scanner"
    )
    rollup()
    totals = queries.click_totals(Selection.of(start=START, end=END))
    assert (totals["human_clicks"], totals["automated_clicks"]) == (5, 4)


def test_a_time_zone_change_rebuilds_everything(fx: analytics_fixture.Fixture) -> None:
    rollup()
    with override_settings(TIME_ZONE="America/New_York"):
        assert "full rebuild" in rollup()
        assert RollupState.objects.get().time_zone == "America/New_York"
        start, end = Period.for_dates(dt.date(2026, 3, 10), dt.date(2026, 3, 12))
        days = queries.daily_clicks(Selection.of(start=start, end=end))
        assert [(d["human_clicks"], d["automated_clicks"]) for d in days] == [
            (3, 1),
            (3, 1),
            (0, 1),
        ]


def test_rollups_of_a_deleted_link_are_ignored(fx: analytics_fixture.Fixture) -> None:
    rollup()
    services.delete_tracked_link(tracking_id=fx.links["L1"])
    assert not TrackedLink.objects.filter(tracking_id="fx_l1").exists()
    totals = queries.click_totals(Selection.of(start=START, end=END, include_automated=True))
    assert totals["total_clicks"] == 6  # L1's four clicks are gone with it
    rollup()
    assert not DailyLinkClicks.objects.filter(tracking_id="fx_l1").exists()
    sources = queries.clicks_by_source(Selection.of(start=START, end=END, include_automated=True))
    assert sum(row["total_clicks"] for row in sources) == 6


def test_a_negative_refresh_window_is_refused() -> None:
    with pytest.raises(CommandError, match="--refresh-days must be at least 0"):
        call_command("rollup_clicks", "--refresh-days", "-1")
