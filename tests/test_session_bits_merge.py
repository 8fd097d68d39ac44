"""An incremental run writes a month's session rows only where the bits of the days it rebuilds
changed (:func:`analytics.sessionbits.merge`): a session seen before that clicks again on one of
those days takes that day's bit in its row, and a run with nothing new writes no row at all."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from analytics import rollups, selection
from analytics.models import MonthlyLinkSession
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
