"""The rollups kept per month (see :mod:`analytics.rollups`, which calls these in its run): the
session bits of each link's sessions (:mod:`analytics.sessionbits`) and each link's clicks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import DateField, F, Sum, Value
from django.db.models.functions import TruncMonth

from analytics import rangeclicks, sessionbits
from analytics.insert_select import insert_select, replace_select
from analytics.models import DailyLinkClicks, MonthlyLinkClicks, MonthlyLinkSession
from analytics.selection import local_midnight, local_tz, next_month


def build_sessions(
    month: dt.date,
    until: dt.datetime,
    days: set[dt.date] | None = None,
    source: rangeclicks.Clicks | None = None,
) -> None:
    """Rebuild the session rows of one local month from its clicks before ``until``.

    ``days``: only these days of the month changed (an incremental run: the days rebuilt,
    today's rolled part); their bits are taken out of the month's rows and put back from those
    days' clicks, leaving the other days' bits as they are. Rows left with no day go. ``None``, or
    days covering every day of the month before ``until``: the whole month is built again.
    ``source``: where to read the clicks (their copy when it holds those days).
    """
    source = source or rangeclicks.direct()
    following = next_month(month)
    start = local_midnight(month)
    end = min(local_midnight(following), until)
    if days is not None:
        in_month = {day for day in days if month <= day < following}
        every_day = set(days_between(month, day_of(end)))
        if every_day <= in_month:
            days = None  # nothing of the month is kept: build it whole
        else:
            days = in_month
    if days is None:
        MonthlyLinkSession.objects.filter(month=month).delete()
        if start < end:
            sessionbits.insert(month, [(start, end)], source)
        return
    spans = [
        (local_midnight(first), min(local_midnight(last + dt.timedelta(days=1)), end))
        for first, last in contiguous(sorted(days))
    ]
    sessionbits.merge(month, days, [(low, high) for low, high in spans if low < high], source)


def build_clicks(months: set[dt.date] | None) -> None:
    """The per-link month rows of ``months`` (``None``: of every month, none there yet) from
    their daily rows, written after those."""
    daily = DailyLinkClicks.objects.order_by().annotate(tracking_id_=F("tracking_id"))
    sums = {"human_": Sum("human_clicks"), "automated_": Sum("automated_clicks")}
    columns = {
        "month_": "month",
        "tracking_id_": "tracking_id",
        "human_": "human_clicks",
        "automated_": "automated_clicks",
    }
    if months is None:
        every = daily.annotate(month_=TruncMonth("day", output_field=DateField()))
        insert_select(
            MonthlyLinkClicks, every.values("month_", "tracking_id_").annotate(**sums), columns
        )
        return
    for month in sorted(months):
        of_month = daily.filter(day__gte=month, day__lt=next_month(month)).annotate(
            month_=Value(month, output_field=DateField())
        )
        replace_select(
            MonthlyLinkClicks,
            of_month.values("month_", "tracking_id_").annotate(**sums),
            columns,
            rows=MonthlyLinkClicks.objects.filter(month=month),
        )


def day_of(moment: dt.datetime) -> dt.date:
    """The local day that ``moment`` ends: its own day, or the day before at midnight."""
    local = moment.astimezone(local_tz())
    day = local.date()
    return day if local_midnight(day) < moment else day - dt.timedelta(days=1)


def days_between(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def contiguous(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if ranges and day == ranges[-1][1] + dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges
