"""Per-application outcome summaries: the outcomes page's cost follows applications, not clicks.

A summary (:class:`~analytics.models.OutcomeSummary` and its :class:`~analytics.models.OutcomeValue`
rows) holds what one application's person clicks say: the first one after the sending, the link
functions, sources and links people opened, and for each credited stage every dimension value's
share under each of the five models. They are exact (computed by the same code as the raw
figures, per click, to the second), not rounded to days: a day's granularity would move time
decay's shares and the lookback window's edges, and the figures would no longer agree with the
raw clicks.

``manage.py rollup_clicks`` keeps them, in the same run and transaction as the daily rollups
(:func:`analytics.rollups.run`): it rebuilds the summaries of the applications whose person clicks
on the days it rolls up again changed since their summary was built (new and late clicks, removed
or reclassified ones, also through the signal receivers: :mod:`analytics.outcome_click_days`,
whose rows are written with each summary), those with no summary yet, and those whose basis
changed (a status change, a renamed job, another lookback or half-life); one that lacks only
person clicks dated since it was built is extended instead (:mod:`analytics.outcome_extend`).
Saving or deleting a link drops the summaries of the applications it touches
(:mod:`analytics.receivers`) until the next run.

At read time (:func:`to_read_raw`, :func:`read`) an application is read from its raw clicks
instead when it has no summary built with the current settings (saving the application, one of its
status changes, its job or its links drops it: :mod:`analytics.receivers`), or when a person
clicked one of its links at or after the moment the rollups reach (``RollupState``): its clicks
since are not in the summary, and attribution cannot add them up day by day. The others are summed
by the database from their summary rows, a few aggregate queries whatever their number.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, cast

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    FloatField,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Collate, Extract, RowNumber
from django.utils import timezone

from analytics import outcome_click_days, outcome_clicks
from analytics.attribution import (
    CREDITED_STAGES,
    MODELS,
    OPENED_DIMENSIONS,
    ApplicationOutcome,
    Tally,
    application_credit,
    half_life_setting,
    lookback_setting,
    opened_values,
    person_clicks_after_sending,
    read_applications,
    read_person_clicks,
)
from analytics.models import OutcomeSummary, OutcomeValue, RollupState
from analytics.selection import Period, local_midnight
from tracking.models import ApplicationStatusHistory, JobApplication
from tracking.stages import INTERVIEW, RESPONDED, STAGES, stage_of_status

OPENED: Final = "opened"
# The dimensions whose "opened" rows the report shows (the links' serve applications_opening).
SHOWN_OPENED: Final = tuple(d for d in OPENED_DIMENSIONS if d != "link")
# Applications summarised together: bounds the memory of a full rebuild and the size of the
# id lists sent to the database.
BATCH: Final = 500
# More applications than this to read raw and the page reads all of them raw: the list of those
# to leave out of the summed rows would cost more than it saves.
MAX_RAW: Final = 2000


def basis(outcome: ApplicationOutcome, lookback: dt.timedelta, half_life: dt.timedelta) -> str:
    """A digest of what an application's figures depend on besides its clicks."""
    parts = [
        outcome.sent_at.isoformat(),
        *(str(outcome.stages[stage]) for stage in CREDITED_STAGES),
        outcome.job_title,
        outcome.company,
        str(lookback.total_seconds()),
        str(half_life.total_seconds()),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def settings_digest(lookback: dt.timedelta, half_life: dt.timedelta) -> str:
    """A digest of the settings every summary depends on, checked once per read."""
    parts = [str(lookback.total_seconds()), str(half_life.total_seconds())]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


# --- Building ---------------------------------------------------------------------------------


def refresh(
    application_ids: Iterable[uuid.UUID] | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Rebuild the summaries of ``application_ids`` (every application when ``None``) from their
    raw clicks; drops those of deleted applications. Returns how many were built."""
    say = progress or (lambda message: None)
    if application_ids is None:
        OutcomeSummary.objects.all().delete()
        OutcomeValue.objects.all().delete()
        # Every application's click days in one pass, before the summaries read the clicks.
        outcome_click_days.record(None)
        ids = list(JobApplication.objects.order_by("pk").values_list("pk", flat=True))
    else:
        ids = sorted(set(application_ids))
        existing = JobApplication.objects.values("pk")
        OutcomeSummary.objects.exclude(application_id__in=existing).delete()
        OutcomeValue.objects.exclude(application_id__in=existing).delete()
        outcome_click_days.forget_deleted()
    lookback, half_life = lookback_setting(), half_life_setting()
    digest = settings_digest(lookback, half_life)
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        if len(ids) > BATCH:
            say(f"summarising the outcomes of applications {start + 1}..{start + len(chunk)}")
        OutcomeSummary.objects.filter(application_id__in=chunk).delete()
        OutcomeValue.objects.filter(application_id__in=chunk).delete()
        outcomes = read_applications(JobApplication.objects.filter(pk__in=chunk))
        # Just before the clicks are read: a click dated since is one the summary may lack
        # (analytics.outcome_extend).
        now = timezone.now()
        with outcome_clicks.copied(chunk) as clicks:
            if application_ids is not None:
                # What the next runs compare the clicks with: the clicks the summary reads.
                outcome_click_days.record(chunk, clicks=clicks)
            read_person_clicks(outcomes, chunk, lookback, clicks=clicks)
        summaries, values = [], []
        for outcome in outcomes.values():
            summaries.append(
                OutcomeSummary(
                    application_id=outcome.id,
                    basis=basis(outcome, lookback, half_life),
                    first_person_click=outcome.first_person_click,
                    built_at=now,
                    sent_at=outcome.sent_at,
                    responded_at=outcome.stages[RESPONDED],
                    settings=digest,
                )
            )
            values += _values(outcome, lookback, half_life)
        OutcomeSummary.objects.bulk_create(summaries)
        OutcomeValue.objects.bulk_create(values, batch_size=2000)
    return len(ids)


def _values(
    outcome: ApplicationOutcome, lookback: dt.timedelta, half_life: dt.timedelta
) -> list[OutcomeValue]:
    interview = outcome.stages[INTERVIEW] is not None
    rows = [
        OutcomeValue(
            application_id=outcome.id,
            stage=OPENED,
            dimension=dimension,
            value=value,
            reached_interview=interview,
            sent_at=outcome.sent_at,
        )
        for dimension, value in opened_values(outcome)
    ]
    for stage in CREDITED_STAGES:
        by_model = {
            model: application_credit(outcome, stage, model, lookback=lookback, half_life=half_life)
            for model in MODELS
        }
        keys = sorted({key for credit in by_model.values() for key in credit})
        rows += [
            OutcomeValue(
                application_id=outcome.id,
                stage=stage,
                dimension=dimension,
                value=value,
                sent_at=outcome.sent_at,
                **{model: by_model[model].get((dimension, value), 0.0) for model in MODELS},
            )
            for dimension, value in keys
        ]
    return rows


@dataclass(frozen=True)
class Staleness:
    """The summaries a run must build again (:func:`staleness`)."""

    # No summary, or one built on another basis or with other settings.
    rebuild: set[uuid.UUID]
    # A current summary, but person clicks changed (extended or rebuilt: analytics.outcome_extend).
    clicks_changed: dict[uuid.UUID, ApplicationOutcome]


def stale(ids_with_clicks: set[uuid.UUID]) -> set[uuid.UUID]:
    """Applications to summarise again: those in ``ids_with_clicks`` (clicks rolled up again),
    and those with no summary or one built on another basis."""
    found = staleness(ids_with_clicks)
    return found.rebuild | found.clicks_changed.keys()


def staleness(ids_with_clicks: set[uuid.UUID]) -> Staleness:
    """:func:`stale`, told apart: the summaries to build again whatever their clicks, and the
    current ones whose clicks changed (with their applications' stages and sending)."""
    lookback, half_life = lookback_setting(), half_life_setting()
    digest = settings_digest(lookback, half_life)
    stored = {
        app_id: row_basis
        for app_id, row_basis, row_settings in OutcomeSummary.objects.values_list(
            "application_id", "basis", "settings"
        )
        if row_settings == digest
    }
    outcomes = read_applications(JobApplication.objects.all())
    changed = {
        app_id
        for app_id, outcome in outcomes.items()
        if stored.get(app_id) != basis(outcome, lookback, half_life)
    }
    return Staleness(
        rebuild=changed,
        clicks_changed={
            app_id: outcomes[app_id] for app_id in (ids_with_clicks & outcomes.keys()) - changed
        },
    )


def applications_opening(tracking_ids: Iterable[str]) -> set[uuid.UUID]:
    """Applications whose summary says a person opened one of these links."""
    found: set[uuid.UUID] = set()
    ids = sorted(set(tracking_ids))
    for start in range(0, len(ids), BATCH):
        found |= set(
            OutcomeValue.objects.filter(
                stage=OPENED, dimension="link", value__in=ids[start : start + BATCH]
            ).values_list("application_id", flat=True)
        )
    return found


def forget(application_ids: Iterable[uuid.UUID] | QuerySet[Any]) -> None:
    """Drop these summaries (ids, or a query of them): the applications are read raw until the
    next run."""
    ids = application_ids if isinstance(application_ids, QuerySet) else list(application_ids)
    OutcomeSummary.objects.filter(application_id__in=ids).delete()
    OutcomeValue.objects.filter(application_id__in=ids).delete()


# --- Reading ----------------------------------------------------------------------------------


@dataclass
class Summarised:
    """The summarised applications of a period (their credit and opened values already added to
    the tally): the funnel, timings and follow-ups query them further."""

    fresh: QuerySet[OutcomeSummary]


def to_read_raw(candidates: QuerySet[JobApplication]) -> set[uuid.UUID] | None:
    """The applications among ``candidates`` to read from their raw clicks; ``None`` for all of
    them (no rollups yet, or more than :data:`MAX_RAW`).

    Those with no summary built with the current settings (saving an application, its history,
    its job or its links drops its summary), and those a person clicked at or after the moment
    the rollups reach (``RollupState``): their clicks since are not in the summary."""
    state = RollupState.objects.filter(pk=1).first()
    if state is None or state.complete_until is None:
        return None
    since = state.partial_until or local_midnight(state.complete_until)
    digest = settings_digest(lookback_setting(), half_life_setting())
    ids = candidates.values("pk")
    raw = set(
        candidates.order_by()
        .exclude(pk__in=OutcomeSummary.objects.filter(settings=digest).values("application_id"))
        .values_list("pk", flat=True)
    )
    raw |= set(
        person_clicks_after_sending(ids)
        .order_by()
        .filter(clicked_at__gte=since)
        .values_list("tracking__application_id", flat=True)
        .distinct()
    )
    return None if len(raw) > MAX_RAW else raw


def read(
    period: Period,
    raw: set[uuid.UUID],
    tally: Tally,
    *,
    stage: str,
    model: str,
    limit: int | None = None,
) -> Summarised:
    """Add the summarised applications sent in ``period`` (all but ``raw``) to ``tally`` and
    return their funnel count and timings. With ``limit``, the credit of only the values that can
    be among each dimension's ``limit`` rows with the most credit is read (the rest counted).

    The rows are selected by their own sending: a summary and its values go together, and both
    are dropped when the application (its sending among others) is saved or deleted."""
    start, end = period
    sent = Q()
    if start is not None:
        sent &= Q(sent_at__gte=start)
    if end is not None:
        sent &= Q(sent_at__lt=end)
    digest = settings_digest(lookback_setting(), half_life_setting())
    fresh = OutcomeSummary.objects.order_by().filter(sent, settings=digest)
    values = OutcomeValue.objects.order_by().filter(sent)
    if raw:
        fresh = fresh.exclude(application_id__in=sorted(raw))
        values = values.exclude(application_id__in=sorted(raw))
    result = Summarised(fresh=fresh)
    shown: Any = (
        values.filter(stage=OPENED, dimension__in=SHOWN_OPENED)
        .values("dimension", "value")
        .annotate(
            opened=Count("*"),
            interview=Count("reached_interview", filter=Q(reached_interview=True)),
        )
    )
    for row in shown:
        tally.add_opened((row["dimension"], row["value"]), row["opened"], row["interview"])
    credited: Any = (
        values.filter(stage=stage, **{f"{model}__gt": 0})
        .values("dimension", "value")
        .annotate(credit=Sum(model), conversions=Count("*"))
    )
    if limit is not None:
        credited = _top_credited(credited, tally, limit)
    for row in credited:
        tally.add_credit((row["dimension"], row["value"]), row["credit"], row["conversions"])
    return result


def _top_credited(credited: QuerySet[Any], tally: Tally, limit: int) -> list[dict[str, Any]]:
    """The rows of ``credited`` that can be among the ``limit`` with the most credit of their
    dimension once added to ``tally``; the others are counted in ``tally.unread``.

    Those are the values the tally holds already (the applications read raw: their credit adds to
    what the summaries give), then the summaries' own top ``limit``: a value outside both keeps the
    credit the summaries give it, below ``limit`` values at least that credited. Ranked as
    :meth:`Tally.attribution` orders rows (credit, then value); the database keeps the rest."""
    held: dict[str, list[str]] = defaultdict(list)
    for dimension, value in tally.credit:
        held[dimension].append(value)
    first = Q()
    for dimension, values in held.items():
        first |= Q(dimension=dimension, value__in=sorted(values))
    # Values in code point order, as Python sorts them (PostgreSQL's own collation would not).
    by_value: Collate | F = F("value")
    if connection.vendor == "postgresql":
        by_value = Collate(F("value"), "C")
    order: list[Any] = [F("credit").desc(), by_value.asc()]
    if held:
        order.insert(0, Case(When(first, then=Value(0)), default=Value(1)))
    ranked = credited.annotate(
        rank=Window(RowNumber(), partition_by=[F("dimension")], order_by=order),
        groups=Window(Count("*"), partition_by=[F("dimension")]),
    ).filter(rank__lte=limit + max((len(v) for v in held.values()), default=0))
    rows = list(ranked)
    read_per_dimension: dict[str, int] = defaultdict(int)
    groups: dict[str, int] = {}
    for row in rows:
        read_per_dimension[row["dimension"]] += 1
        groups[row["dimension"]] = row["groups"]
    for dimension, count in groups.items():
        tally.unread[dimension] += count - read_per_dimension[dimension]
    return rows


def timing_values(fresh: QuerySet[OutcomeSummary]) -> tuple[list[dt.timedelta], list[dt.timedelta]]:
    """The summarised applications' times from sending to the first person click, and from that
    click to a response after it."""
    to_click: list[dt.timedelta] = []
    to_response: list[dt.timedelta] = []
    # Every row built with the current settings has its sending.
    opened = cast(
        Iterable[tuple[dt.datetime, dt.datetime, dt.datetime | None]],
        fresh.filter(first_person_click__isnull=False, sent_at__isnull=False).values_list(
            "sent_at", "first_person_click", "responded_at"
        ),
    )
    for sent, first, responded in opened:
        to_click.append(first - sent)
        if responded is not None and responded >= first:
            to_response.append(responded - first)
    return to_click, to_response


def timing_medians(
    fresh: QuerySet[OutcomeSummary],
    to_click: list[dt.timedelta],
    to_response: list[dt.timedelta],
) -> tuple[int, float | None, int, float | None] | None:
    """On PostgreSQL, the same figures as :func:`timing_values` and the given ones (the
    applications read raw) together, reduced by the database: each sample's size and median in
    seconds (``percentile_cont(0.5)``, the mean of the middle two like :func:`statistics.median`).
    ``None`` elsewhere."""
    if connection.vendor != "postgresql":
        return None
    rows = (
        fresh.filter(first_person_click__isnull=False, sent_at__isnull=False)
        .annotate(
            c=_seconds("first_person_click", "sent_at"),
            r=Case(
                When(
                    responded_at__gte=F("first_person_click"),
                    then=_seconds("responded_at", "first_person_click"),
                )
            ),
        )
        .values("c", "r")
    )
    sql, params = rows.query.sql_with_params()
    # Constant fragments and a query compiled by the ORM, its parameters apart.
    query = (
        "SELECT COUNT(c), percentile_cont(0.5) WITHIN GROUP (ORDER BY c), "  # noqa: S608
        f"COUNT(r), percentile_cont(0.5) WITHIN GROUP (ORDER BY r) FROM ({sql} "
        "UNION ALL SELECT unnest(%s::float8[]), NULL "
        "UNION ALL SELECT NULL, unnest(%s::float8[])) AS timings"
    )
    seconds = [[value.total_seconds() for value in values] for values in (to_click, to_response)]
    with connection.cursor() as cursor:
        cursor.execute(query, (*params, *seconds))
        row = cursor.fetchone()
    assert row is not None
    return int(row[0]), row[1], int(row[2]), row[3]


def _seconds(later: str, earlier: str) -> Cast:
    """The seconds from one moment column to another, as a float."""
    between = ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())
    return Cast(Extract(between, "epoch"), FloatField())


def waiting(
    fresh: QuerySet[OutcomeSummary], *, cutoff: dt.datetime, closed: Iterable[str]
) -> list[tuple[uuid.UUID, str, str, str, dt.datetime]]:
    """Summarised applications sent by ``cutoff`` that no person opened and nobody answered,
    still open: ``(id, job title, company, status, sent)``."""
    quiet = fresh.filter(
        first_person_click__isnull=True, responded_at__isnull=True, sent_at__lte=cutoff
    )
    rows = (
        JobApplication.objects.order_by()
        .filter(pk__in=quiet.values("application_id"))
        .exclude(status__in=list(closed))
        .values_list(
            "id", "job__title", "job__company_name", "status", "submitted_at", "created_at"
        )
    )
    return [
        (pk, title, company, status, sub or created)
        for pk, title, company, status, sub, created in rows
    ]


def stage_counts(candidates: QuerySet[JobApplication]) -> dict[str, int]:
    """How many of ``candidates`` reached each credited stage, from their status history."""
    mapping = stage_of_status()
    statuses = {
        stage: [status for status, top in mapping.items() if top >= STAGES.index(stage)]
        for stage in CREDITED_STAGES
    }
    reachable = [stage for stage in CREDITED_STAGES if statuses[stage]]
    if not reachable:
        return dict.fromkeys(CREDITED_STAGES, 0)
    counts = ApplicationStatusHistory.objects.filter(
        application__in=candidates.values("pk")
    ).aggregate(
        **{
            stage: Count("application", distinct=True, filter=Q(to_status__in=statuses[stage]))
            for stage in reachable
        }
    )
    return {stage: counts.get(stage) or 0 for stage in CREDITED_STAGES}
