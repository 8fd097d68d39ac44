"""Outcome summaries extended with the person clicks made since they were built.

A summary is built from all of its application's person clicks
(:func:`analytics.outcome_summaries.refresh`): at 10,000,000 clicks some 15 ms an application.
Under a steady trickle of clicks, each incremental ``rollup_clicks`` summarised every application
a person had clicked since the last run again, from its whole history. Yet a person click made
after the summary was built, and after every credited stage the application reached, changes
only two things in it:

- the first person click, when there was none;
- the link functions, click sources, links and A/B variants people opened: new values add rows.

The credit of a stage goes to the touches in the lookback window before the stage
(:func:`analytics.attribution.application_credit`), all older than such a click.

An application whose clicks changed (:mod:`analytics.outcome_click_days`) and whose summary is
current (:func:`analytics.outcome_summaries.staleness`) is extended rather than rebuilt when:

- every credited stage it reached is dated before its summary was built (``built_at``);
- its person clicks dated before ``built_at``, on the days the run looks at, still give the
  figures written with the summary (count and id sums per day): none was removed, reclassified,
  stored late or moved; what changed are clicks dated since.

The others are rebuilt. An extension reads the new clicks once, into a copy, as a rebuild does,
and adds the copy's figures to the click days, so that what the rows say and what the summary
read stay the same clicks. ``tests/test_outcome_extend.py`` compares the extended rows with a
rebuild's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from analytics import outcome_click_days, temptables
from analytics.attribution import (
    CREDITED_STAGES,
    ApplicationOutcome,
    lookback_setting,
    opened_values,
    person_clicks_after_sending,
    read_person_clicks,
)
from analytics.models import OutcomeClick, OutcomeClickDay, OutcomeSummary, OutcomeValue
from analytics.outcome_clicks import COPIED
from analytics.outcome_summaries import OPENED
from tracking.stages import INTERVIEW


def _built_at() -> Subquery:
    """The ``built_at`` of the summary of a click's application."""
    return Subquery(
        OutcomeSummary.objects.filter(application_id=OuterRef("tracking__application_id")).values(
            "built_at"
        )[:1]
    )


def extendable(
    candidates: dict[uuid.UUID, ApplicationOutcome], ranges: list[tuple[dt.date, dt.date]]
) -> set[uuid.UUID]:
    """Those of ``candidates`` (applications with a current summary whose person clicks changed
    on the days of ``ranges``) that may be extended (see the module)."""
    built = dict(
        OutcomeSummary.objects.filter(application_id__in=list(candidates)).values_list(
            "application_id", "built_at"
        )
    )
    able = {
        app_id
        for app_id, at in built.items()
        if all(
            (reached := candidates[app_id].stages[stage]) is None or reached < at
            for stage in CREDITED_STAGES
        )
    }
    if not able or not ranges:
        return able
    clicks, rows = outcome_click_days.on_days(ranges)
    ids = sorted(able)
    before = outcome_click_days.keyed(
        person_clicks_after_sending(ids).filter(clicks, clicked_at__lt=_built_at())
    )
    return able - outcome_click_days.differing(before, outcome_click_days.stored(rows, ids))


def extend(outcomes: dict[uuid.UUID, ApplicationOutcome]) -> int:
    """Add to the summaries of ``outcomes`` (applications :func:`extendable` found) the person
    clicks dated since each was built; returns how many were extended."""
    if not outcomes:
        return 0
    ids = sorted(outcomes)
    now = timezone.now()
    fresh = {
        app_id: dataclasses.replace(outcome, first_person_click=None, opened={}, touches=[])
        for app_id, outcome in outcomes.items()
    }
    source = (
        person_clicks_after_sending(ids)
        .filter(clicked_at__gte=_built_at())
        .order_by()
        .values(*COPIED)
    )
    with temptables.filled(OutcomeClick, source) as clicks:
        added = outcome_click_days.keyed(clicks)
        read_person_clicks(fresh, ids, lookback_setting(), clicks=clicks)
    _add_click_days(added)
    _add_opened(fresh)
    firsts = {
        app_id: outcome.first_person_click
        for app_id, outcome in fresh.items()
        if outcome.first_person_click is not None
    }
    without = set(
        OutcomeSummary.objects.filter(
            application_id__in=sorted(firsts), first_person_click__isnull=True
        ).values_list("application_id", flat=True)
    )
    for app_id in without:
        OutcomeSummary.objects.filter(application_id=app_id).update(
            first_person_click=firsts[app_id]
        )
    OutcomeSummary.objects.filter(application_id__in=ids).update(built_at=now)
    return len(ids)


def _add_click_days(added: dict[tuple[uuid.UUID, dt.date], outcome_click_days.Figures]) -> None:
    """Add the new clicks' figures to the click days (a day's row is created when it has none)."""
    if not added:
        return
    rows = {
        (row.application_id, row.day): row
        for row in OutcomeClickDay.objects.filter(
            application_id__in=sorted({app_id for app_id, _day in added}),
            day__in=sorted({day for _app, day in added}),
        )
    }
    changed, new = [], []
    for (app_id, day), (count, sum_a, sum_b) in added.items():
        row = rows.get((app_id, day))
        if row is None:
            new.append(
                OutcomeClickDay(
                    application_id=app_id,
                    day=day,
                    person_clicks=count,
                    id_sum_a=sum_a,
                    id_sum_b=sum_b,
                )
            )
            continue
        row.person_clicks += count
        row.id_sum_a += sum_a
        row.id_sum_b += sum_b
        changed.append(row)
    OutcomeClickDay.objects.bulk_update(changed, ["person_clicks", "id_sum_a", "id_sum_b"])
    OutcomeClickDay.objects.bulk_create(new)


def _add_opened(fresh: dict[uuid.UUID, ApplicationOutcome]) -> None:
    """The values people opened in the new clicks that the summaries do not hold yet."""
    have = set(
        OutcomeValue.objects.filter(application_id__in=sorted(fresh), stage=OPENED).values_list(
            "application_id", "dimension", "value"
        )
    )
    OutcomeValue.objects.bulk_create(
        [
            OutcomeValue(
                application_id=app_id,
                stage=OPENED,
                dimension=dimension,
                value=value,
                reached_interview=outcome.stages[INTERVIEW] is not None,
                sent_at=outcome.sent_at,
            )
            for app_id, outcome in fresh.items()
            for dimension, value in opened_values(outcome)
            if (app_id, dimension, value) not in have
        ],
        batch_size=2000,
    )
