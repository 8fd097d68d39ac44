"""Click counts over a period, read from the daily rollups where they cover it, raw clicks elsewhere.

A period ``[start, end)`` is split into the local days that the rollups hold (before
``RollupState.complete_until``, in the current ``TIME_ZONE``, and today up to
``RollupState.partial_until``) and the rest (the clicks since then, partial days at either edge),
which is counted from ``link_clicks``. Counts add up; distinct sessions are counted over the union
of rollup sessions and raw sessions, so every figure equals a raw computation. (A click stored
later than the lag, into an instant already rolled up, counts from the next rollup run.)

A :class:`Scope` says which links a figure is about (all, a link, a job's, an application's).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    DateField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay, TruncDate
from django.utils import timezone

from analytics.models import (
    DailyLinkBreakdown,
    DailyLinkClicks,
    DailyScopeSessions,
    MonthlyLinkSession,
    RollupState,
    ScopeKind,
)
from tracking.dbfields import AsUTC
from tracking.models import Classification, LinkClick

# Not yet classified counts as a person until the classifier says otherwise: hiding unclassified
# clicks would make a fresh click invisible, which is worse for a job seeker than a late correction.
HUMAN = Q(classification__isnull=True) | Q(classification=Classification.HUMAN)
AUTOMATED = Q(classification__isnull=False) & ~Q(classification=Classification.HUMAN)

Counts = dict[str, int]


def local_tz() -> dt.tzinfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=local_tz())


def today() -> dt.date:
    return timezone.now().astimezone(local_tz()).date()


def prefixed(condition: Q, prefix: str) -> Q:
    """``condition`` rewritten for use through a relation (``prefix`` such as ``tracking__``)."""
    children: list[Any] = []
    for child in condition.children:
        if isinstance(child, Q):
            children.append(prefixed(child, prefix))
        else:
            name, value = cast(tuple[str, Any], child)
            children.append((f"{prefix}{name}", value))
    return Q(*children, _connector=condition.connector, _negated=condition.negated)


@dataclass(frozen=True)
class Scope:
    """The links a figure is about; no field set means every link."""

    tracking_id: str | None = None
    job_id: Any = None
    application_id: Any = None
    active_only: bool = False

    def q(self) -> Q:
        """The scope as a condition on ``TrackedLink``."""
        condition = Q()
        if self.tracking_id is not None:
            condition &= Q(tracking_id=self.tracking_id)
        if self.job_id is not None:
            condition &= Q(job_id=self.job_id)
        if self.application_id is not None:
            condition &= Q(application_id=self.application_id)
        if self.active_only:
            condition &= Q(is_active=True) | Q(is_active__isnull=True)
        return condition

    def daily_sessions(self) -> Q | None:
        """Its rows in :class:`DailyScopeSessions`, or None when that table has no such scope."""
        given = {
            name: value
            for name, value in (
                ("tracking_id", self.tracking_id),
                ("job_id", self.job_id),
                ("application_id", self.application_id),
            )
            if value is not None
        }
        if self.active_only or len(given) > 1:
            return None
        if not given:
            return Q(kind=ScopeKind.ALL)
        kinds = {"tracking_id": ScopeKind.LINK, "job_id": ScopeKind.JOB}
        [(name, value)] = given.items()
        return Q(kind=kinds.get(name, ScopeKind.APPLICATION), **{name: value})


EVERYTHING = Scope()


# --- Splitting a period ---------------------------------------------------------------------

Range = tuple[dt.datetime | None, dt.datetime | None]
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Split:
    """Rollup days ``[first_day, end_day)`` (``first_day`` None: open) and raw-click ranges.

    ``partial_day`` is the last rolled day when the rollups hold it only in part (today, up to
    ``RollupState.partial_until``); its later clicks are in ``raw``.
    """

    rolled: tuple[dt.date | None, dt.date] | None
    raw: list[Range] = field(default_factory=list)
    partial_day: dt.date | None = None


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
    end_day = state.complete_until
    rolled_end = local_midnight(end_day)
    partial_day: dt.date | None = None
    partial = state.partial_until
    if partial is not None and rolled_end < partial < local_midnight(end_day + ONE_DAY):
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
    return Split((first_day, end_day), raw, partial_day)


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
            return function(*args, **kwargs)

    return wrapper


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


def _raw_clicks(span: Range, scope: Scope) -> QuerySet[LinkClick]:
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


def _rolled(model: type[Any], days: tuple[dt.date | None, dt.date], scope: Scope) -> QuerySet[Any]:
    first, end = days
    qs = _linked(model, scope).filter(day__lt=end)
    if first is not None:
        qs = qs.filter(day__gte=first)
    return qs


def _breakdown_rows(days: tuple[dt.date | None, dt.date], scope: Scope) -> QuerySet[Any]:
    """Breakdown rows of the scope: the all-links rows when it is every link."""
    if scope != EVERYTHING:
        return _rolled(DailyLinkBreakdown, days, scope)
    first, end = days
    qs = DailyLinkBreakdown.objects.order_by().filter(tracking__isnull=True, day__lt=end)
    return qs if first is None else qs.filter(day__gte=first)


def _linked(model: type[Any], scope: Scope) -> QuerySet[Any]:
    # The join on the link drops rows of links deleted since the last rollup run.
    qs = model.objects.order_by().filter(tracking__link_function__isnull=False)
    condition = scope.q()
    if condition:
        qs = qs.filter(prefixed(condition, "tracking__"))
    return qs


# --- Keys -----------------------------------------------------------------------------------


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _as_uuid(value: Any) -> uuid.UUID | None:
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
        lambda: TruncDate(AsUTC("clicked_at"), tzinfo=local_tz()), lambda: F("day"), _as_date
    ),
    "tracking_id": Key(lambda: F("tracking_id"), lambda: F("tracking_id")),
    "link_function": Key(
        lambda: F("tracking__link_function"), lambda: F("tracking__link_function")
    ),
    "job_id": Key(lambda: F("tracking__job_id"), lambda: F("tracking__job_id"), _as_uuid),
    "application_id": Key(
        lambda: F("tracking__application_id"), lambda: F("tracking__application_id"), _as_uuid
    ),
}


def _empty() -> Counts:
    return {"human_clicks": 0, "automated_clicks": 0, "unique_sessions": 0}


def count_by(
    key: str | None,
    *,
    start: dt.datetime | None,
    end: dt.datetime | None,
    include_automated: bool,
    scope: Scope = EVERYTHING,
    sessions: bool = True,
) -> dict[Any, Counts]:
    """``{key value: {human_clicks, automated_clicks, unique_sessions}}`` over the period.

    ``key`` is one of :data:`KEYS` (``None``: one total under the key ``None``). Unique sessions
    count people's sessions only unless ``include_automated``.
    """
    return count_by_keys(
        [key],
        start=start,
        end=end,
        include_automated=include_automated,
        scope=scope,
        sessions=sessions,
    )[key]


@one_snapshot
def count_by_keys(
    keys: list[str | None],
    *,
    start: dt.datetime | None,
    end: dt.datetime | None,
    include_automated: bool,
    scope: Scope = EVERYTHING,
    sessions: bool = True,
) -> dict[str | None, dict[Any, Counts]]:
    """:func:`count_by` for several keys at once: ``{key: {key value: counts}}``.

    The raw clicks outside the rollups (the minutes since the last rollup run, partial days) are
    read once for every key: one count grouped by all the keys together, and one statement for
    the distinct sessions. The rollup rows are read per key; their size does not grow with clicks.
    """
    parts = split(start, end)
    names = {key: f"k{index}" for index, key in enumerate(keys)}
    results: dict[str | None, dict[Any, Counts]] = {key: {} for key in keys}

    def add(key: str | None, k: Any, human: int | None, automated: int | None) -> None:
        _add(results[key], KEYS[key].normalise(k), human, automated, blank=_empty)

    raw_keys = {names[key]: KEYS[key].raw() for key in keys}
    for span in parts.raw:
        for row in (
            _raw_clicks(span, scope)
            .annotate(**raw_keys)
            .values(*raw_keys)
            .annotate(h=Count("click_id", filter=HUMAN), a=Count("click_id", filter=AUTOMATED))
        ):
            for key in keys:
                add(key, row[names[key]], row["h"], row["a"])
    if parts.rolled is not None:
        for key in keys:
            for row in (
                _rolled(DailyLinkClicks, parts.rolled, scope)
                .annotate(k=KEYS[key].rolled())
                .values("k")
                .annotate(h=Sum("human_clicks"), a=Sum("automated_clicks"))
            ):
                add(key, row["k"], row["h"], row["a"])
    if sessions:
        distinct = _distinct_sessions(keys, parts, start, end, scope, include_automated)
        for key, per_value in distinct.items():
            for k, n in per_value.items():
                results[key].setdefault(k, _empty())["unique_sessions"] = n
    for key, result in results.items():
        if key is None:
            result.setdefault(None, _empty())
        if not sessions:
            for counts in result.values():
                del counts["unique_sessions"]
    return results


def _distinct_sessions(
    keys: list[str | None],
    parts: Split,
    start: dt.datetime | None,
    end: dt.datetime | None,
    scope: Scope,
    include_automated: bool,
) -> dict[str | None, dict[Any, int]]:
    """Distinct session ids per key value over raw clicks and rollup sessions together, in SQL.

    The raw clicks' ``(key values…, session)`` rows are a common table expression that every
    key's count reads (PostgreSQL materialises it once when it is referenced more than once).
    Per day, whole rolled days come from :class:`DailyScopeSessions` and the other days from the
    raw rows; any other key counts the union of raw rows and :class:`MonthlyLinkSession` rows.
    """
    names = {key: f"k{index}" for index, key in enumerate(keys)}
    result: dict[str | None, dict[Any, int]] = {key: {} for key in keys}
    raw_members: list[tuple[str, list[Any]]] = []
    for span in parts.raw:
        qs = _raw_clicks(span, scope).filter(session_id__isnull=False)
        if not include_automated:
            qs = qs.filter(HUMAN)
        keyed = qs.annotate(**{names[key]: KEYS[key].raw() for key in keys}, s=F("session_id"))
        raw_members.append(_sql(keyed.values(*names.values(), "s").distinct()))
    daily_rows = scope.daily_sessions()
    partial_day_read = False  # whether a count reads ``pd`` (see below)
    groups: list[tuple[str | None, list[tuple[str, list[Any]]]]] = []
    for key in keys:
        # Names are k0, k1…; the raw rows' SQL is compiled by the ORM with its parameters apart.
        raw_select = f"SELECT r.{names[key]} AS k, r.s AS s FROM r"  # noqa: S608
        from_raw: list[tuple[str, list[Any]]] = [(raw_select, [])] if raw_members else []
        if key == "day":
            if parts.rolled is not None and daily_rows is None:
                # No per-day rows for this scope: every day of the period is counted raw.
                result[key] = _raw_sessions_per_day((start, end), scope, include_automated)
                continue
            if parts.rolled is not None and daily_rows is not None:
                result[key] = _rolled_sessions_per_day(parts.rolled, daily_rows, include_automated)
            members = list(from_raw)
            if from_raw and parts.partial_day is not None:
                # The partly rolled day: its rolled sessions and its raw ones, counted as one set.
                members.append(("SELECT pd.k AS k, pd.s AS s FROM pd", []))
                partial_day_read = True
            groups.append((key, members))
            continue
        members = list(from_raw)
        if parts.rolled is not None:
            members.append((f"SELECT mo.{names[key]} AS k, mo.s AS s FROM mo", []))  # noqa: S608
        groups.append((key, members))
    groups = [(key, members) for key, members in groups if members]
    if not groups:
        return result
    columns = ", ".join(f"m.{name}" for name in names.values())
    # SQLite does not accept parenthesised members of a UNION, hence "SELECT … FROM (…)" each.
    common = " UNION ALL ".join(
        f"SELECT {columns}, m.s FROM ({sql}) m"  # noqa: S608 - compiled by the ORM, params apart
        for sql, _ in raw_members
    )
    tables = [(f"r AS ({common})", [p for _, member in raw_members for p in member])]
    monthly_keys = [key for key, _ in groups if key != "day"]
    if parts.rolled is not None and monthly_keys:
        # The monthly session rows of the period, read once for every key but the day.
        overlap, condition = _months_overlapping(*parts.rolled)
        qs = _monthly_sessions(scope, include_automated).annotate(**overlap).filter(condition)
        keyed = qs.annotate(
            **{names[key]: KEYS[key].rolled() for key in monthly_keys}, s=F("session_id")
        )
        sql, params = _sql(keyed.values(*(names[key] for key in monthly_keys), "s"))
        tables.append((f"mo AS ({sql})", params))
    if partial_day_read and parts.partial_day is not None:
        tables.append(_partial_day_sessions(parts.partial_day, scope, include_automated))
    # The key is cast to text so the counts of differently typed keys share one result set.
    # DISTINCT then COUNT(*) rather than COUNT(DISTINCT …): PostgreSQL hashes the former, where
    # the latter sorts every key's sessions (about half the time on ten thousand rows).
    selects = [
        f"SELECT {index} AS g, CAST(d.k AS TEXT) AS k, COUNT(*) AS n "  # noqa: S608
        f"FROM (SELECT DISTINCT u.k, u.s FROM ({' UNION ALL '.join(sql for sql, _ in members)}) u"
        ") d GROUP BY d.k"
        for index, (_key, members) in enumerate(groups)
    ]
    if not raw_members:
        tables = tables[1:]
    statement = "WITH " + ", ".join(table for table, _ in tables) + " " if tables else ""
    statement += " UNION ALL ".join(selects)
    params = [param for _, table_params in tables for param in table_params]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)  # SQL compiled by the ORM, parameters apart
        for index, k, n in cursor.fetchall():
            key = groups[index][0]
            result[key][KEYS[key].normalise(k)] = n
    return result


def _monthly_sessions(scope: Scope, include_automated: bool) -> QuerySet[Any]:
    qs = _linked(MonthlyLinkSession, scope)
    return qs if include_automated else qs.filter(human=True)


def _partial_day_sessions(
    day: dt.date, scope: Scope, include_automated: bool
) -> tuple[str, list[Any]]:
    """``pd``: the rolled sessions of the partly rolled ``day`` (its bit in the monthly rows)."""
    bit = 1 << (day.day - 1)
    qs = (
        _monthly_sessions(scope, include_automated)
        .annotate(seen=ExpressionWrapper(F("days").bitand(bit), output_field=BigIntegerField()))
        .filter(month=day.replace(day=1), seen__gt=0)
        .annotate(k=Value(day, output_field=DateField()), s=F("session_id"))
    )
    sql, params = _sql(qs.values("k", "s"))
    return f"pd AS ({sql})", params


def _months_overlapping(first: dt.date | None, end: dt.date) -> tuple[dict[str, Any], Q]:
    """Annotations and a condition keeping monthly session rows with a day in ``[first, end)``.

    Whole months match on ``month``; a partly covered month also needs ``days & mask`` non-zero,
    where ``mask`` holds the bits of the covered days. ``first`` None leaves the start open.
    """
    last = end - dt.timedelta(days=1)
    month = (first or last).replace(day=1)
    conditions = [Q(month__lt=month)] if first is None else []
    annotations: dict[str, Any] = {}
    while month <= last:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        low, high = max(first or month, month), min(end, following)
        if (low, high) == (month, following):
            conditions.append(Q(month=month))
        else:
            mask = sum(1 << (low.day - 1 + i) for i in range((high - low).days))
            name = f"overlap_{len(annotations)}"
            annotations[name] = ExpressionWrapper(
                F("days").bitand(mask), output_field=BigIntegerField()
            )
            conditions.append(Q(month=month, **{f"{name}__gt": 0}))
        month = following
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return annotations, combined


def _rolled_sessions_per_day(
    days: tuple[dt.date | None, dt.date], rows: Q, include_automated: bool
) -> dict[Any, int]:
    """Distinct sessions of each whole rolled day, from :class:`DailyScopeSessions`."""
    first, end_day = days
    rolled = DailyScopeSessions.objects.filter(rows, day__lt=end_day)
    if first is not None:
        rolled = rolled.filter(day__gte=first)
    column = "all_sessions" if include_automated else "human_sessions"
    return {_as_date(day): n for day, n in rolled.values_list("day", column)}


def _raw_sessions_per_day(span: Range, scope: Scope, include_automated: bool) -> dict[Any, int]:
    qs = _raw_clicks(span, scope).filter(session_id__isnull=False)
    if not include_automated:
        qs = qs.filter(HUMAN)
    return {
        _as_date(row["k"]): row["n"]
        for row in qs.annotate(k=KEYS["day"].raw())
        .values("k")
        .annotate(n=Count("session_id", distinct=True))
    }


def _sql(qs: QuerySet[Any]) -> tuple[str, list[Any]]:
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


# --- Breakdowns (no sessions) ---------------------------------------------------------------


@one_snapshot
def breakdown(
    dimension: str,
    *,
    start: dt.datetime | None,
    end: dt.datetime | None,
    scope: Scope = EVERYTHING,
) -> dict[Any, Counts]:
    """``{value: {human_clicks, automated_clicks}}`` for a click column (source, device…)."""
    parts = split(start, end)
    result: dict[Any, Counts] = {}
    for span in parts.raw:
        for row in (
            _raw_clicks(span, scope)
            .values(dimension)
            .annotate(h=Count("click_id", filter=HUMAN), a=Count("click_id", filter=AUTOMATED))
        ):
            _add(result, row[dimension], row["h"], row["a"])
    if parts.rolled is not None:
        for row in (
            _breakdown_rows(parts.rolled, scope)
            .filter(dimension=dimension)
            .values("value")
            .annotate(h=Sum("human_clicks"), a=Sum("automated_clicks"))
        ):
            _add(result, row["value"], row["h"], row["a"])
    return result


@one_snapshot
def hour_of_week(
    *,
    start: dt.datetime | None,
    end: dt.datetime | None,
    scope: Scope = EVERYTHING,
) -> dict[tuple[int, int], Counts]:
    """``{(iso weekday, local hour): counts}``."""
    tz = local_tz()
    parts = split(start, end)
    result: dict[Any, Counts] = {}
    for span in parts.raw:
        for row in (
            _raw_clicks(span, scope)
            .annotate(
                weekday=ExtractIsoWeekDay(AsUTC("clicked_at"), tzinfo=tz),
                hour=ExtractHour(AsUTC("clicked_at"), tzinfo=tz),
            )
            .values("weekday", "hour")
            .annotate(h=Count("click_id", filter=HUMAN), a=Count("click_id", filter=AUTOMATED))
        ):
            _add(result, (row["weekday"], row["hour"]), row["h"], row["a"])
    if parts.rolled is not None:
        for row in (
            _breakdown_rows(parts.rolled, scope)
            .filter(dimension="hour")
            .values("day", "value")
            .annotate(h=Sum("human_clicks"), a=Sum("automated_clicks"))
        ):
            key = (_as_date(row["day"]).isoweekday(), int(row["value"]))
            _add(result, key, row["h"], row["a"])
    return result


def _add(
    result: dict[Any, Counts],
    key: Any,
    human: int | None,
    automated: int | None,
    *,
    blank: Callable[[], Counts] = lambda: {"human_clicks": 0, "automated_clicks": 0},
) -> None:
    entry = result.setdefault(key, blank())
    entry["human_clicks"] += human or 0
    entry["automated_clicks"] += automated or 0
