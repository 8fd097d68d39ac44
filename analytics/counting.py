"""Click counts over a selection, read from the daily rollups where they cover it, raw clicks elsewhere.

:mod:`analytics.sources` splits the period into rolled-up days and raw ranges; the counts of both
add up, and distinct sessions are counted over the union of rollup sessions and raw sessions
(:mod:`analytics.sessions`), so every figure equals a raw computation. Each public function reads
in one snapshot of the database (:func:`analytics.sources.one_snapshot`).

Clicks not yet classified are counted apart, as ``unclassified_clicks`` (never as people), and
always from ``link_clicks`` over the whole period: the rollups hold classified clicks only, and
the unclassified ones are few and short-lived (the classification pass judges them within a
minute), found through the ``(classification, clicked_at)`` index.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from django.db import connection
from django.db.models import Count, F, IntegerField, QuerySet, Sum, Value
from django.db.models.functions import ExtractHour, ExtractIsoWeekDay

from analytics import session_sketches, sources
from analytics.models import DailyGroupClicks, DailyLinkClicks, Dimension
from analytics.selection import AUTOMATED, EVERYTHING, HUMAN, UNCLASSIFIED, Selection, local_tz
from analytics.sessions import distinct_sessions
from tracking.dbfields import AsUTC
from tracking.models import LinkClick

Counts = dict[str, int]

# The keys :class:`DailyGroupClicks` rows answer, as expressions over them.
GROUP_KEYS: dict[str | None, Callable[[], Any]] = {
    None: lambda: Value(0, output_field=IntegerField()),
    "day": lambda: F("day"),
    "link_function": lambda: F("link_function"),
    "job_id": lambda: F("job_id"),
}


def _empty() -> Counts:
    return {
        "human_clicks": 0,
        "automated_clicks": 0,
        "unclassified_clicks": 0,
        "unique_sessions": 0,
    }


def _unclassified(selection: Selection) -> QuerySet[LinkClick]:
    """The selection's clicks still unclassified, over the whole period (see the module)."""
    return sources.raw_clicks((selection.start, selection.end), selection.scope).filter(
        UNCLASSIFIED
    )


def count_by(key: str | None, selection: Selection, *, sessions: bool = True) -> dict[Any, Counts]:
    """``{key value: {human_clicks, automated_clicks, unclassified_clicks, unique_sessions}}``.

    ``key`` is one of :data:`analytics.sources.KEYS` (``None``: one total under the key
    ``None``). Unique sessions count people's sessions only unless ``include_automated``.
    """
    return count_by_keys([key], selection, sessions=sessions)[key]


@sources.one_snapshot
def count_by_keys(
    keys: list[str | None], selection: Selection, *, sessions: bool = True
) -> dict[str | None, dict[Any, Counts]]:
    """:func:`count_by` for several keys at once: ``{key: {key value: counts}}``.

    The raw clicks outside the rollups (the minutes since the last rollup run, partial days) are
    read once for every key: one count grouped by all the keys together, and one statement for
    the distinct sessions. The rollup rows are read once as well, grouped by all the keys.
    """
    scope = selection.scope
    parts = sources.split(selection.start, selection.end)
    names = {key: f"k{index}" for index, key in enumerate(keys)}
    results: dict[str | None, dict[Any, Counts]] = {key: {} for key in keys}

    def add(
        key: str | None, k: Any, human: int | None, automated: int | None, unclassified: int = 0
    ) -> None:
        _add(results[key], sources.KEYS[key].normalise(k), human, automated, unclassified, _empty)

    raw_keys = {names[key]: sources.KEYS[key].raw() for key in keys}
    for span in parts.raw:
        for row in (
            sources.raw_clicks(span, scope)
            .annotate(**raw_keys)
            .values(*raw_keys)
            .annotate(h=Count("click_id", filter=HUMAN), a=Count("click_id", filter=AUTOMATED))
        ):
            for key in keys:
                add(key, row[names[key]], row["h"], row["a"])
    for row in (
        _unclassified(selection)
        .annotate(**raw_keys)
        .values(*raw_keys)
        .annotate(u=Count("click_id"))
    ):
        for key in keys:
            add(key, row[names[key]], 0, 0, row["u"])
    if parts.rolled is not None:
        # One read of the rollup rows too, grouped by all the keys together: the rows per link
        # function and job when the scope is every link and the keys are theirs, else per link.
        # Without the day among the keys, per link: the month rows where they cover the period
        # (sources.per_link_rows), each with its sign; a value whose rows net to nothing had no
        # rolled click (every rollup row counts one at least) and is left out, as it was.
        pieces: list[tuple[QuerySet[Any], int]]
        if scope == EVERYTHING and all(key in GROUP_KEYS for key in keys):
            pieces = [(sources.rolled_days(DailyGroupClicks, parts.rolled), 1)]
            rolled_keys = {names[key]: GROUP_KEYS[key]() for key in keys}
        else:
            rolled_keys = {names[key]: sources.KEYS[key].rolled() for key in keys}
            pieces = (
                [(sources.rolled(DailyLinkClicks, parts.rolled, scope), 1)]
                if "day" in keys or parts.held_until is None
                else sources.per_link_rows(parts.rolled, parts.held_until, scope)
            )
        netted: dict[tuple[Any, ...], list[int]] = {}
        for rows, sign in pieces:
            for row in (
                rows.annotate(**rolled_keys)
                .values(*rolled_keys)
                .annotate(h=Sum("human_clicks"), a=Sum("automated_clicks"))
            ):
                sums = netted.setdefault(tuple(row[name] for name in rolled_keys), [0, 0])
                sums[0] += sign * (row["h"] or 0)
                sums[1] += sign * (row["a"] or 0)
        for values, (h, a) in netted.items():
            if h or a:
                for key, value in zip(keys, values, strict=True):  # rolled_keys follow keys
                    add(key, value, h, a)
    if sessions:
        # Over every link and many sessions, some keys are estimated (analytics.session_sketches).
        estimated = session_sketches.estimated_keys(keys, parts, selection)
        exact = [key for key in keys if key not in estimated]
        distinct = distinct_sessions(exact, parts, selection) if exact else {}
        distinct.update(session_sketches.distinct_sessions(estimated, parts, selection))
        for key, per_value in distinct.items():
            for k, n in per_value.items():
                entry = results[key].setdefault(k, _empty())
                entry["unique_sessions"] = n
                if key in estimated:
                    entry["unique_sessions_estimated"] = True
    for key, result in results.items():
        if key is None:
            result.setdefault(None, _empty())
        if not sessions:
            for counts in result.values():
                del counts["unique_sessions"]
    return results


@sources.one_snapshot
def sessions_of(key: str, selection: Selection, values: Collection[Any]) -> dict[Any, Counts]:
    """``{value: {unique_sessions[, unique_sessions_estimated]}}`` for some ``values`` of ``key``:
    the sessions of the rows a page shows, when it ranks them by clicks first (the top jobs of
    fifty: the sketches of those alone are read, when the counts are estimated)."""
    parts = sources.split(selection.start, selection.end)
    result: dict[Any, Counts] = {value: {"unique_sessions": 0} for value in values}
    estimated = session_sketches.estimated_keys([key], parts, selection)
    if estimated:
        found = session_sketches.distinct_sessions([key], parts, selection, only=values)[key]
    else:
        found = distinct_sessions([key], parts, selection)[key]
    for value in values:
        result[value]["unique_sessions"] = found.get(value, 0)
        if estimated:
            result[value]["unique_sessions_estimated"] = True
    return result


@sources.one_snapshot
def top_by(key: str, selection: Selection, limit: int) -> list[tuple[Any, Counts]]:
    """The ``limit`` values of ``key`` with the most clicks (:func:`count_by` without sessions),
    most first; ties: more clicks not by people first, then the value. For keys whose values are
    never NULL (the link, its function): where NULL sorts among values differs between databases.

    Ranked in the database: the rollup rows, the raw clicks and the unclassified ones are counted
    per value in one statement that sums them and keeps the first ``limit``, so that ranking the
    links of a busy installation (20,000 links over 30 days: as many rows per part) does not send
    every link's counts to Python to keep ten.
    """
    scope = selection.scope
    parts = sources.split(selection.start, selection.end)
    zero = Value(0, output_field=IntegerField())
    members: list[QuerySet[Any]] = [
        sources.raw_clicks(span, scope)
        .annotate(k=sources.KEYS[key].raw())
        .values("k")
        .annotate(h=Count("click_id", filter=HUMAN), a=Count("click_id", filter=AUTOMATED), u=zero)
        for span in parts.raw
    ]
    members.append(
        _unclassified(selection)
        .annotate(k=sources.KEYS[key].raw())
        .values("k")
        .annotate(h=zero, a=zero, u=Count("click_id"))
    )
    if parts.rolled is not None:
        assert parts.held_until is not None  # a split with rolled days has it
        for rows, sign in sources.per_link_rows(parts.rolled, parts.held_until, scope):
            members.append(
                rows.annotate(k=sources.KEYS[key].rolled())
                .values("k")
                .annotate(h=Sum("human_clicks") * sign, a=Sum("automated_clicks") * sign, u=zero)
            )
    compiled = [sources.compiled(member) for member in members]
    union = " UNION ALL ".join(
        f"SELECT m.k, m.h, m.a, m.u FROM ({sql}) m"  # noqa: S608 - compiled by the ORM
        for sql, _ in compiled
    )
    total = "SUM(t.h) + SUM(t.a) + SUM(t.u)" if selection.include_automated else "SUM(t.h)"
    # Values compare as Python compares them (code points), whatever the database's collation.
    value = 'CAST(t.k AS TEXT) COLLATE "C"' if connection.vendor == "postgresql" else "t.k"
    statement = (
        f"SELECT t.k, SUM(t.h), SUM(t.a), SUM(t.u) FROM ({union}) t GROUP BY t.k "  # noqa: S608
        # A link whose month row less its other days nets to nothing had no click (see count_by).
        "HAVING SUM(t.h) + SUM(t.a) + SUM(t.u) > 0 "
        f"ORDER BY {total} DESC, SUM(t.a) + SUM(t.u) DESC, {value} LIMIT %s"
    )
    params = [param for _, member_params in compiled for param in member_params]
    with connection.cursor() as cursor:
        cursor.execute(statement, [*params, limit])
        rows = cursor.fetchall()
    return [
        (
            sources.KEYS[key].normalise(k),
            {"human_clicks": h or 0, "automated_clicks": a or 0, "unclassified_clicks": u or 0},
        )
        for k, h, a, u in rows
    ]


# --- Breakdowns (no sessions) ---------------------------------------------------------------


@sources.one_snapshot
def breakdown(dimension: str, selection: Selection) -> dict[Any, Counts]:
    """``{value: {human_clicks, automated_clicks, unclassified_clicks}}`` for a click column
    (source, device…).

    Both figures always: ``selection.include_automated`` plays no part here.
    """
    scope = selection.scope
    parts = sources.split(selection.start, selection.end)
    result: dict[Any, Counts] = {}
    for span in parts.raw:
        for row in (
            sources.raw_clicks(span, scope)
            .values(dimension)
            .annotate(h=Count("click_id", filter=HUMAN), a=Count("click_id", filter=AUTOMATED))
        ):
            _add(result, row[dimension], row["h"], row["a"])
    if dimension == Dimension.CLASSIFICATION:
        # Their class is NULL, all of them: counted from the index of unclassified clicks alone
        # (it does not hold the class; grouped by it, 165,000 such clicks were read from the
        # table, 174 ms at 10M clicks).
        waiting = _unclassified(selection).aggregate(u=Count("click_id"))["u"]
        if waiting:
            _add(result, None, 0, 0, waiting)
    else:
        for row in _unclassified(selection).values(dimension).annotate(u=Count("click_id")):
            _add(result, row[dimension], 0, 0, row["u"])
    if parts.rolled is not None:
        rows = sources.breakdown_rows(parts.rolled, scope).filter(dimension=dimension)
        if dimension == Dimension.CLASSIFICATION:
            # The rollups' count of the clicks unclassified when rolled up (see rollups): they
            # are counted raw above, as they are now.
            rows = rows.exclude(value__isnull=True)
        for row in rows.values("value").annotate(h=Sum("human_clicks"), a=Sum("automated_clicks")):
            _add(result, row["value"], row["h"], row["a"])
    return result


@sources.one_snapshot
def hour_of_week(selection: Selection) -> dict[tuple[int, int], Counts]:
    """``{(iso weekday, local hour): {human_clicks, automated_clicks, unclassified_clicks}}``."""
    scope = selection.scope
    parts = sources.split(selection.start, selection.end)
    result: dict[Any, Counts] = {}
    for span in parts.raw:
        for row in _by_weekday_and_hour(sources.raw_clicks(span, scope)).annotate(
            h=Count("click_id", filter=HUMAN), a=Count("click_id", filter=AUTOMATED)
        ):
            _add(result, (row["weekday"], row["hour"]), row["h"], row["a"])
    for row in _by_weekday_and_hour(_unclassified(selection)).annotate(u=Count("click_id")):
        _add(result, (row["weekday"], row["hour"]), 0, 0, row["u"])
    if parts.rolled is not None:
        for row in (
            sources.breakdown_rows(parts.rolled, scope)
            .filter(dimension="hour")
            .values("day", "value")
            .annotate(h=Sum("human_clicks"), a=Sum("automated_clicks"))
        ):
            key = (sources.as_date(row["day"]).isoweekday(), int(row["value"]))
            _add(result, key, row["h"], row["a"])
    return result


def _by_weekday_and_hour(clicks: QuerySet[LinkClick]) -> QuerySet[Any]:
    tz = local_tz()
    return clicks.annotate(
        weekday=ExtractIsoWeekDay(AsUTC("clicked_at"), tzinfo=tz),
        hour=ExtractHour(AsUTC("clicked_at"), tzinfo=tz),
    ).values("weekday", "hour")


def _add(
    result: dict[Any, Counts],
    key: Any,
    human: int | None,
    automated: int | None,
    unclassified: int = 0,
    blank: Callable[[], Counts] = lambda: {
        "human_clicks": 0,
        "automated_clicks": 0,
        "unclassified_clicks": 0,
    },
) -> None:
    entry = result.setdefault(key, blank())
    entry["human_clicks"] += human or 0
    entry["automated_clicks"] += automated or 0
    entry["unclassified_clicks"] += unclassified
