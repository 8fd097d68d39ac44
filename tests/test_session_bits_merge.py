"""An incremental run writes a month's session rows only where the bits of the days it rebuilds
changed (:func:`analytics.sessionbits.merge`): a session seen before that clicks again on one of
those days takes that day's bit in its row, and a run with nothing new writes no row at all.
Today's daily rows too are compared with today's rolled part rather than dropped each run; they
go only when nothing of today is rolled up."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from analytics import rollups, selection
from analytics.models import (
    DailyLinkBreakdown,
    DailyLinkClicks,
    DailyScopeSessions,
    MonthlyLinkSession,
)
from tests.factories import make_link, make_visitor_click

pytestmark = pytest.mark.django_db


@pytest.fixture
def mid_month(monkeypatch: pytest.MonkeyPatch) -> dt.datetime:
    """The clock stopped at noon on the 15th of last month: the days a run rebuilds (the 13th to
    the 15th) and a week before them lie in one month, whatever today's date."""
    last_month = selection.today().replace(day=1) - dt.timedelta(days=1)
    at = selection.local_midnight(last_month.replace(day=15)) + dt.timedelta(hours=12)
    monkeypatch.setattr(timezone, "now", lambda: at)
    return at


def rows() -> dict[int, tuple[str, str, int]]:
    return {
        pk: (tracking_id, session_id, days)
        for pk, tracking_id, session_id, days in MonthlyLinkSession.objects.values_list(
            "pk", "tracking_id", "session_id", "days"
        )
    }


def versions() -> dict[int, str]:
    """Each row's version on PostgreSQL (``xmin`` changes whenever a row is written)."""
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, xmin::text FROM analytics_monthly_link_session")
        return dict(cursor.fetchall())


def test_a_session_seen_before_takes_the_bit_of_its_new_click(mid_month: dt.datetime) -> None:
    link = make_link()
    make_visitor_click(link, days_ago=6, session_id="s")
    make_visitor_click(link, days_ago=2, session_id="s")
    assert rollups.run().full_rebuild
    make_visitor_click(link, days_ago=1, session_id="s")  # a rebuilt day its row lacks
    assert not rollups.run().full_rebuild
    merged = rows()
    (days,) = MonthlyLinkSession.objects.filter(session_id="s").values_list("days", flat=True)
    assert days == (1 << 8) | (1 << 12) | (1 << 13)  # the 9th, 13th and 14th
    rollups.run(rebuild=True)
    assert sorted(merged.values()) == sorted(rows().values())


def test_a_run_with_nothing_new_writes_no_session_row(mid_month: dt.datetime) -> None:
    link = make_link()
    make_visitor_click(link, days_ago=6, session_id="older_days_too")
    make_visitor_click(link, days_ago=1, session_id="older_days_too")
    make_visitor_click(link, days_ago=1, session_id="these_days_only")
    make_visitor_click(link, days_ago=0.25, session_id="today", classification="scanner")
    rollups.run()
    before, written = rows(), versions()
    assert len(before) == 3
    assert not rollups.run().full_rebuild
    assert rows() == before  # no row deleted and written again (it would get a new id)
    assert versions() == written  # nor updated in place


def test_a_run_with_nothing_new_keeps_todays_daily_rows(noon: dt.datetime) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's rollups rewrite the rows they rebuild (see replace_select)")
    link = make_link()
    make_visitor_click(link, days_ago=0.25, session_id="morning")
    make_visitor_click(link, days_ago=1, session_id="yesterday")
    rollups.run()

    def todays() -> list[tuple[object, ...]]:
        today = selection.today()
        links = DailyLinkClicks.objects.filter(day=today).values_list("pk", "human_clicks")
        scopes = DailyScopeSessions.objects.filter(day=today).values_list("pk", "all_sessions")
        return sorted([*links, *scopes])

    before = todays()
    assert before
    assert not rollups.run().full_rebuild
    assert todays() == before  # compared, not dropped and written again


def test_todays_rows_go_when_nothing_of_today_is_rolled_up(
    noon: dt.datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = make_link()
    make_visitor_click(link, days_ago=0.25, session_id="morning")
    make_visitor_click(link, days_ago=1, session_id="yesterday")
    rollups.run()
    today = selection.today()
    assert DailyLinkClicks.objects.filter(day=today).exists()
    # The clock set back to just after midnight: nothing of today is old enough to roll up.
    midnight = selection.local_midnight(today)
    monkeypatch.setattr(timezone, "now", lambda: midnight + dt.timedelta(seconds=1))
    assert rollups.run().partial_until is None
    for model in (DailyLinkClicks, DailyLinkBreakdown, DailyScopeSessions):
        assert not model.objects.filter(day__gte=today).exists(), model.__name__
