"""Each application's outcome figures from its person clicks: the building blocks of the outcomes.

An application's *sending* is its ``submitted_at`` (set when it moves to submitted without one),
else its creation; the stages it reached come from its status history
(:mod:`tracking.stages`).

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

Every figure is computed per application (:func:`application_credit`, :func:`opened_values`) and
then added up in a :class:`Tally`: the same sums whether an application's figures come from its raw
clicks or from its stored summary (:mod:`analytics.outcome_summaries`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings
from django.db.models import F, Min, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce

from analytics.selection import HUMAN, Period
from tracking.models import (
    ApplicationStatusHistory,
    JobApplication,
    LinkClick,
    LinkRule,
    RuleType,
)
from tracking.routing import ROUTED_KEY
from tracking.stages import INTERVIEW, OFFER, RESPONDED, stage_of_status, stages_reached

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
# The dimensions of "applications where a person opened it".
OPENED_DIMENSIONS: Final = ("link_function", "click_source", "link", "variant")
# The job seeker's own clicks: opened from the dashboard or sent as tests, never a recruiter.
OWNER_SOURCES: Final = ("dashboard", "test")
PERSON_CLICK = HUMAN & ~Q(click_source__in=OWNER_SOURCES)
POSITION_ENDS: Final = 0.4

Key = tuple[str, str]  # (dimension, value)


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
    # Link functions, click sources and links of the person clicks after sending.
    # (Filled only when read raw: a summarised application's are summed by the database.)
    opened: dict[str, set[str]] = field(default_factory=dict)
    # The person clicks that may earn credit: those of an application that reached a credited
    # stage, in the lookback window before its last one.
    touches: list[Touch] = field(default_factory=list)


def lookback_setting() -> dt.timedelta:
    return dt.timedelta(days=settings.OUTCOME_LOOKBACK_DAYS)


def half_life_setting() -> dt.timedelta:
    return dt.timedelta(days=settings.OUTCOME_HALF_LIFE_DAYS)


# --- Reading ----------------------------------------------------------------------------------


def sent_between(start: dt.datetime | None, end: dt.datetime | None) -> QuerySet[JobApplication]:
    """The applications sent in ``[start, end)`` (either end open), annotated with ``sent``."""
    candidates = JobApplication.objects.annotate(sent=Coalesce(F("submitted_at"), F("created_at")))
    if start is not None:
        candidates = candidates.filter(sent__gte=start)
    if end is not None:
        candidates = candidates.filter(sent__lt=end)
    return candidates


def read_applications(
    candidates: QuerySet[JobApplication],
) -> dict[uuid.UUID, ApplicationOutcome]:
    """``candidates`` with their job and the stages their history reached, oldest first."""
    applications = candidates.order_by("created_at", "id").values_list(
        "id", "job__title", "job__company_name", "status", "submitted_at", "created_at"
    )
    history: dict[uuid.UUID, list[tuple[str, dt.datetime]]] = defaultdict(list)
    for app_id, status, changed_at in (
        ApplicationStatusHistory.objects.filter(application__in=candidates.values("pk"))
        .values_list("application_id", "to_status", "changed_at")
        .order_by("changed_at", "id")
    ):
        history[app_id].append((status, changed_at))
    mapping = stage_of_status()  # once: it parses the setting
    return {
        app_id: ApplicationOutcome(
            id=app_id,
            job_title=title,
            company=company,
            status=status,
            sent_at=submitted_at or created_at,
            stages=stages_reached(history.get(app_id, []), mapping),
        )
        for app_id, title, company, status, submitted_at, created_at in applications
    }


def person_clicks_after_sending(ids: Any) -> QuerySet[LinkClick]:
    """Person clicks on the links of applications ``ids`` (a list or a subquery), after their
    sending: before it, it is the job seeker checking the link."""
    return LinkClick.objects.filter(
        PERSON_CLICK,
        tracking__application__in=ids,
        clicked_at__gte=Coalesce(
            F("tracking__application__submitted_at"), F("tracking__application__created_at")
        ),
    )


def read_person_clicks(
    outcomes: dict[uuid.UUID, ApplicationOutcome],
    ids: Any,
    lookback: dt.timedelta,
    *,
    clicks: QuerySet[Any] | None = None,
) -> None:
    """Fill in the first person click, what people opened and the touches of ``outcomes``.

    ``ids`` selects the same applications (a list or a subquery). A handful of queries whatever
    the number of applications and clicks: aggregated by the database, each one's first person
    click and the link functions, sources and links people opened; then the clicks themselves
    only for the applications that reached a credited stage, in the lookback window before it.
    ``clicks``: those applications' person clicks after the sending, already found (a copy,
    :mod:`analytics.outcome_clicks`); by default they are read from ``link_clicks``.
    """
    person_clicks = person_clicks_after_sending(ids) if clicks is None else clicks
    app = "tracking__application_id"
    for app_id, first in person_clicks.values_list(app).annotate(first=Min("clicked_at")):
        outcomes[app_id].first_person_click = first
    for dimension, column in (
        ("link_function", "tracking__link_function"),
        ("click_source", "click_source"),
        ("link", "tracking_id"),
    ):
        # No ordering: the model's default (clicked_at) would join the DISTINCT and return
        # every click.
        for app_id, value in person_clicks.order_by().values_list(app, column).distinct():
            if value:
                outcomes[app_id].opened.setdefault(dimension, set()).add(value)
    _read_variants(person_clicks, outcomes)
    _read_touches(person_clicks, outcomes, lookback)


def variant_name(rule: LinkRule) -> str:
    """What an A/B variant is called across links: its name, else its destination (the same
    version of a portfolio on the links of several applications adds up)."""
    return (rule.name or rule.destination_url)[:200]  # the summaries keep values of 300 at most


def _read_variants(
    person_clicks: QuerySet[Any], outcomes: dict[uuid.UUID, ApplicationOutcome]
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
            outcomes[app_id].opened.setdefault("variant", set()).add(names[str(rule)])


def application_outcomes(
    period: Period, *, lookback: dt.timedelta | None = None
) -> list[ApplicationOutcome]:
    """Every application sent in ``period`` with its stages and person clicks, read from the raw
    clicks, oldest first."""
    candidates = sent_between(*period)
    outcomes = read_applications(candidates)
    read_person_clicks(outcomes, candidates.values("pk"), lookback or lookback_setting())
    return list(outcomes.values())


def _read_touches(
    person_clicks: QuerySet[Any],
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


# --- One application's figures ----------------------------------------------------------------


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


def application_credit(
    outcome: ApplicationOutcome,
    stage: str,
    model: str,
    *,
    lookback: dt.timedelta,
    half_life: dt.timedelta,
) -> dict[Key, float]:
    """This application's conversion at ``stage`` shared out by ``model``: the credit of each
    dimension value that took part (a share above zero); empty when it did not reach the stage
    or no person click came in the window before."""
    if model not in MODELS:
        raise ValueError(f"unknown attribution model {model!r}")
    reached = outcome.stages[stage]
    touches = touches_before(outcome, stage, lookback)
    if reached is None or not touches:
        return {}
    credit: dict[Key, float] = defaultdict(float)
    shares = weights(model, [reached - t.clicked_at for t in touches], half_life=half_life)
    for touch, share in zip(touches, shares, strict=True):
        if not share:
            continue  # first/last touch: the others take no part in this conversion
        for dimension in DIMENSIONS:
            value = touch.values[dimension]
            if value:  # no UTM tag: nothing to credit on that dimension
                credit[(dimension, value)] += share
    return dict(credit)


def opened_values(outcome: ApplicationOutcome) -> list[Key]:
    """The link functions, click sources and links a person opened after the sending."""
    opened = outcome.opened
    return [(d, value) for d in OPENED_DIMENSIONS for value in sorted(opened.get(d, ()))]


# --- Adding up --------------------------------------------------------------------------------


@dataclass
class Tally:
    """Sums over applications: per dimension value, the credit and the conversions it took part
    in; the applications where a person opened it and how many of them reached an interview."""

    credit: dict[Key, float] = field(default_factory=lambda: defaultdict(float))
    conversions: dict[Key, int] = field(default_factory=lambda: defaultdict(int))
    opened: dict[Key, int] = field(default_factory=lambda: defaultdict(int))
    interview: dict[Key, int] = field(default_factory=lambda: defaultdict(int))
    # Per dimension, the credited values left out of ``credit`` because they cannot be among the
    # rows shown (:func:`analytics.outcome_summaries.read` with a limit): counted, not summed.
    unread: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add_credit(self, key: Key, credit: float, conversions: int) -> None:
        self.credit[key] += credit
        self.conversions[key] += conversions

    def add_opened(self, key: Key, opened: int, interview: int) -> None:
        self.opened[key] += opened
        self.interview[key] += interview

    def add_application(
        self,
        outcome: ApplicationOutcome,
        stage: str,
        model: str,
        *,
        lookback: dt.timedelta,
        half_life: dt.timedelta,
    ) -> None:
        """One application read from its raw clicks."""
        credit = application_credit(outcome, stage, model, lookback=lookback, half_life=half_life)
        for key, share in credit.items():
            self.add_credit(key, share, 1)
        interview = int(outcome.stages[INTERVIEW] is not None)
        for key in opened_values(outcome):
            self.add_opened(key, 1, interview)

    def attribution(self, limit: int | None = None) -> dict[str, list[dict[str, Any]]]:
        """``{dimension: [{dimension: value, "credit": x, "conversions": n}, …]}``, largest
        credit first (ties by value); the first ``limit`` rows of each dimension when given."""
        rows: dict[str, list[dict[str, Any]]] = {dimension: [] for dimension in DIMENSIONS}
        ordered = sorted(self.credit.items(), key=lambda kv: (-kv[1], kv[0][1]))
        for (dimension, value), total in ordered:
            if dimension in rows and self.conversions[(dimension, value)]:
                if limit is not None and len(rows[dimension]) >= limit:
                    continue
                rows[dimension].append(
                    {
                        dimension: value,
                        "credit": round(total, 4),
                        "conversions": self.conversions[(dimension, value)],
                    }
                )
        return rows

    def attribution_totals(self) -> dict[str, int]:
        """How many values of each dimension earned credit, those left unread included."""
        totals = dict.fromkeys(DIMENSIONS, 0)
        for (dimension, _value), conversions in self.conversions.items():
            if dimension in totals and conversions:
                totals[dimension] += 1
        for dimension, count in self.unread.items():
            totals[dimension] += count
        return totals


def attribution(
    outcomes: Iterable[ApplicationOutcome],
    model: str,
    *,
    stage: str = INTERVIEW,
    lookback: dt.timedelta | None = None,
    half_life: dt.timedelta | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Credit for ``stage`` by each dimension, from outcomes read raw (see :meth:`Tally.attribution`).
    Conversions whose window holds no person click are not credited to anything (they count in
    the funnel, not here)."""
    if model not in MODELS:
        raise ValueError(f"unknown attribution model {model!r}")
    tally = Tally()
    for outcome in outcomes:
        tally.add_application(
            outcome,
            stage,
            model,
            lookback=lookback or lookback_setting(),
            half_life=half_life or half_life_setting(),
        )
    return tally.attribution()
