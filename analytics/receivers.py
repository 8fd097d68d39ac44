"""Keeping the rollups honest when tracking changes clicks in bulk (see :mod:`tracking.signals`).

The rollups hold per-day counts and, for distinct sessions, the session ids themselves. Clicks
deleted (purged, erased) or anonymized must leave them at once: a person's erased session id or a
cookie value past its retention may not outlive its click in a rollup row; clicks judged again
must move between people and automated traffic there too, and clicks classified for the first
time (stored by plain SQL) enter the rollups' counts, which hold classified clicks only. A link
edited or deleted takes its applications' outcome summaries with it until the next run, and so
does an application, a status change or a job saved or deleted; a link deleted takes its
rolled clicks out of the rows per link function and job at once. Connected in
:meth:`analytics.apps.AnalyticsConfig.ready`; nothing happens while the rollups are not in use.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from analytics import outcome_summaries, rollups
from analytics.models import DailyGroupClicks, DailyLinkClicks, RollupState
from analytics.selection import local_midnight, local_tz
from tracking.models import ApplicationStatusHistory, Job, JobApplication, TrackedLink
from tracking.signals import Report


def _in_use() -> bool:
    return RollupState.objects.exists()


def refresh_after_removal(*, report: Report | None = None, **kwargs: Any) -> None:
    """Deleted clicks change their days' totals, which the run's check finds and rebuilds."""
    if not _in_use():
        return
    result = rollups.run(whole_today=True)
    if report is not None:
        report(result.summary())


def refresh_after_anonymization(
    *, oldest: dt.datetime | None, report: Report | None = None, **kwargs: Any
) -> None:
    """Anonymized clicks keep their totals, so the run reaches back to the oldest one by date."""
    _refresh_back_to(oldest, report)


def refresh_after_geolocation(
    *, oldest: dt.datetime | None, report: Report | None = None, **kwargs: Any
) -> None:
    """Clicks given a place keep their totals, so the run reaches back to the oldest one by date,
    as after anonymization: the rolled country breakdown takes their countries."""
    _refresh_back_to(oldest, report)


def refresh_after_reclassification(
    *, oldest: dt.datetime | None, report: Report | None = None, **kwargs: Any
) -> None:
    """Clicks judged again move between people and automated traffic (and between classes)
    without changing the days' totals, which the run's check compares: it reaches back to the
    oldest one by date, as after anonymization."""
    _refresh_back_to(oldest, report)


def refresh_after_classification(
    *, clicked_at: list[dt.datetime], report: Report | None = None, **kwargs: Any
) -> None:
    """Clicks classified for the first time join their days' counts.

    Only clicks dated before the instant the rollups hold are missing from them; the others are
    read raw anyway. A plain-SQL click is usually judged within a minute of being made, so
    nothing is rebuilt (a run rebuilds today's rolled part and its month's sessions: too much
    to pay every few seconds). For older ones exactly their days are rebuilt, not the days in
    between (a plain-SQL click may be dated any day).
    """
    state = RollupState.objects.filter(pk=1).first()
    if state is None or state.complete_until is None or state.time_zone != settings.TIME_ZONE:
        return  # no rollups, or the next run rebuilds them all
    rolled_until = state.partial_until or local_midnight(state.complete_until)
    days = {moment.astimezone(local_tz()).date() for moment in clicked_at if moment < rolled_until}
    if not days:
        return
    result = rollups.run(refresh_days=0, verify=False, also_days=days, whole_today=True)
    if report is not None:
        report(result.summary())


def _refresh_back_to(oldest: dt.datetime | None, report: Report | None) -> None:
    if not _in_use():
        return
    refresh_days = 2 if oldest is None else (timezone.now() - oldest).days + 2
    result = rollups.run(refresh_days=refresh_days, whole_today=True)
    if report is not None:
        report(result.summary())


def forget_outcomes_of_link(*, instance: TrackedLink, created: bool = False, **kwargs: Any) -> None:
    """A link saved (its function or application may have changed) or deleted: the outcome
    summaries of the applications it belongs or belonged to are read raw until the next run."""
    if created:
        return  # a new link has no clicks in any summary
    affected = outcome_summaries.applications_opening([instance.tracking_id])
    if instance.application_id is not None:
        affected.add(instance.application_id)
    if affected:
        outcome_summaries.forget(affected)


def take_out_clicks_of_link(*, instance: TrackedLink, **kwargs: Any) -> None:
    """A link deleted (its clicks with it): its rolled clicks leave the rows per link function and
    job, which sums over every link read, as they leave every figure read per link (those rows
    join the link). Never below zero: a link moved to another job since the last run was counted
    under its old one, and the next run rebuilds the days its clicks left anyway."""
    days = DailyLinkClicks.objects.filter(tracking_id=instance.tracking_id)
    for day, human, automated in days.values_list("day", "human_clicks", "automated_clicks"):
        DailyGroupClicks.objects.filter(
            day=day, link_function=instance.link_function, job_id=instance.job_id
        ).update(
            human_clicks=Greatest(F("human_clicks") - human, Value(0)),
            automated_clicks=Greatest(F("automated_clicks") - automated, Value(0)),
        )


def forget_outcomes_of_application(
    *, instance: JobApplication, created: bool = False, **kwargs: Any
) -> None:
    """An application saved (its sending, status or job may have changed) or deleted: its
    summary is dropped, and it is read raw until the next run."""
    if not created:
        outcome_summaries.forget([instance.pk])


def forget_outcomes_of_history(*, instance: ApplicationStatusHistory, **kwargs: Any) -> None:
    """A status change recorded, edited or deleted: the stages of its application moved."""
    outcome_summaries.forget([instance.application_id])


def forget_outcomes_of_job(*, instance: Job, created: bool = False, **kwargs: Any) -> None:
    """A job saved (its title or company credited in its applications' summaries)."""
    if not created:
        outcome_summaries.forget(instance.applications.values("pk"))
