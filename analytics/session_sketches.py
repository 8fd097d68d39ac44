"""Distinct sessions over all links, per link function or per job, estimated from daily sketches.

Counted exactly (:mod:`analytics.sessions`), distinct sessions over all links read every session
row of the period: at ten million clicks, two such counts took most of the overview's second. The
rollups also keep one HyperLogLog sketch per local day (:class:`DailySessionSketch`) over all
links, each link function's and each job's links, people's sessions apart from the others
(:func:`rebuild`). A period's count is then the estimate of the union of its days' sketches and
of the sessions of its raw clicks (:func:`distinct_sessions`): about 1.6 % off, from a few
kilobytes a day, whatever the number of clicks.

Estimates are used only where exact counts are slow: over every link (no link, job or
application filter), for the whole period, per link function or per job (not per day, which
:class:`DailyScopeSessions` answers exactly), and only when the period's sessions are many: the
sum of its days' distinct sessions, an upper bound of the period's, above
``ANALYTICS_EXACT_SESSIONS_UP_TO`` (:func:`estimated_keys`). Figures from here carry
``unique_sessions_estimated`` (:mod:`analytics.counting`).
"""

from __future__ import annotations

import datetime as dt
import uuid
import zlib
from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Case, CharField, F, QuerySet, Sum, Value, When
from django.db.models.functions import Cast

from analytics import sketches, sources
from analytics.models import DailyScopeSessions, DailySessionSketch, ScopeKind, SketchKind
from analytics.selection import EVERYTHING, HUMAN, Selection
from analytics.sources import Split

# The keys a sketch answers, and the kind of sketch each reads.
KINDS: dict[str | None, SketchKind] = {
    None: SketchKind.ALL,
    "link_function": SketchKind.FUNCTION,
    "job_id": SketchKind.JOB,
}

Group = tuple[dt.date, str, str | None, bool]


def rebuild(first: dt.date, last: dt.date, with_session: QuerySet[Any]) -> None:
    """Replace the sketches of local days ``first``..``last`` by those of ``with_session`` (their
    clicks with a session id, annotated with their local day as ``day_``; see rollups).

    The clicks are read once through a plain cursor: not made distinct (a register keeps its
    maximum, so a session seen twice changes nothing, and the database need not sort ~190,000
    rows a run at ten million clicks), nor converted row by row by the ORM. A session's register
    and rank are computed once; the sketch over all links is the union of the link functions'.
    """
    rows = with_session.annotate(
        function_=F("tracking__link_function"),
        # As text: the driver would make a UUID object of every row's.
        job_=Cast("tracking__job_id", CharField()),
        human_=Case(When(HUMAN, then=Value(True)), default=Value(False)),
    ).values_list("day_", "human_", "function_", "job_", "session_id")
    sql, params = sources.compiled(rows)
    registers: dict[Group, bytearray] = {}
    points: dict[str, tuple[int, int]] = {}  # a session is on many days and links
    days: dict[Any, dt.date] = {}
    jobs: dict[Any, str | None] = {None: None}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)  # compiled by the ORM, parameters apart
        while batch := cursor.fetchmany(10_000):
            for day, human, function, job, session_id in batch:
                point = points.get(session_id)
                if point is None:
                    point = points[session_id] = sketches.point(session_id)
                index, rank = point
                local = days.get(day)
                if local is None:
                    local = days[day] = sources.as_date(day)
                job_key = jobs.get(job, "")
                if job_key == "":
                    job_key = jobs[job] = str(uuid.UUID(str(job)))
                groups: tuple[Group, Group] = (
                    (local, SketchKind.FUNCTION, function, bool(human)),
                    (local, SketchKind.JOB, job_key, bool(human)),
                )
                for group in groups:
                    sketch = registers.get(group)
                    if sketch is None:
                        sketch = registers[group] = bytearray(sketches.REGISTERS)
                    if rank > sketch[index]:
                        sketch[index] = rank
    every_link: dict[Group, list[bytes]] = {}
    for (day, kind, _key, human), sketch in registers.items():
        if kind == SketchKind.FUNCTION:
            every_link.setdefault((day, SketchKind.ALL, None, human), []).append(bytes(sketch))
    for whole, parts in every_link.items():
        registers[whole] = bytearray(sketches.union(parts))
    DailySessionSketch.objects.filter(day__gte=first, day__lte=last).delete()
    DailySessionSketch.objects.bulk_create(
        (
            DailySessionSketch(day=day, kind=kind, key=key, human=human, registers=_packed(sketch))
            for (day, kind, key, human), sketch in sorted(registers.items(), key=_order)
        ),
        batch_size=500,
    )


def _order(item: tuple[Group, bytearray]) -> tuple[Any, ...]:
    (day, kind, key, human), _ = item
    return day, kind, key or "", human


def _packed(sketch: bytearray) -> bytes:
    return zlib.compress(bytes(sketch), 1)


def _unpacked(stored: Any) -> bytes:
    return zlib.decompress(bytes(stored))


def estimated_keys(keys: list[str | None], parts: Split, selection: Selection) -> list[str | None]:
    """Which of ``keys`` are counted from the sketches (see the module): none, or every key the
    sketches answer when the selection is every link and its period's sessions are many."""
    wanted = [key for key in keys if key in KINDS]
    if not wanted or parts.rolled is None or selection.scope != EVERYTHING:
        return []
    first, end = parts.rolled
    days = DailyScopeSessions.objects.filter(kind=ScopeKind.ALL, day__lt=end)
    if first is not None:
        days = days.filter(day__gte=first)
    column = "all_sessions" if selection.include_automated else "human_sessions"
    bound = days.aggregate(n=Sum(column))["n"] or 0
    return wanted if bound > settings.ANALYTICS_EXACT_SESSIONS_UP_TO else []


def distinct_sessions(
    keys: list[str | None],
    parts: Split,
    selection: Selection,
    only: Collection[Any] | None = None,
) -> dict[str | None, dict[Any, int]]:
    """``{key: {key value: estimated sessions}}`` over every link, for keys of :data:`KINDS`:
    the rolled days' sketches and the raw clicks' sessions, united per key value. ``only``: the
    values wanted (of a key other than ``None``), e.g. the jobs a page shows of fifty."""
    result: dict[str | None, dict[Any, int]] = {}
    for key in keys:
        wanted = None if only is None or key is None else {str(value) for value in only}
        parts_of: dict[Any, list[bytes]] = {}
        if parts.rolled is not None:
            first, end = parts.rolled
            rows = DailySessionSketch.objects.filter(kind=KINDS[key], day__lt=end)
            if first is not None:
                rows = rows.filter(day__gte=first)
            if wanted is not None:
                rows = rows.filter(key__in=wanted)
            if not selection.include_automated:
                rows = rows.filter(human=True)
            for value, stored in rows.values_list("key", "registers").iterator(chunk_size=500):
                parts_of.setdefault(sources.KEYS[key].normalise(value), []).append(
                    _unpacked(stored)
                )
        raw: dict[Any, set[str]] = {}
        for span in parts.raw:
            qs = sources.raw_clicks(span, EVERYTHING).filter(session_id__isnull=False)
            if not selection.include_automated:
                qs = qs.filter(HUMAN)
            keyed = qs.annotate(k=sources.KEYS[key].raw()).values_list("k", "session_id")
            for value, session_id in keyed.distinct().iterator(chunk_size=10_000):
                normal = sources.KEYS[key].normalise(value)
                if wanted is None or str(normal) in wanted:
                    raw.setdefault(normal, set()).add(str(session_id))
        for value, session_ids in raw.items():
            parts_of.setdefault(value, []).append(sketches.of(session_ids))
        result[key] = {
            value: sketches.estimate(sketches.union(sketch_parts))
            for value, sketch_parts in parts_of.items()
        }
    return result
