"""What a figure is about: a period, the links in scope, and whether automated clicks count.

Every query in :mod:`analytics.queries` and every count in :mod:`analytics.counting` takes one
:class:`Selection` instead of six keyword arguments:

- a :class:`Period` bounds ``clicked_at`` as ``start <= t < end`` (aware datetimes; ``None``
  leaves that side open). :meth:`Period.for_days` and :meth:`Period.for_dates` build one from
  local days, so "the last 7 days" means today and the six whole days before it in ``TIME_ZONE``;
  both refuse days outside :mod:`tracking.periods`' bounds (2000-01-01 to tomorrow, ten years);
- a :class:`Scope` names the links (all, one link, a job's, an application's);
- ``include_automated=False`` counts people only in ``total_clicks`` and ``unique_sessions``.

A click is *human* when its classification is ``human``; it is *automated* when classified
``bot``, ``scanner``, ``preview`` or ``owner``; it is *unclassified* while its classification is
still NULL (a click stored by plain SQL from an external domain, until the classification pass of
:mod:`tracking.clicks.unclassified` judges it, within a minute). Unclassified clicks are never
counted as people: they count in ``unclassified_clicks``, and in ``total_clicks`` only when
automated clicks are included.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from django.db.models import Q

from analytics.models import ScopeKind
from tracking.models import Classification
from tracking.periods import check_dates, check_days, local_midnight, today
from tracking.periods import local_tz as local_tz  # analytics reads local days from here

# A click not yet classified is nobody yet: counting it as a person would announce a recruiter for
# what is often a scanner (seed 000's INSERT carries no classification); the pass judges it soon.
HUMAN = Q(classification=Classification.HUMAN)
AUTOMATED = Q(classification__isnull=False) & ~Q(classification=Classification.HUMAN)
UNCLASSIFIED = Q(classification__isnull=True)
# Everything but people: what "all sessions" adds to people's sessions.
NOT_HUMAN = AUTOMATED | UNCLASSIFIED


# --- Periods --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """``[start, end)`` over ``clicked_at``; ``None`` leaves a side open."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def __iter__(self) -> Iterator[dt.datetime | None]:
        """``start, end = period`` reads both ends."""
        return iter((self.start, self.end))

    @classmethod
    def for_dates(cls, first: dt.date, last: dt.date) -> Period:
        """Whole local days ``first``..``last`` (inclusive); RangeError when out of bounds."""
        check_dates(first, last)
        return cls(local_midnight(first), local_midnight(last + dt.timedelta(days=1)))

    @classmethod
    def for_days(cls, days: int, *, until: dt.date | None = None) -> Period:
        """Today (or ``until``) and the ``days - 1`` whole local days before it.

        The end is the next local midnight rather than "now", so a click stamped a few seconds
        ahead by an external domain's clock (accepted within CLICK_FUTURE_SKEW_SECONDS) still
        counts today.
        """
        check_days(days)
        last = until or today()
        return cls.for_dates(last - dt.timedelta(days=days - 1), last)


EVER = Period()


# --- Links ----------------------------------------------------------------------------------


def next_month(month: dt.date) -> dt.date:
    """The first day of the month after ``month`` (a first day)."""
    return (month + dt.timedelta(days=32)).replace(day=1)


def prefixed(condition: Q, prefix: str) -> Q:
    """``condition`` rewritten for use through a relation (``prefix`` such as ``tracking__``)."""
    children: list[Any] = []
    for child in condition.children:
        if isinstance(child, Q):
            children.append(prefixed(child, prefix))
        else:
            name, value = cast(tuple[str, Any], child)
            children.append((f"{prefix}{name}", value))
    return Q(*children, _connector=condition.connector, _negated=condition.negated)


@dataclass(frozen=True)
class Scope:
    """The links a figure is about; no field set means every link."""

    tracking_id: str | None = None
    job_id: Any = None
    application_id: Any = None
    active_only: bool = False

    def q(self) -> Q:
        """The scope as a condition on ``TrackedLink``."""
        condition = Q()
        if self.tracking_id is not None:
            condition &= Q(tracking_id=self.tracking_id)
        if self.job_id is not None:
            condition &= Q(job_id=self.job_id)
        if self.application_id is not None:
            condition &= Q(application_id=self.application_id)
        if self.active_only:
            condition &= Q(is_active=True) | Q(is_active__isnull=True)
        return condition

    def daily_sessions(self) -> Q | None:
        """Its rows in ``DailyScopeSessions``, or None when that table has no such scope."""
        given = {
            name: value
            for name, value in (
                ("tracking_id", self.tracking_id),
                ("job_id", self.job_id),
                ("application_id", self.application_id),
            )
            if value is not None
        }
        if self.active_only or len(given) > 1:
            return None
        if not given:
            return Q(kind=ScopeKind.ALL)
        kinds = {"tracking_id": ScopeKind.LINK, "job_id": ScopeKind.JOB}
        [(name, value)] = given.items()
        return Q(kind=kinds.get(name, ScopeKind.APPLICATION), **{name: value})


EVERYTHING = Scope()
# A link counts as active unless explicitly deactivated (``is_active`` is nullable in the seed).
ACTIVE_LINK = Scope(active_only=True).q()


# --- Both, and the automated clicks ---------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The clicks a figure counts: a period, the links in scope, people only or everyone."""

    period: Period = EVER
    scope: Scope = EVERYTHING
    include_automated: bool = False

    @classmethod
    def of(
        cls,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        include_automated: bool = False,
        tracking_id: str | None = None,
        job_id: Any = None,
        application_id: Any = None,
    ) -> Selection:
        """A selection from loose values (query parameters, a test's figures)."""
        scope = Scope(tracking_id=tracking_id, job_id=job_id, application_id=application_id)
        return cls(Period(start, end), scope, include_automated)

    @property
    def start(self) -> dt.datetime | None:
        return self.period.start

    @property
    def end(self) -> dt.datetime | None:
        return self.period.end

    def within(self, scope: Scope) -> Selection:
        """The same period and counting rule over other links."""
        return dataclasses.replace(self, scope=scope)


# People's clicks on every link at any time: what a query counts when given no selection.
PEOPLE_ANYTIME = Selection()
