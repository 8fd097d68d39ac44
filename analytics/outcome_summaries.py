"""Per-application outcome summaries: the outcomes page's cost follows applications, not clicks.

A summary (:class:`~analytics.models.OutcomeSummary` and its :class:`~analytics.models.OutcomeValue`
rows) holds what one application's person clicks say: the first one after the sending, the link
functions, sources and links people opened, and for each credited stage every dimension value's
share under each of the five models. They are exact (computed by the same code as the raw
figures, per click, to the second), not rounded to days: a day's granularity would move time
decay's shares and the lookback window's edges, and the figures would no longer agree with the
raw clicks.

``manage.py rollup_clicks`` keeps them, in the same run and transaction as the daily rollups
(:func:`analytics.rollups.run`): it rebuilds the summaries of the applications with clicks in the
days it rolls up again (new and late clicks, removed, anonymized or reclassified ones, through the
signal receivers), those with no summary yet, and those whose basis changed (a status change, a
renamed job, another lookback or half-life). Saving or deleting a link drops the summaries of the
applications it touches (:mod:`analytics.receivers`) until the next run.

At read time (:func:`apply`) an application is read from its raw clicks instead when its summary
is missing or its basis differs, or when a person clicked one of its links at or after the moment
the rollups reach (``RollupState``): its clicks since are not in the summary, and attribution
cannot add them up day by day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Final

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from analytics.attribution import (
    CREDITED_STAGES,
    MODELS,
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
from analytics.selection import local_midnight
from tracking.models import JobApplication
from tracking.stages import INTERVIEW

OPENED: Final = "opened"
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
        ids = list(JobApplication.objects.order_by("pk").values_list("pk", flat=True))
    else:
        ids = sorted(set(application_ids))
        existing = JobApplication.objects.values("pk")
        OutcomeSummary.objects.exclude(application_id__in=existing).delete()
        OutcomeValue.objects.exclude(application_id__in=existing).delete()
    lookback, half_life = lookback_setting(), half_life_setting()
    now = timezone.now()
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        if len(ids) > BATCH:
            say(f"summarising the outcomes of applications {start + 1}..{start + len(chunk)}")
        OutcomeSummary.objects.filter(application_id__in=chunk).delete()
        OutcomeValue.objects.filter(application_id__in=chunk).delete()
        outcomes = read_applications(JobApplication.objects.filter(pk__in=chunk))
        read_person_clicks(outcomes, chunk, lookback)
        summaries, values = [], []
        for outcome in outcomes.values():
            summaries.append(
                OutcomeSummary(
                    application_id=outcome.id,
                    basis=basis(outcome, lookback, half_life),
                    first_person_click=outcome.first_person_click,
                    built_at=now,
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
                **{model: by_model[model].get((dimension, value), 0.0) for model in MODELS},
            )
            for dimension, value in keys
        ]
    return rows


def stale(ids_with_clicks: set[uuid.UUID]) -> set[uuid.UUID]:
    """Applications to summarise again: those in ``ids_with_clicks`` (clicks rolled up again),
    and those with no summary or one built on another basis."""
    lookback, half_life = lookback_setting(), half_life_setting()
    stored = dict(OutcomeSummary.objects.values_list("application_id", "basis"))
    outcomes = read_applications(JobApplication.objects.all())
    changed = {
        app_id
        for app_id, outcome in outcomes.items()
        if stored.get(app_id) != basis(outcome, lookback, half_life)
    }
    return changed | (ids_with_clicks & outcomes.keys())


def applications_with_clicks(start: dt.datetime, end: dt.datetime) -> set[uuid.UUID]:
    """Applications with person clicks in ``[start, end)``."""
    rows = person_clicks_after_sending(JobApplication.objects.values("pk"))
    return set(
        rows.order_by()
        .filter(clicked_at__gte=start, clicked_at__lt=end)
        .values_list("tracking__application_id", flat=True)
        .distinct()
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


def forget(application_ids: Iterable[uuid.UUID]) -> None:
    """Drop these summaries: the applications are read raw until the next run."""
    OutcomeSummary.objects.filter(application_id__in=list(application_ids)).delete()


# --- Reading ----------------------------------------------------------------------------------


def apply(
    outcomes: dict[uuid.UUID, ApplicationOutcome],
    candidates: QuerySet[JobApplication],
    tally: Tally,
    *,
    stage: str,
    model: str,
) -> set[uuid.UUID]:
    """Add the summarised applications among ``outcomes`` (``candidates``, as a query) to
    ``tally``, set their first person click, and return the ids of those to read raw."""
    everything = set(outcomes)
    state = RollupState.objects.filter(pk=1).first()
    if state is None or state.complete_until is None:
        return everything
    # Person clicks from this moment on are not in any summary.
    since = state.partial_until or local_midnight(state.complete_until)
    lookback, half_life = lookback_setting(), half_life_setting()
    ids = candidates.values("pk")
    stored = {
        app_id: (digest, first)
        for app_id, digest, first in OutcomeSummary.objects.filter(
            application_id__in=ids
        ).values_list("application_id", "basis", "first_person_click")
    }
    recent = set(
        person_clicks_after_sending(ids)
        .order_by()
        .filter(clicked_at__gte=since)
        .values_list("tracking__application_id", flat=True)
        .distinct()
    )
    raw = {
        app_id
        for app_id, outcome in outcomes.items()
        if app_id in recent
        or app_id not in stored
        or stored[app_id][0] != basis(outcome, lookback, half_life)
    }
    if len(raw) > MAX_RAW:
        return everything
    for app_id, outcome in outcomes.items():
        if app_id not in raw:
            outcome.first_person_click = stored[app_id][1]
    values = OutcomeValue.objects.order_by().filter(application_id__in=ids)
    if raw:
        values = values.exclude(application_id__in=list(raw))
    opened: Any = (
        values.filter(stage=OPENED)
        .values("dimension", "value")
        .annotate(opened=Count("pk"), interview=Count("pk", filter=Q(reached_interview=True)))
    )
    for row in opened:
        tally.add_opened((row["dimension"], row["value"]), row["opened"], row["interview"])
    credited: Any = (
        values.filter(stage=stage, **{f"{model}__gt": 0})
        .values("dimension", "value")
        .annotate(credit=Sum(model), conversions=Count("pk"))
    )
    for row in credited:
        tally.add_credit((row["dimension"], row["value"]), row["credit"], row["conversions"])
    return raw


def read_raw(
    outcomes: dict[uuid.UUID, ApplicationOutcome],
    ids: set[uuid.UUID],
    candidates: QuerySet[JobApplication],
    tally: Tally,
    *,
    stage: str,
    model: str,
) -> None:
    """Read the applications ``ids`` among ``outcomes`` from their raw clicks into ``tally``."""
    if not ids:
        return
    lookback, half_life = lookback_setting(), half_life_setting()
    subset = {app_id: outcomes[app_id] for app_id in ids}
    # All of them: one subquery rather than a list of every id.
    every = len(ids) == len(outcomes)
    read_person_clicks(subset, candidates.values("pk") if every else sorted(ids), lookback)
    for outcome in subset.values():
        tally.add_application(outcome, stage, model, lookback=lookback, half_life=half_life)
