"""The rollups' totals check puts every click on its local day (on PostgreSQL through quarter-hours
in UTC): the same days and totals as converting each click's time, in zones whose offsets are not
whole hours and across a daylight-saving change."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db.models import Count
from django.test import override_settings

from analytics import rangeclicks, rollups
from analytics.selection import UNCLASSIFIED
from tests.factories import build_click, make_clicks, make_link, utc
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db


def per_click_conversion(until: dt.date) -> dict[dt.date, tuple[int, int, int]]:
    rows: Any = (
        LinkClick.objects.order_by()
        .filter(clicked_at__lt=rollups.local_midnight(until))
        .annotate(day_=rangeclicks.day_expression())
        .values("day_")
        .annotate(**rollups._counts(), unclassified_clicks=Count("click_id", filter=UNCLASSIFIED))
    )
    return {
        rollups.as_date(row["day_"]): (
            row["human_clicks"],
            row["automated_clicks"],
            row["unclassified_clicks"],
        )
        for row in rows
    }


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu", "America/St_Johns", "Europe/Paris"])
def test_quarter_hours_land_on_the_day_each_click_converted_lands_on(zone: str) -> None:
    link = make_link()
    moments = []
    # Around local midnight in each zone: UTC 18:14:59 / 18:15 (Kathmandu, +5:45), 02:29:59 /
    # 02:30 (St John's, -3:30 in November), 22:59:59 / 23:00 (Paris, +1), 23:59:59 / 00:00 (UTC);
    # and the night Paris and St John's change their clocks (29 March, 8 March 2026).
    for day in (utc(2026, 11, 10), utc(2026, 3, 8), utc(2026, 3, 28), utc(2026, 3, 29)):
        for hour, minute in ((18, 15), (2, 30), (23, 0), (0, 0), (22, 0), (3, 30)):
            at = day.replace(hour=hour, minute=minute)
            moments += [at - dt.timedelta(seconds=1), at, at + dt.timedelta(minutes=14, seconds=59)]
    classes = ["human", "scanner", None]
    make_clicks(
        [
            build_click(link, clicked_at=at, classification=classes[index % 3])
            for index, at in enumerate(moments)
        ]
    )
    with override_settings(TIME_ZONE=zone):
        until = dt.date(2026, 12, 1)
        expected = per_click_conversion(until)
        assert sum(sum(totals) for totals in expected.values()) == len(moments)
        assert rollups._raw_totals(until) == expected


@pytest.mark.postgres
def test_the_statistics_on_quarter_hours_are_those_of_the_checks_statement() -> None:
    """Migration 0015's statistics serve the check only while they name its grouping: the group
    key of the check's plan and the statistics' definition hold the same expression."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        rollups._raw_totals(dt.date(2026, 12, 1))
    statement = captured.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxname = %s",
            ["analytics_link_clicks_quarter_hour"],
        )
        (definition,) = cursor.fetchone()
        cursor.execute(f"EXPLAIN (VERBOSE) {statement}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    grouped = next(line for line in plan.splitlines() if "Group Key" in line)
    quarter = "date_bin('00:15:00'::interval, clicked_at, '2000-01-01 00:00:00'::timestamp without time zone)"
    assert quarter in definition
    assert quarter in grouped.replace("link_clicks.clicked_at", "clicked_at")
