"""Building the daily rollups (see :mod:`analytics.models`). Run by ``manage.py rollup_clicks``.

Each run, in one transaction: rebuild the last few days (late clicks from the buffered writer or an
external domain land there), rebuild any older day whose raw totals no longer match its rollup
(clicks recorded late with an old ``clicked_at``, purged, or reclassified), and mark every day
before today as complete. Everything is rebuilt when ``TIME_ZONE`` changed. Rows are produced by
``INSERT … SELECT`` inside the database, so a run costs one pass over the affected clicks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Count, F, Min, Sum, Value
from django.db.models.functions import ExtractHour, TruncDate

from analytics import queries
from analytics.models import (
    DailyLinkBreakdown,
    DailyLinkClicks,
    DailyLinkSession,
    Dimension,
    RollupState,
)
from tracking.dbfields import AsUTC
from tracking.models import LinkClick

KEY_COLUMNS = {"day_": "day", "tracking_id_": "tracking_id"}
COUNT_COLUMNS = {"human_clicks": "human_clicks", "automated_clicks": "automated_clicks"}
ROLLUP_MODELS: list[type[models.Model]] = [DailyLinkClicks, DailyLinkBreakdown, DailyLinkSession]


@dataclass
class RollupResult:
    rebuilt_days: list[dt.date] = field(default_factory=list)
    full_rebuild: bool = False
    complete_until: dt.date | None = None


def _day_expr() -> TruncDate:
    return TruncDate(AsUTC("clicked_at"), tzinfo=queries.local_tz())


def _insert_select(
    model: type[models.Model], qs: models.QuerySet[Any], columns: dict[str, str]
) -> int:
    """``INSERT INTO model (…) SELECT …``; ``columns`` maps each select alias to its column.

    Annotations may not take a model field's name (``tracking_id``), hence the mapping. The
    column list follows the compiled select, whatever order Django puts the aliases in.
    """
    compiler = qs.query.get_compiler(using=qs.db)
    sql, params = compiler.as_sql()
    aliases = [alias for _col, _sql, alias in compiler.select]
    if sorted(aliases) != sorted(columns):  # pragma: no cover - guards a Django behaviour change
        raise RuntimeError(f"unexpected select list {aliases} for {sorted(columns)}")
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(columns[alias]) for alias in aliases)
    with connection.cursor() as cursor:
        # The SELECT is compiled by the ORM with its parameters apart; names are quoted.
        cursor.execute(f"INSERT INTO {table} ({names}) {sql}", params)
        return cursor.rowcount


def _counts() -> dict[str, Count]:
    return {
        "human_clicks": Count("click_id", filter=queries.HUMAN),
        "automated_clicks": Count("click_id", filter=queries.AUTOMATED),
    }


def _build_range(first: dt.date, last: dt.date) -> None:
    """Rebuild the rollups of local days ``first``..``last`` from the raw clicks."""
    start, end = queries.period_for_dates(first, last)
    for model in ROLLUP_MODELS:
        model.objects.filter(day__gte=first, day__lte=last).delete()
    clicks = LinkClick.objects.order_by().filter(clicked_at__gte=start, clicked_at__lt=end)
    keyed = clicks.annotate(day_=_day_expr(), tracking_id_=F("tracking_id"))

    per_link = (
        keyed.values("day_", "tracking_id_")
        .annotate(**_counts())
        .values("day_", "tracking_id_", "human_clicks", "automated_clicks")
    )
    _insert_select(DailyLinkClicks, per_link, {**KEY_COLUMNS, **COUNT_COLUMNS})

    dimensions: dict[str, Any] = {
        Dimension.SOURCE: F("click_source"),
        Dimension.CLASSIFICATION: F("classification"),
        Dimension.DEVICE: F("device_type"),
        Dimension.BROWSER: F("browser"),
        Dimension.OS: F("os"),
        Dimension.HOUR: ExtractHour(AsUTC("clicked_at"), tzinfo=queries.local_tz()),
    }
    for dimension, expression in dimensions.items():
        rows = (
            keyed.annotate(value_=expression)
            .values("day_", "tracking_id_", "value_")
            .annotate(dimension_=Value(str(dimension)), **_counts())
        )
        _insert_select(
            DailyLinkBreakdown,
            rows,
            {**KEY_COLUMNS, "value_": "value", "dimension_": "dimension", **COUNT_COLUMNS},
        )

    for human, condition in ((True, queries.HUMAN), (False, queries.AUTOMATED)):
        sessions = (
            keyed.filter(condition, session_id__isnull=False)
            .annotate(session_id_=F("session_id"), human_=Value(human))
            .values("day_", "tracking_id_", "session_id_", "human_")
            .distinct()
        )
        _insert_select(
            DailyLinkSession,
            sessions,
            {**KEY_COLUMNS, "session_id_": "session_id", "human_": "human"},
        )


def _mismatched_days(until: dt.date) -> set[dt.date]:
    """Days before ``until`` whose raw click totals differ from their rollup."""
    raw = {
        _as_date(row["day_"]): (row["human_clicks"], row["automated_clicks"])
        for row in LinkClick.objects.order_by()
        .filter(clicked_at__lt=queries.local_midnight(until))
        .annotate(day_=_day_expr())
        .values("day_")
        .annotate(**_counts())
    }
    rolled = {
        _as_date(row["day"]): (row["h"], row["a"])
        for row in DailyLinkClicks.objects.order_by()
        .filter(day__lt=until)
        .values("day")
        .annotate(h=Sum("human_clicks"), a=Sum("automated_clicks"))
    }
    return {day for day in raw.keys() | rolled.keys() if raw.get(day) != rolled.get(day)}


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _contiguous(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if ranges and day == ranges[-1][1] + dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def run(
    *,
    refresh_days: int = 2,
    rebuild: bool = False,
    verify: bool = True,
    progress: Callable[[str], None] | None = None,
) -> RollupResult:
    """Bring the rollups up to date (idempotent); see the module docstring."""
    say = progress or (lambda message: None)
    today = queries.today()
    result = RollupResult(complete_until=today)
    with transaction.atomic():
        state = RollupState.objects.select_for_update().filter(pk=1).first()
        full = (
            rebuild
            or state is None
            or state.time_zone != settings.TIME_ZONE
            or state.complete_until is None
        )
        days: set[dt.date] = set()
        if full:
            for model in ROLLUP_MODELS:
                model.objects.all().delete()
            earliest = LinkClick.objects.aggregate(first=Min("clicked_at"))["first"]
            first = earliest.astimezone(queries.local_tz()).date() if earliest else today
            result.full_rebuild = True
        else:
            assert state is not None and state.complete_until is not None
            # Anything at or after today is read raw; drop rows a clock or zone change left there.
            for model in ROLLUP_MODELS:
                model.objects.filter(day__gte=today).delete()
            first = min(state.complete_until, today) - dt.timedelta(days=refresh_days)
            if verify:
                days |= _mismatched_days(first)
        day = first
        while day < today:
            days.add(day)
            day += dt.timedelta(days=1)
        for range_first, range_last in _contiguous(sorted(days)):
            say(f"rolling up {range_first} .. {range_last}")
            _build_range(range_first, range_last)
        RollupState.objects.update_or_create(
            pk=1, defaults={"time_zone": settings.TIME_ZONE, "complete_until": today}
        )
        result.rebuilt_days = sorted(days)
    return result


def current_state() -> RollupState | None:
    state = RollupState.objects.filter(pk=1).first()
    if state is None or state.time_zone != settings.TIME_ZONE or state.complete_until is None:
        return None
    return state
