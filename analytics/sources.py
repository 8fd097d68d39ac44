"""Where click counts come from: a period split into rolled-up days and raw clicks.

A period ``[start, end)`` is split into the local days that the rollups hold (before
``RollupState.complete_until``, in the current ``TIME_ZONE``, and today up to
``RollupState.partial_until``) and the rest (the clicks since then, partial days at either edge),
which is counted from ``link_clicks``. This module builds the querysets over each part and the
grouping keys both sides share; :mod:`analytics.counting` and :mod:`analytics.sessions` add them
up. (A click stored later than the lag, into an instant already rolled up, counts from the next
rollup run.)
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, IntegerField, QuerySet, Value
from django.db.models.functions import TruncDate

from analytics.models import DailyLinkBreakdown, DailyLinkClicks, MonthlyLinkClicks, RollupState
from analytics.selection import EVERYTHING, Scope, local_midnight, local_tz, next_month, prefixed
from tracking.dbfields import AsUTC
from tracking.models import LinkClick, TrackedLink

# --- Splitting a period ---------------------------------------------------------------------

Range = tuple[dt.datetime | None, dt.datetime | None]
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Split:
    """Rollup days ``[first_day, end_day)`` (``first_day`` None: open) and raw-click ranges.

    ``partial_day`` is the last rolled day when the rollups hold it only in part (today, up to
    ``RollupState.partial_until``); its later clicks are in ``raw``. ``held_until``: the first
    day the rollups hold nothing of, whatever the period (a month's rows sum its days before it).
    """

    rolled: tuple[dt.date | None, dt.date] | None
    raw: list[Range] = field(default_factory=list)
    partial_day: dt.date | None = None
    held_until: dt.date | None = None


def split(start: dt.datetime | None, end: dt.datetime | None) -> Split:
    state = RollupState.objects.filter(pk=1).first()
    if state is None or state.time_zone != settings.TIME_ZONE or state.complete_until is None:
        return Split(None, [(start, end)])
    tz = local_tz()
    first_day: dt.date | None = None
    if start is not None:
        local = start.astimezone(tz)
        first_day = local.date()
        if local != local_midnight(first_day):
            first_day += dt.timedelta(days=1)  # a partial first day is read raw
    end_day = held_until = state.complete_until
    rolled_end = local_midnight(end_day)
    partial_day: dt.date | None = None
    partial = state.partial_until
    if partial is not None and rolled_end < partial < local_midnight(end_day + ONE_DAY):
        held_until = end_day + ONE_DAY
        if end is None or end >= partial:
            # The period reaches past the instant the partly rolled day is held until.
            partial_day, end_day, rolled_end = end_day, end_day + ONE_DAY, partial
    if partial_day is None and end is not None:
        end_day = min(end_day, end.astimezone(tz).date())  # a partial last day is read raw
        rolled_end = local_midnight(end_day)
    if first_day is not None and first_day >= end_day:
        return Split(None, [(start, end)])
    raw: list[Range] = []
    if start is not None and first_day is not None and start < local_midnight(first_day):
        raw.append((start, local_midnight(first_day)))
    if end is None or end > rolled_end:
        raw.append((rolled_end, end))
    return Split((first_day, end_day), raw, partial_day, held_until)


P = ParamSpec("P")
T = TypeVar("T")


def one_snapshot(function: Callable[P, T]) -> Callable[P, T]:
    """Run ``function``'s statements in one snapshot of the database.

    A rollup run commits new rows and a new ``partial_until`` together. Read in separate
    statements under READ COMMITTED, a count could take the rows of the new run and the raw
    clicks after the old instant, counting the clicks in between twice. Inside a transaction
    already (a caller's, or a test's), the caller's isolation applies.
    """

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        if connection.in_atomic_block:
            return function(*args, **kwargs)
        if connection.vendor == "sqlite":
            return _sqlite_read_snapshot(function, *args, **kwargs)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            # The scope's links, looked up once in the snapshot (see linked).
            token = _SNAPSHOT_LINKS.set({})
            try:
                return function(*args, **kwargs)
            finally:
                _SNAPSHOT_LINKS.reset(token)

    return wrapper


# Within one snapshot on PostgreSQL: the link ids of each scope looked up so far.
_SNAPSHOT_LINKS: ContextVar[dict[Scope, list[str]] | None] = ContextVar(
    "analytics_snapshot_links", default=None
)


def _sqlite_read_snapshot(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``function`` in a deferred read transaction: in WAL mode, one snapshot from its first read.

    ``atomic()`` would begin an IMMEDIATE transaction here (the settings' ``transaction_mode``),
    taking the write lock and holding clicks back for the length of a count. The transaction is
    begun and ended by hand instead; the statements inside only read.
    """
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        return function(*args, **kwargs)
    finally:
        if connection.connection is not None and connection.connection.in_transaction:
            with connection.cursor() as cursor:
                cursor.execute("COMMIT")


def raw_clicks(span: Range, scope: Scope) -> QuerySet[LinkClick]:
    qs = LinkClick.objects.order_by()
    start, end = span
    if start is not None:
        qs = qs.filter(clicked_at__gte=start)
    if end is not None:
        qs = qs.filter(clicked_at__lt=end)
    condition = scope.q()
    if condition:
        qs = qs.filter(prefixed(condition, "tracking__"))
    return qs


def rolled(model: type[Any], days: tuple[dt.date | None, dt.date], scope: Scope) -> QuerySet[Any]:
    first, end = days
    qs = linked(model, scope).filter(day__lt=end)
    if first is not None:
        qs = qs.filter(day__gte=first)
    return qs


def per_link_rows(
    days: tuple[dt.date | None, dt.date], held_until: dt.date, scope: Scope
) -> list[tuple[QuerySet[Any], int]]:
    """Rollup rows of the scope's links whose sums, each taken with its sign (1 or -1), add up to
    their clicks on the rolled ``days``.

    A month the days cover from its first day up to the rollups' end (``held_until``) is one
    :class:`MonthlyLinkClicks` row per link; a month they cover mostly, its row less the other
    days' rows; the days of a month covered little, their :class:`DailyLinkClicks` rows. Thirty
    days ending today read one row per link for this month and the previous month's remaining
    days (at most half a month) rather than thirty.
    """
    first, end = days
    pieces: list[tuple[QuerySet[Any], int]] = []
    months = linked(MonthlyLinkClicks, scope)

    def add_days(low: dt.date, high: dt.date, sign: int) -> None:
        if low < high:
            pieces.append((rolled(DailyLinkClicks, (low, high), scope), sign))

    last_month = (end - ONE_DAY).replace(day=1)
    month = last_month if first is None else first.replace(day=1)
    if first is None:
        pieces.append((months.filter(month__lt=last_month), 1))  # every earlier month whole
    whole_from: dt.date | None = None  # the first of a run of whole months not yet added
    while month <= last_month:
        following = next_month(month)
        low, high = max(first or month, month), min(end, following)
        month_end = min(following, held_until)
        outside = (low - month).days + (month_end - high).days
        whole = outside == 0
        if not whole and outside + 1 < (high - low).days:
            pieces.append((months.filter(month=month), 1))
            add_days(month, low, -1)
            add_days(high, month_end, -1)
        elif not whole:
            add_days(low, high, 1)
        if whole and whole_from is None:
            whole_from = month
        if whole_from is not None and (not whole or month == last_month):
            until = following if whole else month
            pieces.append((months.filter(month__gte=whole_from, month__lt=until), 1))
            whole_from = None
        month = following
    return pieces


def rolled_days(model: type[Any], days: tuple[dt.date | None, dt.date]) -> QuerySet[Any]:
    """Rows of a model without a link column (over every link) on the rolled ``days``."""
    first, end = days
    qs = model.objects.order_by().filter(day__lt=end)
    return qs if first is None else qs.filter(day__gte=first)


def breakdown_rows(days: tuple[dt.date | None, dt.date], scope: Scope) -> QuerySet[Any]:
    """Breakdown rows of the scope: the all-links rows when it is every link."""
    if scope != EVERYTHING:
        return rolled(DailyLinkBreakdown, days, scope)
    return rolled_days(DailyLinkBreakdown, days).filter(tracking__isnull=True)


def linked(model: type[Any], scope: Scope) -> QuerySet[Any]:
    """Rollup rows of the scope's links; the join on the link drops rows of links deleted since
    the last rollup run.

    A job's or an application's links are looked up first on PostgreSQL, and their rows then
    read by link id: joined to the link table, the planner read every rollup row of the period
    (a job's 400 links of 20,000: 160 ms at ten million clicks) rather than each link's rows
    through the tables' (link, day or month…) indexes.
    """
    qs = model.objects.order_by().filter(tracking__link_function__isnull=False)
    condition = scope.q()
    if not condition:
        return qs
    if scope.tracking_id is None and connection.vendor == "postgresql":
        links = TrackedLink.objects.filter(condition).values_list("tracking_id", flat=True)
        # Looked up once per snapshot: a job's page reads its rows a dozen times (4 ms each).
        known = _SNAPSHOT_LINKS.get()
        ids = known.get(scope) if known is not None else None
        if ids is None:
            ids = list(links)
            if known is not None:
                known[scope] = ids
        # No links: the subquery (an empty list would not compile into a larger statement).
        qs = qs.filter(tracking_id__in=ids or links)
    return qs.filter(prefixed(condition, "tracking__"))


# --- Keys -----------------------------------------------------------------------------------


def as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def as_uuid(value: Any) -> uuid.UUID | None:
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(str(value))


@dataclass(frozen=True)
class Key:
    raw: Callable[[], Any]
    rolled: Callable[[], Any]
    normalise: Callable[[Any], Any] = lambda value: value


KEYS: dict[str | None, Key] = {
    # One total: a constant key, so distinct sessions are counted over everything at once.
    None: Key(
        lambda: Value(0, output_field=IntegerField()),
        lambda: Value(0, output_field=IntegerField()),
        lambda value: None,
    ),
    "day": Key(
        lambda: TruncDate(AsUTC("clicked_at"), tzinfo=local_tz()), lambda: F("day"), as_date
    ),
    "tracking_id": Key(lambda: F("tracking_id"), lambda: F("tracking_id")),
    "link_function": Key(
        lambda: F("tracking__link_function"), lambda: F("tracking__link_function")
    ),
    "job_id": Key(lambda: F("tracking__job_id"), lambda: F("tracking__job_id"), as_uuid),
    "application_id": Key(
        lambda: F("tracking__application_id"), lambda: F("tracking__application_id"), as_uuid
    ),
}


def compiled(qs: QuerySet[Any]) -> tuple[str, list[Any]]:
    """The SQL of ``qs`` and its parameters, apart (to embed in a larger statement)."""
    sql, params = qs.query.sql_with_params()
    return sql, list(params)
