"""Outcomes: which links and sources come before responses, interviews and offers.

An application's *sending* is its ``submitted_at`` (set when it moves to submitted without one),
else its creation; the stages it reached come from its status history
(:mod:`tracking.stages`). The period selects applications by their sending, so "the last 30 days"
is the applications sent in them and everything that followed.

Attribution follows seed 003 (TrackFlow): for each stage an application reached after submission
(responded, interview, offer), the *person* clicks on its links in the lookback window before the
stage (``OUTCOME_LOOKBACK_DAYS``) are the touches, and one conversion's credit (1) is shared among
them by the model:

- ``first_touch`` / ``last_touch``: all of it to the earliest / latest touch;
- ``linear``: equal shares;
- ``time_decay``: shares proportional to ``2 ** (-age / half_life)`` where ``age`` is the time from
  the click to the stage (``OUTCOME_HALF_LIFE_DAYS``);
- ``position_based``: 40 % to the first, 40 % to the last, 20 % shared by those between; one touch
  takes all, two take half each.

Person clicks are the clicks the rest of analytics counts as people (:data:`HUMAN`) except the job
seeker's own (:data:`OWNER_SOURCES`): scanners, crawlers and previews never earn credit.
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings
from django.db.models import F, Min, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils import timezone

from analytics.selection import HUMAN, Period
from tracking.models import (
    ApplicationStatus,
    ApplicationStatusHistory,
    JobApplication,
    LinkClick,
    LinkRule,
    RuleType,
)
from tracking.routing import ROUTED_KEY
from tracking.stages import INTERVIEW, OFFER, RESPONDED, stages_reached

MODELS: Final = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
CREDITED_STAGES: Final = (RESPONDED, INTERVIEW, OFFER)
DIMENSIONS: Final = (
    "link_function",
    "click_source",
    "link",
    "job",
    "company",
    "utm_campaign",
    "utm_source",
    "utm_medium",
)
# The job seeker's own clicks: opened from the dashboard or sent as tests, never a recruiter.
OWNER_SOURCES: Final = ("dashboard", "test")
PERSON_CLICK = HUMAN & ~Q(click_source__in=OWNER_SOURCES)
# Below this many applications a rate is shown with its sample and marked as a small sample.
SMALL_SAMPLE: Final = 10
# Applications still waiting this long with no person click are follow-up candidates.
FOLLOW_UP_DAYS: Final = 7
# Statuses after which there is nothing to follow up.
_CLOSED = (ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN, ApplicationStatus.OFFERED)
POSITION_ENDS: Final = 0.4


@dataclass(frozen=True)
class Touch:
    clicked_at: dt.datetime
    values: dict[str, str]  # dimension -> value ("" when the click carries none)


@dataclass
class ApplicationOutcome:
    id: uuid.UUID
    job_title: str
    company: str
    status: str
    sent_at: dt.datetime
    stages: dict[str, dt.datetime | None]
    first_person_click: dt.datetime | None = None
    # Link functions, click sources and A/B variants of the person clicks after sending.
    opened: dict[str, set[str]] = field(
        default_factory=lambda: {"link_function": set(), "click_source": set(), "variant": set()}
    )
    # The person clicks that may earn credit: those of an application that reached a credited
    # stage, in the lookback window before its last one.
    touches: list[Touch] = field(default_factory=list)


# --- Reading ----------------------------------------------------------------------------------


def application_outcomes(
    period: Period, *, lookback: dt.timedelta | None = None
) -> list[ApplicationOutcome]:
    """Every application sent in ``period`` with its stages and person clicks, oldest first.

    A handful of queries whatever the number of applications and clicks: the applications and
    their history; then, aggregated by the database, each one's first person click and the link
    functions and sources people opened; then the clicks themselves only for the applications
    that reached a credited stage, only in the lookback window before it.
    """
    lookback = lookback or dt.timedelta(days=settings.OUTCOME_LOOKBACK_DAYS)
    start, end = period
    sent = Coalesce(F("submitted_at"), F("created_at"))
    candidates = JobApplication.objects.annotate(sent=sent)
    if start is not None:
        candidates = candidates.filter(sent__gte=start)
    if end is not None:
        candidates = candidates.filter(sent__lt=end)
    applications = list(candidates.select_related("job").order_by("created_at", "id"))
    ids = candidates.values("pk")
    history: dict[uuid.UUID, list[tuple[str, dt.datetime]]] = defaultdict(list)
    for app_id, status, changed_at in (
        ApplicationStatusHistory.objects.filter(application__in=ids)
        .values_list("application_id", "to_status", "changed_at")
        .order_by("changed_at", "id")
    ):
        history[app_id].append((status, changed_at))
    outcomes: dict[uuid.UUID, ApplicationOutcome] = {
        application.pk: ApplicationOutcome(
            id=application.pk,
            job_title=application.job.title,
            company=application.job.company_name,
            status=application.status,
            sent_at=application.submitted_at or application.created_at,
            stages=stages_reached(history.get(application.pk, [])),
        )
        for application in applications
    }
    # Person clicks after the sending: before it, it is the job seeker checking the link.
    person_clicks = LinkClick.objects.filter(
        PERSON_CLICK,
        tracking__application__in=ids,
        clicked_at__gte=Coalesce(
            F("tracking__application__submitted_at"), F("tracking__application__created_at")
        ),
    )
    app = "tracking__application_id"
    for app_id, first in person_clicks.values_list(app).annotate(first=Min("clicked_at")):
        outcomes[app_id].first_person_click = first
    for dimension, column in (
        ("link_function", "tracking__link_function"),
        ("click_source", "click_source"),
    ):
        # No ordering: the model's default (clicked_at) would join the DISTINCT and return
        # every click.
        for app_id, value in person_clicks.order_by().values_list(app, column).distinct():
            if value:
                outcomes[app_id].opened[dimension].add(value)
    _read_variants(person_clicks, outcomes)
    _read_touches(person_clicks, outcomes, lookback)
    return list(outcomes.values())


def variant_name(rule: LinkRule) -> str:
    """What an A/B variant is called across links: its name, else its destination (the same
    version of a portfolio on the links of several applications adds up)."""
    return rule.name or rule.destination_url


def _read_variants(
    person_clicks: QuerySet[LinkClick], outcomes: dict[uuid.UUID, ApplicationOutcome]
) -> None:
    """The A/B variants each application's person clicks went through (``metadata.lt_rule``);
    variants deleted since are left out (their name is gone)."""
    routed = (
        person_clicks.order_by()
        .annotate(rule=KeyTextTransform(ROUTED_KEY, "metadata"))
        .filter(rule__isnull=False)
        .values_list("tracking__application_id", "rule")
        .distinct()
    )
    pairs = [(app_id, rule) for app_id, rule in routed if str(rule).isdigit()]
    if not pairs:
        return
    names = {
        str(rule.pk): variant_name(rule)
        for rule in LinkRule.objects.filter(
            pk__in={int(rule) for _app, rule in pairs}, rule_type=RuleType.AB_TEST
        )
    }
    for app_id, rule in pairs:
        if str(rule) in names:
            outcomes[app_id].opened["variant"].add(names[str(rule)])


def _read_touches(
    person_clicks: QuerySet[LinkClick],
    outcomes: dict[uuid.UUID, ApplicationOutcome],
    lookback: dt.timedelta,
) -> None:
    windows: dict[uuid.UUID, tuple[dt.datetime, dt.datetime]] = {}
    for outcome in outcomes.values():
        reached = [when for s in CREDITED_STAGES if (when := outcome.stages[s]) is not None]
        if reached and outcome.first_person_click is not None:
            windows[outcome.id] = (min(reached) - lookback, max(reached))
    if not windows:
        return
    earliest = min(window[0] for window in windows.values())
    latest = max(window[1] for window in windows.values())
    clicks = (
        person_clicks.filter(
            tracking__application__in=list(windows),
            clicked_at__gte=earliest,
            clicked_at__lt=latest,
        )
        .order_by("clicked_at", "click_id")
        .values_list(
            "tracking__application_id",
            "clicked_at",
            "tracking_id",
            "tracking__link_function",
            "click_source",
            "metadata",
        )
    )
    for app_id, clicked_at, tracking_id, function, source, metadata in clicks.iterator(
        chunk_size=2000
    ):
        low, high = windows[app_id]
        if clicked_at is None or not low <= clicked_at < high:
            continue
        outcome = outcomes[app_id]
        meta = metadata if isinstance(metadata, dict) else {}
        outcome.touches.append(
            Touch(
                clicked_at=clicked_at,
                values={
                    "link_function": function,
                    "click_source": source or "",
                    "link": tracking_id,
                    "job": outcome.job_title,
                    "company": outcome.company,
                    "utm_campaign": _text(meta.get("utm_campaign")),
                    "utm_source": _text(meta.get("utm_source")),
                    "utm_medium": _text(meta.get("utm_medium")),
                },
            )
        )


def _text(value: Any) -> str:
    return value[:200] if isinstance(value, str) else ""


# --- Attribution ------------------------------------------------------------------------------


def weights(model: str, ages: list[dt.timedelta], *, half_life: dt.timedelta) -> list[float]:
    """Each touch's share of one conversion, touches oldest first (``ages``: before the stage)."""
    n = len(ages)
    if n == 0:
        return []
    if model == "first_touch":
        return [1.0] + [0.0] * (n - 1)
    if model == "last_touch":
        return [0.0] * (n - 1) + [1.0]
    if model == "linear":
        return [1.0 / n] * n
    if model == "time_decay":
        raw = [2 ** -(age / half_life) for age in ages]
        total = sum(raw)
        return [value / total for value in raw]
    if model == "position_based":
        if n <= 2:
            return [1.0 / n] * n
        middle = (1 - 2 * POSITION_ENDS) / (n - 2)
        return [POSITION_ENDS] + [middle] * (n - 2) + [POSITION_ENDS]
    raise ValueError(f"unknown attribution model {model!r}")


def touches_before(outcome: ApplicationOutcome, stage: str, lookback: dt.timedelta) -> list[Touch]:
    reached = outcome.stages[stage]
    if reached is None:
        return []
    return [t for t in outcome.touches if reached - lookback <= t.clicked_at < reached]


def attribution(
    outcomes: Iterable[ApplicationOutcome],
    model: str,
    *,
    stage: str = INTERVIEW,
    lookback: dt.timedelta | None = None,
    half_life: dt.timedelta | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Credit for ``stage`` by each dimension: ``{dimension: [{dimension: value, "credit": x,
    "conversions": n}, …]}``, largest credit first. Conversions whose window holds no person
    click are not credited to anything (they count in the funnel, not here)."""
    if model not in MODELS:
        raise ValueError(f"unknown attribution model {model!r}")
    lookback = lookback or dt.timedelta(days=settings.OUTCOME_LOOKBACK_DAYS)
    half_life = half_life or dt.timedelta(days=settings.OUTCOME_HALF_LIFE_DAYS)
    credit: dict[str, dict[str, float]] = {d: defaultdict(float) for d in DIMENSIONS}
    conversions: dict[str, dict[str, set[uuid.UUID]]] = {d: defaultdict(set) for d in DIMENSIONS}
    for outcome in outcomes:
        touches = touches_before(outcome, stage, lookback)
        reached = outcome.stages[stage]
        if not touches or reached is None:
            continue
        shares = weights(model, [reached - t.clicked_at for t in touches], half_life=half_life)
        for touch, share in zip(touches, shares, strict=True):
            if not share:
                continue  # first/last touch: the others take no part in this conversion
            for dimension in DIMENSIONS:
                value = touch.values[dimension]
                if not value:
                    continue  # no UTM tag: nothing to credit on that dimension
                credit[dimension][value] += share
                conversions[dimension][value].add(outcome.id)
    return {
        dimension: [
            {
                dimension: value,
                "credit": round(total, 4),
                "conversions": len(conversions[dimension][value]),
            }
            for value, total in sorted(credit[dimension].items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        for dimension in DIMENSIONS
    }


# --- Funnel, rates, timings, follow-ups -------------------------------------------------------


def funnel(outcomes: list[ApplicationOutcome]) -> list[dict[str, Any]]:
    """Applications → opened by a person → responded → interview → offer, with rates of the
    applications (``None`` when there are none)."""
    total = len(outcomes)
    counts = [
        ("applications", total),
        ("opened", sum(1 for o in outcomes if o.first_person_click)),
        *((stage, sum(1 for o in outcomes if o.stages[stage])) for stage in CREDITED_STAGES),
    ]
    return [
        {"stage": name, "count": count, "rate": round(count / total, 4) if total else None}
        for name, count in counts
    ]


def opened_vs_interview(outcomes: list[ApplicationOutcome], dimension: str) -> list[dict[str, Any]]:
    """Per value of ``dimension`` (link function, click source, A/B variant): the applications where a person
    opened such a link, how many of them reached an interview, the rate and whether the sample is
    too small to trust (fewer than :data:`SMALL_SAMPLE`)."""
    opened: dict[str, set[uuid.UUID]] = defaultdict(set)
    for outcome in outcomes:
        for value in outcome.opened[dimension]:
            opened[value].add(outcome.id)
    by_id = {o.id: o for o in outcomes}
    rows = []
    for value, ids in opened.items():
        interviews = sum(1 for i in ids if by_id[i].stages[INTERVIEW])
        rows.append(
            {
                dimension: value,
                "opened": len(ids),
                "interview": interviews,
                "rate": round(interviews / len(ids), 4),
                "small_sample": len(ids) < SMALL_SAMPLE,
            }
        )
    return sorted(rows, key=lambda row: (-row["opened"], row[dimension]))


def _median_hours(values: list[dt.timedelta]) -> float | None:
    if not values:
        return None
    return round(statistics.median(v.total_seconds() for v in values) / 3600, 2)


def median_timings(outcomes: list[ApplicationOutcome]) -> dict[str, Any]:
    """Median hours from sending to the first person click, and from that click to the response
    (applications whose response came after a person click), with their sample sizes."""
    to_click = [o.first_person_click - o.sent_at for o in outcomes if o.first_person_click]
    to_response = []
    for o in outcomes:
        first, responded = o.first_person_click, o.stages[RESPONDED]
        if first is not None and responded is not None and responded >= first:
            to_response.append(responded - first)
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
    rows = []
    for o in outcomes:
        waited = now - o.sent_at
        if (
            o.touches
            or o.stages[RESPONDED]
            or o.status in _CLOSED
            or waited < dt.timedelta(days=days)
        ):
            continue
        rows.append(
            {
                "application_id": str(o.id),
                "job": o.job_title,
                "company": o.company,
                "status": o.status,
                "sent_at": o.sent_at.isoformat(),
                "days_waiting": waited.days,
            }
        )
    return sorted(rows, key=lambda row: row["sent_at"])


def outcomes_report(
    period: Period,
    *,
    model: str = "linear",
    stage: str = INTERVIEW,
    follow_up_days: int = FOLLOW_UP_DAYS,
) -> dict[str, Any]:
    """Everything the outcomes page and API show, for applications sent in ``period``."""
    outcomes = application_outcomes(period)
    return {
        "model": model,
        "stage": stage,
        "lookback_days": settings.OUTCOME_LOOKBACK_DAYS,
        "half_life_days": settings.OUTCOME_HALF_LIFE_DAYS,
        "funnel": funnel(outcomes),
        "by_link_function": opened_vs_interview(outcomes, "link_function"),
        "by_click_source": opened_vs_interview(outcomes, "click_source"),
        "by_variant": opened_vs_interview(outcomes, "variant"),
        "attribution": attribution(outcomes, model, stage=stage),
        "timings": median_timings(outcomes),
        "follow_up": follow_up_candidates(outcomes, days=follow_up_days),
    }
