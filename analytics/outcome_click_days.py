"""Which applications' person clicks changed since their outcome summary was built.

Each summary (:func:`analytics.outcome_summaries.refresh`) is written with its application's
:class:`~analytics.models.OutcomeClickDay` rows: per local day, how many person clicks after the
sending it had (the clicks the summary reads: :func:`analytics.attribution.person_clicks_after_sending`)
and two sums of bits of their ids. An incremental ``rollup_clicks`` computes the same figures from
``link_clicks`` for the days it rolls up again, in one grouped query, and summarises again only
the applications whose figures differ, a row on one side only included: new and late person
clicks, removed ones (purged, erased, a link deleted), reclassified ones (a person click judged a
machine, an owner's, or the reverse), a link moved to another application. Before, every
application with a person click on those days was summarised again, each run: at scale, all of
them.

Why the rows are exact enough to trust:

- They are written just before the summary reads the clicks, in the same transaction, for every
  day; so for an application with a summary they hold what the summary was built from, and a run
  that finds the same figures on its days has nothing to redo there. Rows of days the run does not
  look at stay as they were, true for the summary they came with (the rollups' own check,
  ``_mismatched_days``, brings a day whose clicks changed into the run).
- The id sums take 28 random bits each from the end of the click's UUID (version 4 and version 7
  alike): a click removed and another added on the same application and day leave the count and
  both sums unchanged with a chance of one in 2**56.
- What they cannot see cannot change a summary either: anonymization rewrites addresses,
  networks and session ids, which a summary never reads; a new sending, stage, job title or
  setting changes the summary's ``basis`` (:func:`analytics.outcome_summaries.stale`); saving a
  link or an application drops its summaries at once (:mod:`analytics.receivers`). A click's
  source or tags edited in place through the admin (same id, same class) are not noticed; the
  summaries follow them at the next ``--rebuild``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Final

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BigIntegerField, Count, F, Func, IntegerField, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.db.models.sql.compiler import SQLCompiler

from analytics.attribution import person_clicks_after_sending
from analytics.insert_select import insert_select
from analytics.models import OutcomeClickDay
from analytics.selection import local_midnight, local_tz
from analytics.sources import as_date
from tracking.dbfields import AsUTC
from tracking.models import JobApplication, LinkClick
from tracking.periods import EARLIEST_DATE

Figures = tuple[int, int, int]  # person clicks, id sum a, id sum b
COLUMNS: Final = {
    "application_": "application_id",
    "day_": "day",
    "person_clicks_": "person_clicks",
    "id_sum_a_": "id_sum_a",
    "id_sum_b_": "id_sum_b",
}
# Where the two slices start among the id's 32 hex digits (1-based): the last 14, random in
# version 4 and version 7 UUIDs alike (the first 12 of a version 7 are its time).
SLICE_A: Final = 19
SLICE_B: Final = 26
HEX_DIGITS: Final = "0123456789abcdef"


class IdBits(Func):
    """28 bits of a click's id as an integer: its hex digits ``start`` to ``start + 6``.

    PostgreSQL reads them as a bit string; SQLite, which stores the id as 32 hex digits and has
    no function for it, adds up the digits' values."""

    output_field = IntegerField()

    def __init__(self, start: int) -> None:
        super().__init__(F("click_id"))
        self.start = start

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        sql, params = compiler.compile(self.source_expressions[0])
        if connection.vendor == "postgresql":
            hex_id = f"replace(({sql})::text, '-', '')"
            return f"('x' || substr({hex_id}, {self.start}, 7))::bit(28)::integer", tuple(params)
        hex_id = f"lower(replace({sql}, '-', ''))"
        digits = [
            f"(instr('{HEX_DIGITS}', substr({hex_id}, {self.start + i}, 1)) - 1) * {16 ** (6 - i)}"
            for i in range(7)
        ]
        return "(" + " + ".join(digits) + ")", tuple(params) * 7


def _person_clicks(applications: Any) -> QuerySet[LinkClick]:
    return _from_earliest(person_clicks_after_sending(applications))


def _from_earliest(clicks: QuerySet[Any]) -> QuerySet[Any]:
    # No click is older than the first day any range may name (nor the rollups' first day).
    return clicks.order_by().filter(clicked_at__gte=local_midnight(EARLIEST_DATE))


def _figures(clicks: QuerySet[Any]) -> QuerySet[Any, dict[str, Any]]:
    """Per application and local day: the count and the id sums of ``clicks``."""
    return (
        clicks.annotate(
            application_=F("tracking__application_id"),
            day_=TruncDate(AsUTC("clicked_at"), tzinfo=local_tz()),
        )
        .values("application_", "day_")
        .annotate(
            person_clicks_=Count("click_id"),
            id_sum_a_=Sum(IdBits(SLICE_A), output_field=BigIntegerField()),
            id_sum_b_=Sum(IdBits(SLICE_B), output_field=BigIntegerField()),
        )
        .values(*COLUMNS)
    )


def figures(clicks: QuerySet[Any]) -> QuerySet[Any, dict[str, Any]]:
    """Per application and local day: the count and the id sums of person clicks ``clicks``
    (``application_``, ``day_`` and the columns' names with a trailing ``_``)."""
    return _figures(_from_earliest(clicks))


def record(
    application_ids: Sequence[uuid.UUID] | None, *, clicks: QuerySet[Any] | None = None
) -> int:
    """Replace the rows of these applications (of every one when ``None``, in one pass) with
    their person clicks as they are now; call it before their summaries read the clicks (a click
    stored in between is then in the summary and not in the rows: the next run summarises the
    application again rather than miss it). ``clicks``: those applications' person clicks after
    the sending, already found (the copy the summaries read, :mod:`analytics.outcome_clicks`)."""
    if application_ids is None:
        OutcomeClickDay.objects.all().delete()
        applications: Any = JobApplication.objects.values("pk")
    elif not application_ids:
        return 0
    else:
        applications = list(application_ids)
        OutcomeClickDay.objects.filter(application_id__in=applications).delete()
    found = _person_clicks(applications) if clicks is None else _from_earliest(clicks)
    return insert_select(OutcomeClickDay, _figures(found), COLUMNS)


def forget_deleted() -> None:
    """Drop the rows of applications deleted since (by plain SQL too)."""
    OutcomeClickDay.objects.exclude(application_id__in=JobApplication.objects.values("pk")).delete()


def on_days(ranges: Iterable[tuple[dt.date, dt.date]]) -> tuple[Q, Q]:
    """The local days of ``ranges`` (first and last day included, whole days): as a filter on
    clicks, and as a filter on these rows."""
    clicks, rows = Q(), Q()
    for first, last in ranges:
        end = local_midnight(last + dt.timedelta(days=1))
        clicks |= Q(clicked_at__gte=local_midnight(first), clicked_at__lt=end)
        rows |= Q(day__gte=first, day__lte=last)
    return clicks, rows


def keyed(clicks: QuerySet[Any]) -> dict[tuple[uuid.UUID, dt.date], Figures]:
    """:func:`figures` of ``clicks`` by (application, day)."""
    return {
        (row["application_"], as_date(row["day_"])): (
            row["person_clicks_"],
            row["id_sum_a_"],
            row["id_sum_b_"],
        )
        for row in figures(clicks)
    }


def stored(
    rows: Q, application_ids: Sequence[uuid.UUID] | None = None
) -> dict[tuple[uuid.UUID, dt.date], Figures]:
    """The rows ``rows`` selects (of these applications only, when given) by (application, day)."""
    found = OutcomeClickDay.objects.filter(rows)
    if application_ids is not None:
        found = found.filter(application_id__in=application_ids)
    return {
        (app_id, day): (count, sum_a, sum_b)
        for app_id, day, count, sum_a, sum_b in found.values_list(
            "application_id", "day", "person_clicks", "id_sum_a", "id_sum_b"
        )
    }


def differing(
    now: dict[tuple[uuid.UUID, dt.date], Figures], rows: dict[tuple[uuid.UUID, dt.date], Figures]
) -> set[uuid.UUID]:
    """Applications with a day whose figures differ, a day on one side only included."""
    return {key[0] for key in now.keys() | rows.keys() if now.get(key) != rows.get(key)}


def changed(ranges: Iterable[tuple[dt.date, dt.date]]) -> set[uuid.UUID]:
    """Applications whose person clicks on the local days of ``ranges`` (first and last day
    included, whole days) differ from their rows: one grouped query over those days' clicks, one
    read of those days' rows."""
    clicks, rows = on_days(ranges)
    if not rows:
        return set()
    applications = JobApplication.objects.values("pk")
    return differing(keyed(person_clicks_after_sending(applications).filter(clicks)), stored(rows))
