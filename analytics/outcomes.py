"""Outcomes: which links and sources come before responses, interviews and offers.

The period selects applications by their sending (``submitted_at``, else their creation), so "the
last 30 days" is the applications sent in them and everything that followed. The per-application
figures and the attribution models are in :mod:`analytics.attribution`; where the rollups are in
use, applications are read from their summaries (:mod:`analytics.outcome_summaries`) rather than
their clicks, with the same results.
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from typing import Any, Final

from django.conf import settings
from django.utils import timezone

from analytics import outcome_summaries, sources
from analytics.attribution import (
    CREDITED_STAGES,
    DIMENSIONS,
    MODELS,
    OWNER_SOURCES,
    PERSON_CLICK,
    ApplicationOutcome,
    Tally,
    application_outcomes,
    attribution,
    half_life_setting,
    lookback_setting,
    read_applications,
    read_person_clicks,
    sent_between,
    weights,
)
from analytics.selection import Period
from tracking.models import ApplicationStatus
from tracking.stages import INTERVIEW, RESPONDED

__all__ = [
    "CREDITED_STAGES",
    "DIMENSIONS",
    "MODELS",
    "OWNER_SOURCES",
    "PERSON_CLICK",
    "application_outcomes",
    "attribution",
    "outcomes_report",
    "weights",
]

# Below this many applications a rate is shown with its sample and marked as a small sample.
SMALL_SAMPLE: Final = 10
# Applications still waiting this long with no person click are follow-up candidates.
FOLLOW_UP_DAYS: Final = 7
# Statuses after which there is nothing to follow up.
_CLOSED = (ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN, ApplicationStatus.OFFERED)


# --- Funnel, rates, timings, follow-ups -------------------------------------------------------


def funnel(outcomes: list[ApplicationOutcome]) -> list[dict[str, Any]]:
    """Applications → opened by a person → responded → interview → offer, with rates of the
    applications (``None`` when there are none)."""
    return _funnel_rows(
        len(outcomes),
        sum(1 for o in outcomes if o.first_person_click),
        {stage: sum(1 for o in outcomes if o.stages[stage]) for stage in CREDITED_STAGES},
    )


def _funnel_rows(total: int, opened: int, reached: dict[str, int]) -> list[dict[str, Any]]:
    counts = [("applications", total), ("opened", opened), *reached.items()]
    return [
        {"stage": name, "count": count, "rate": round(count / total, 4) if total else None}
        for name, count in counts
    ]


def opened_vs_interview(tally: Tally, dimension: str) -> list[dict[str, Any]]:
    """Per value of ``dimension`` (link function, click source): the applications where a person
    opened such a link, how many of them reached an interview, the rate and whether the sample is
    too small to trust (fewer than :data:`SMALL_SAMPLE`)."""
    rows = []
    for (name, value), opened in tally.opened.items():
        if name != dimension or not opened:
            continue
        interviews = tally.interview[(name, value)]
        rows.append(
            {
                dimension: value,
                "opened": opened,
                "interview": interviews,
                "rate": round(interviews / opened, 4),
                "small_sample": opened < SMALL_SAMPLE,
            }
        )
    return sorted(rows, key=lambda row: (-row["opened"], row[dimension]))


def _median_hours(values: list[dt.timedelta]) -> float | None:
    if not values:
        return None
    return _hours(statistics.median(v.total_seconds() for v in values))


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def median_timings(outcomes: list[ApplicationOutcome]) -> dict[str, Any]:
    """Median hours from sending to the first person click, and from that click to the response
    (applications whose response came after a person click), with their sample sizes."""
    to_click, to_response = _timing_values(outcomes)
    return _timings(to_click, to_response)


def _timing_values(
    outcomes: list[ApplicationOutcome],
) -> tuple[list[dt.timedelta], list[dt.timedelta]]:
    to_click = [o.first_person_click - o.sent_at for o in outcomes if o.first_person_click]
    to_response = []
    for o in outcomes:
        first, responded = o.first_person_click, o.stages[RESPONDED]
        if first is not None and responded is not None and responded >= first:
            to_response.append(responded - first)
    return to_click, to_response


def _timings(to_click: list[dt.timedelta], to_response: list[dt.timedelta]) -> dict[str, Any]:
    return {
        "sent_to_first_person_click_hours": _median_hours(to_click),
        "sent_to_first_person_click_sample": len(to_click),
        "first_person_click_to_response_hours": _median_hours(to_response),
        "first_person_click_to_response_sample": len(to_response),
    }


def follow_up_candidates(
    outcomes: list[ApplicationOutcome],
    *,
    days: int = FOLLOW_UP_DAYS,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Open applications sent at least ``days`` ago that no person has opened, oldest first."""
    now = now or timezone.now()
    return _follow_up_rows(_waiting(outcomes, days, now), now)


def _waiting(
    outcomes: list[ApplicationOutcome], days: int, now: dt.datetime
) -> list[tuple[uuid.UUID, str, str, str, dt.datetime]]:
    return [
        (o.id, o.job_title, o.company, o.status, o.sent_at)
        for o in outcomes
        if not (o.first_person_click or o.stages[RESPONDED] or o.status in _CLOSED)
        and now - o.sent_at >= dt.timedelta(days=days)
    ]


def _follow_up_rows(
    waiting: list[tuple[uuid.UUID, str, str, str, dt.datetime]], now: dt.datetime
) -> list[dict[str, Any]]:
    rows = [
        {
            "application_id": str(app_id),
            "job": job,
            "company": company,
            "status": status,
            "sent_at": sent.isoformat(),
            "days_waiting": (now - sent).days,
        }
        for app_id, job, company, status, sent in waiting
    ]
    return sorted(rows, key=lambda row: row["sent_at"])


@sources.one_snapshot
def outcomes_report(
    period: Period,
    *,
    model: str = "linear",
    stage: str = INTERVIEW,
    follow_up_days: int = FOLLOW_UP_DAYS,
    attribution_rows: int | None = None,
) -> dict[str, Any]:
    """Everything the outcomes page and API show, for applications sent in ``period``;
    ``attribution_rows``: only the rows with the most credit of each attribution table (the
    page's), ``attribution_totals`` saying how many there are in all.

    In one snapshot: a rollup run committing meanwhile replaces summaries and moves the instant
    after which clicks are read raw together."""
    if model not in MODELS:
        raise ValueError(f"unknown attribution model {model!r}")
    candidates = sent_between(*period)
    lookback, half_life = lookback_setting(), half_life_setting()
    tally = Tally()
    raw = outcome_summaries.to_read_raw(candidates)
    now = timezone.now()
    if raw is None:  # everything from the raw clicks
        outcomes = read_applications(candidates)
        read_person_clicks(outcomes, candidates.values("pk"), lookback)
    else:
        outcomes = read_applications(candidates.filter(pk__in=sorted(raw))) if raw else {}
        if outcomes:
            read_person_clicks(outcomes, sorted(outcomes), lookback)
    for outcome in outcomes.values():
        tally.add_application(outcome, stage, model, lookback=lookback, half_life=half_life)
    applications = list(outcomes.values())
    to_click, to_response = _timing_values(applications)
    if raw is None:
        timings = _timings(to_click, to_response)
        funnel_rows = funnel(applications)
        follow_up = follow_up_candidates(applications, days=follow_up_days, now=now)
    else:
        summarised = outcome_summaries.read(
            period, raw, tally, stage=stage, model=model, limit=attribution_rows
        )
        medians = outcome_summaries.timing_medians(summarised.fresh, to_click, to_response)
        if medians is None:
            fresh_click, fresh_response = outcome_summaries.timing_values(summarised.fresh)
            to_click += fresh_click
            to_response += fresh_response
            opened = len(to_click)
            timings = _timings(to_click, to_response)
        else:
            opened, click_seconds, responses, response_seconds = medians
            timings = {
                "sent_to_first_person_click_hours": _hours(click_seconds),
                "sent_to_first_person_click_sample": opened,
                "first_person_click_to_response_hours": _hours(response_seconds),
                "first_person_click_to_response_sample": responses,
            }
        funnel_rows = _funnel_rows(
            candidates.count(), opened, outcome_summaries.stage_counts(candidates)
        )
        cutoff = now - dt.timedelta(days=follow_up_days)
        follow_up = _follow_up_rows(
            outcome_summaries.waiting(summarised.fresh, cutoff=cutoff, closed=_CLOSED)
            + _waiting(applications, follow_up_days, now),
            now,
        )
    return {
        "model": model,
        "stage": stage,
        "lookback_days": settings.OUTCOME_LOOKBACK_DAYS,
        "half_life_days": settings.OUTCOME_HALF_LIFE_DAYS,
        "funnel": funnel_rows,
        "by_link_function": opened_vs_interview(tally, "link_function"),
        "by_click_source": opened_vs_interview(tally, "click_source"),
        "by_variant": opened_vs_interview(tally, "variant"),
        "attribution": tally.attribution(attribution_rows),
        "attribution_totals": tally.attribution_totals(),
        "timings": timings,
        "follow_up": follow_up,
    }
