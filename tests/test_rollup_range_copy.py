"""An incremental run rolls the days it refreshes up from a copy of their clicks
(:mod:`analytics.rangeclicks`), a full rebuild from ``link_clicks`` itself: both must give the
same rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import DatabaseError, transaction
from django.test.utils import override_settings

from analytics import rangeclicks, rollups
from analytics.models import (
    DailyLinkBreakdown,
    DailyLinkClicks,
    DailyScopeSessions,
    MonthlyLinkSession,
    RangeClick,
)
from analytics.selection import local_midnight, today
from tests.factories import make_job, make_link, make_visitor_click
from tracking.models import TrackedLink

pytestmark = pytest.mark.django_db


def every_row() -> dict[str, list[tuple[str, ...]]]:
    return {
        model.__name__: sorted(
            tuple(str(value) for value in row)
            for row in model.objects.values_list(
                *(f.attname for f in model._meta.concrete_fields if not f.primary_key)
            )
        )
        for model in (DailyLinkClicks, DailyLinkBreakdown, DailyScopeSessions, MonthlyLinkSession)
    }


def clicks_over_a_week() -> None:
    job = make_job()
    first, second = make_link(job=job), make_link()
    clicks: list[tuple[float, TrackedLink, str | None, dict[str, Any]]] = [
        (6.5, first, "a", {"click_source": "email", "country_code": "DE"}),
        (6.4, second, "a", {"classification": "scanner", "device_type": "desktop"}),
        (3.2, first, "b", {"browser": "Firefox", "os": "Linux"}),
        (3.1, first, None, {"classification": None}),  # not judged yet: counted raw
        (1.7, second, "c", {"click_source": None}),
        (1.05, first, "b", {"classification": "crawler"}),
        (0.3, second, "d", {}),
    ]
    for days_ago, link, session, extra in clicks:
        make_visitor_click(link, days_ago=days_ago, session_id=session, **extra)


@pytest.mark.parametrize("time_zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_copied_and_direct_days_give_the_same_rows(time_zone: str, noon: dt.datetime) -> None:
    with override_settings(TIME_ZONE=time_zone):
        clicks_over_a_week()
        rollups.run(rebuild=True)  # from link_clicks
        direct = every_row()
        for model in (DailyLinkBreakdown, DailyScopeSessions, MonthlyLinkSession):
            model.objects.all().delete()  # what the copy must give back
        result = rollups.run(refresh_days=8)  # every day of the week, from the copy
        assert not result.full_rebuild
        assert every_row() == direct
    assert direct["DailyLinkClicks"], "the week's clicks were rolled up"
    hours = {row[3] for row in direct["DailyLinkBreakdown"] if row[2] == "hour"}
    assert hours and all(hour.isdigit() and 0 <= int(hour) <= 23 for hour in hours)


def test_an_older_changed_day_is_read_where_it_is(noon: dt.datetime) -> None:
    clicks_over_a_week()
    rollups.run(rebuild=True)
    before = every_row()
    DailyLinkClicks.objects.filter(day=today() - dt.timedelta(days=6)).delete()
    result = rollups.run(refresh_days=1)  # the day six days ago only through the totals check
    assert today() - dt.timedelta(days=6) in result.rebuilt_days
    assert every_row() == before


def test_the_copy_holds_the_ranges_clicks_with_their_local_day_and_hour(
    noon: dt.datetime,
) -> None:
    clicks_over_a_week()
    start = local_midnight(today() - dt.timedelta(days=2))
    with transaction.atomic():
        with rangeclicks.copied(start, noon) as copy:
            rows = list(
                copy.rows.values_list("day", "hour", "session_id", "day_of_month").order_by("day")
            )
        # A run copies each of its ranges in turn, in one transaction.
        with rangeclicks.copied(start, start + dt.timedelta(days=1)) as again:
            assert again.rows.count() == 1
    days = [today() - dt.timedelta(days=2), today() - dt.timedelta(days=1), today()]
    assert [(str(day), hour, session, of_month) for day, hour, session, of_month in rows] == [
        (str(days[0]), "19", "c", days[0].day),
        (str(days[1]), "10", "b", days[1].day),
        (str(days[2]), "4", "d", days[2].day),
    ]
    # Gone once the block is done.
    with pytest.raises(DatabaseError), transaction.atomic():
        RangeClick.objects.count()
