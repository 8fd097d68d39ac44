"""Where a rollup run reads clicks: ``link_clicks``, or the recent days' clicks copied once.

Rebuilding a range of days runs twenty-odd aggregates over its clicks (per link, per breakdown
value, per session scope), comparing the rows they give with those already there reads each of
them twice, and the month's session rows read the same days once more. Each used to find those
clicks in ``link_clicks`` again, and work out each click's local day and hour again. An
incremental run reads the days it refreshes (the last few, and today's rolled-up part) once, into
a temporary table (:class:`analytics.models.RangeClick`) with the local day, day of the month and
hour worked out; the aggregates read that instead. The table is held by the run's connection
only and dropped at the end of the run.

A full rebuild, and an older day whose totals changed, read ``link_clicks`` where they are
(:data:`DIRECT`) rather than copying them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, F, IntegerField, QuerySet
from django.db.models.functions import Cast, ExtractDay, ExtractHour, TruncDate

from analytics import temptables
from analytics.models import RangeClick
from analytics.selection import local_tz
from tracking.dbfields import AsUTC
from tracking.models import LinkClick

# A span longer than this is read from link_clicks directly (see the module docstring).
MAX_COPIED_DAYS = 31
# The columns copied as they are; the local day, day of the month and hour are added.
COPIED = (
    "click_id",
    "tracking_id",
    "clicked_at",
    "session_id",
    "click_source",
    "classification",
    "device_type",
    "browser",
    "os",
    "country_code",
)


def day_expression() -> TruncDate:
    """A click's local day (``TIME_ZONE``)."""
    return TruncDate(AsUTC("clicked_at"), tzinfo=local_tz())


def hour_expression() -> Cast:
    """A click's local hour, as text (as the breakdown rows hold it)."""
    return Cast(ExtractHour(AsUTC("clicked_at"), tzinfo=local_tz()), CharField())


def day_of_month_expression() -> Cast:
    """The day of the month of a click's local day."""
    return Cast(ExtractDay(AsUTC("clicked_at"), tzinfo=local_tz()), IntegerField())


@dataclass(frozen=True)
class Clicks:
    """Clicks to roll up and their local day, day of the month and hour (expressions over them).

    ``span``: the instants a copy holds (``None``: every click, in ``link_clicks``).
    """

    rows: QuerySet[Any]
    day: Any
    day_of_month: Any
    hour: Any
    span: tuple[dt.datetime, dt.datetime] | None = None

    def between(self, start: dt.datetime, end: dt.datetime) -> tuple[Clicks, QuerySet[Any]]:
        """The source holding the clicks from ``start`` until ``end`` (this one when it does,
        else ``link_clicks``) and those clicks."""
        source = self if self.covers(start, end) else direct()
        return source, source.rows.filter(clicked_at__gte=start, clicked_at__lt=end)

    def covers(self, start: dt.datetime, end: dt.datetime) -> bool:
        """Whether this source holds every click from ``start`` until ``end``."""
        return self.span is None or (self.span[0] <= start and end <= self.span[1])


def direct() -> Clicks:
    """The clicks where they are stored."""
    return Clicks(
        LinkClick.objects.order_by(),
        day=day_expression(),
        day_of_month=day_of_month_expression(),
        hour=hour_expression(),
    )


@contextlib.contextmanager
def copied(start: dt.datetime, end: dt.datetime) -> Iterator[Clicks]:
    """The clicks from ``start`` until ``end``, copied once; yields them as a :class:`Clicks`.

    Runs inside the caller's transaction (:func:`analytics.temptables.filled`).
    """
    source: Any = (
        LinkClick.objects.order_by()
        .filter(clicked_at__gte=start, clicked_at__lt=end)
        .values(
            *COPIED,
            day=day_expression(),
            day_of_month=day_of_month_expression(),
            hour=hour_expression(),
        )
    )
    with temptables.filled(RangeClick, source) as rows:
        yield Clicks(
            rows,
            day=F("day"),
            day_of_month=F("day_of_month"),
            hour=F("hour"),
            span=(start, end),
        )


@contextlib.contextmanager
def recent(start: dt.datetime | None, end: dt.datetime) -> Iterator[Clicks]:
    """A copy of the clicks from ``start`` until ``end`` when that span is short (at most
    :data:`MAX_COPIED_DAYS`), else (or with no ``start``) ``link_clicks`` itself."""
    if start is None or start >= end or end - start > dt.timedelta(days=MAX_COPIED_DAYS):
        yield direct()
        return
    with copied(start, end) as clicks:
        yield clicks
