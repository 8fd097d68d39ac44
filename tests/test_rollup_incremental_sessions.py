"""An incremental run rewrites only what changed (the session bits of the days it rebuilds, the
daily rows that differ); the rows it leaves must equal those of a rebuild."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import queries, rollups
from analytics.models import (
    DailyLinkBreakdown,
    DailyLinkClicks,
    DailyScopeSessions,
    MonthlyLinkSession,
)
from analytics.selection import Selection
from tests.factories import make_link, make_visitor_click
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db


def sessions() -> list[tuple[object, ...]]:
    return sorted(
        MonthlyLinkSession.objects.values_list(
            "month", "tracking_id", "session_id", "human", "days"
        )
    )


def daily_rows() -> dict[str, list[tuple[object, ...]]]:
    """Every daily rollup row, without its id."""
    return {
        model.__name__: sorted(
            tuple(str(value) for value in row)
            for row in model.objects.values_list(
                *(f.attname for f in model._meta.concrete_fields if not f.primary_key)
            )
        )
        for model in (DailyLinkClicks, DailyLinkBreakdown, DailyScopeSessions)
    }


def test_an_incremental_run_leaves_the_session_rows_a_rebuild_makes(noon: dt.datetime) -> None:
    l1, l2 = make_link(), make_link()
    # Sessions over the last twelve days (a month boundary among them on the first days of a
    # month), on both links, seen on several days each.
    make_visitor_click(l1, days_ago=12, session_id="s_old")
    make_visitor_click(l1, days_ago=1, session_id="s_old")
    make_visitor_click(l1, days_ago=6, session_id="s_mid")
    make_visitor_click(l2, days_ago=6, session_id="s_mid")
    partly_gone = make_visitor_click(l1, days_ago=1, session_id="s_mid")
    gone = make_visitor_click(l2, days_ago=1, session_id="s_gone")
    judged = make_visitor_click(l1, days_ago=2, session_id="s_judged")
    make_visitor_click(l1, days_ago=0.25, session_id="s_today")
    first = rollups.run()
    assert first.full_rebuild

    # What changes before the next run: a click on a refreshed day for a session seen earlier,
    # a session's only click deleted, another session's click on a refreshed day deleted (its
    # older day stays), another judged automated (it moves between the kinds),
    # a new session today, and a late click on an older day (found by the totals' check).
    make_visitor_click(l2, days_ago=1.1, session_id="s_old")
    LinkClick.objects.filter(click_id__in=[gone.click_id, partly_gone.click_id]).delete()
    LinkClick.objects.filter(click_id=judged.click_id).update(classification="scanner")
    make_visitor_click(l2, days_ago=0.2, session_id="s_new_today")
    make_visitor_click(l1, days_ago=9, session_id="s_late")
    result = rollups.run()
    assert not result.full_rebuild
    incremental = sessions()
    daily = daily_rows()
    totals = queries.click_totals(Selection.of(include_automated=True))

    rollups.run(rebuild=True)
    assert incremental == sessions()
    assert daily == daily_rows()
    assert queries.click_totals(Selection.of(include_automated=True)) == totals
    assert not MonthlyLinkSession.objects.filter(session_id="s_gone").exists()
    old_days = MonthlyLinkSession.objects.filter(session_id="s_old").values_list("days", flat=True)
    assert sum(bin(days).count("1") for days in old_days) == 3  # 12 days ago; 1 day ago on both


def test_a_run_that_rebuilds_a_whole_month_builds_it_anew(noon: dt.datetime) -> None:
    link = make_link()
    make_visitor_click(link, days_ago=40, session_id="s_a")
    make_visitor_click(link, days_ago=3, session_id="s_b")
    rollups.run()
    # Every day back to 45 days ago is rebuilt: whole months among them are built anew.
    LinkClick.objects.filter(session_id="s_a").update(session_id="anon-1")
    result = rollups.run(refresh_days=45)
    assert not result.full_rebuild
    built = sessions()
    rollups.run(rebuild=True)
    assert built == sessions()
    assert not MonthlyLinkSession.objects.filter(session_id="s_a").exists()
