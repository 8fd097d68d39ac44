"""Distinct sessions over a period: raw clicks and rollup sessions counted as one set.

Counts add up across the rollups and the raw clicks; distinct sessions do not (a session seen
yesterday and today is one session over both days), so they are counted over the union of the
rolled-up session ids and the raw ones, in one SQL statement (:func:`distinct_sessions`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Count,
    DateField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Value,
)

from analytics import sources
from analytics.models import DailyScopeSessions, MonthlyLinkSession
from analytics.selection import HUMAN, Scope, Selection, next_month
from analytics.sources import Range, Split


def distinct_sessions(
    keys: list[str | None], parts: Split, selection: Selection
) -> dict[str | None, dict[Any, int]]:
    """Distinct session ids per key value over raw clicks and rollup sessions together, in SQL.

    ``{key: {key value: sessions}}`` for each of ``keys`` (see :data:`analytics.sources.KEYS`).
    People's sessions only, unless ``selection.include_automated``. In four steps:

    1. *Raw rows* (``r``): the ``(k0, k1, …, s)`` rows of the raw clicks outside the rollups, one
       column per key and the session id, as a common table expression that every key's count
       reads (PostgreSQL materialises it once when it is referenced more than once).
    2. *Rolled rows*: for the day key, whole rolled days come from :class:`DailyScopeSessions`
       (a query of their own: a day's sessions never meet another day's); the partly rolled day
       adds its rolled sessions as ``pd``. Every other key reads the monthly session rows ``mo``
       (:class:`MonthlyLinkSession`) of the rolled months.
    3. *One count per key*: the union of that key's members, made distinct, counted per value.
    4. *One statement*: the counts joined by ``UNION ALL``, each tagged with its key's index
       ``g``, the value cast to text so that differently typed keys share one result set.

    For ``keys=[None, "day"]`` over a period whose past days are rolled up, today partly:

    .. code-block:: sql

        WITH r  AS (SELECT m.k0, m.k1, m.s FROM (<raw clicks since partial_until:
                                                  0 AS k0, local day AS k1, session_id AS s>) m),
             mo AS (<monthly session rows overlapping the rolled days: 0 AS k0, session_id AS s>),
             pd AS (<monthly session rows with today's bit: today AS k, session_id AS s>)
        SELECT 0 AS g, CAST(d.k AS TEXT) AS k, COUNT(*) AS n
          FROM (SELECT DISTINCT u.k, u.s FROM (SELECT r.k0 AS k, r.s AS s FROM r
                                               UNION ALL SELECT mo.k0 AS k, mo.s AS s FROM mo) u
               ) d GROUP BY d.k
        UNION ALL
        SELECT 1 AS g, CAST(d.k AS TEXT) AS k, COUNT(*) AS n
          FROM (SELECT DISTINCT u.k, u.s FROM (SELECT r.k1 AS k, r.s AS s FROM r
                                               UNION ALL SELECT pd.k AS k, pd.s AS s FROM pd) u
               ) d GROUP BY d.k

    gives ``g=0``: one row, the sessions of the whole period; ``g=1``: today's sessions, to which
    the past days' counts from :class:`DailyScopeSessions` are added.
    """
    start, end, scope = selection.start, selection.end, selection.scope
    include_automated = selection.include_automated
    names = {key: f"k{index}" for index, key in enumerate(keys)}
    result: dict[str | None, dict[Any, int]] = {key: {} for key in keys}
    # Step 1: the raw rows, one member per raw range.
    raw_members: list[tuple[str, list[Any]]] = []
    for span in parts.raw:
        qs = sources.raw_clicks(span, scope).filter(session_id__isnull=False)
        if not include_automated:
            qs = qs.filter(HUMAN)
        if not qs.exists():
            # Nothing raw (no click since the last rollup run, the usual case for a job seeker):
            # the rolled counts stand alone, and the partly rolled day is not read again.
            continue
        keyed = qs.annotate(
            **{names[key]: sources.KEYS[key].raw() for key in keys}, s=F("session_id")
        )
        raw_members.append(sources.compiled(keyed.values(*names.values(), "s").distinct()))
    # Step 2: each key's members (its reads of r, mo and pd); whole rolled days apart.
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
    # Steps 3 and 4: the tables the members read, and one count per key in one statement.
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
            **{names[key]: sources.KEYS[key].rolled() for key in monthly_keys}, s=F("session_id")
        )
        sql, params = sources.compiled(keyed.values(*(names[key] for key in monthly_keys), "s"))
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
            result[key][sources.KEYS[key].normalise(k)] = n
    return result


def _monthly_sessions(scope: Scope, include_automated: bool) -> QuerySet[Any]:
    qs = sources.linked(MonthlyLinkSession, scope)
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
    sql, params = sources.compiled(qs.values("k", "s"))
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
        following = next_month(month)
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
    # The same months as a range beside the alternatives above: an index on (link, month…) can
    # then read a job's or an application's links' rows of those months alone, which PostgreSQL
    # did not see through the alternatives (it read the whole table: 160 ms at 10M clicks).
    months = Q(month__lte=last.replace(day=1))
    if first is not None:
        months &= Q(month__gte=first.replace(day=1))
    return annotations, months & combined


def _rolled_sessions_per_day(
    days: tuple[dt.date | None, dt.date], rows: Q, include_automated: bool
) -> dict[Any, int]:
    """Distinct sessions of each whole rolled day, from :class:`DailyScopeSessions`."""
    first, end_day = days
    rolled = DailyScopeSessions.objects.filter(rows, day__lt=end_day)
    if first is not None:
        rolled = rolled.filter(day__gte=first)
    column = "all_sessions" if include_automated else "human_sessions"
    return {sources.as_date(day): n for day, n in rolled.values_list("day", column)}


def _raw_sessions_per_day(span: Range, scope: Scope, include_automated: bool) -> dict[Any, int]:
    qs = sources.raw_clicks(span, scope).filter(session_id__isnull=False)
    if not include_automated:
        qs = qs.filter(HUMAN)
    return {
        sources.as_date(row["k"]): row["n"]
        for row in qs.annotate(k=sources.KEYS["day"].raw())
        .values("k")
        .annotate(n=Count("session_id", distinct=True))
    }
