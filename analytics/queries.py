"""Read-side analytics: plain functions returning JSON-ready dicts and lists.

One implementation serves the dashboard and the API. Conventions shared by every function:

- ``start`` / ``end`` are aware datetimes bounding ``clicked_at`` as ``start <= t < end``; ``None``
  leaves that side open. :func:`period_for_days` and :func:`period_for_dates` build them from local
  days, so "the last 7 days" means today and the six whole days before it in ``TIME_ZONE``.
- ``include_automated=False`` (the default) counts people only. A click is *human* when its
  classification is ``human`` or still NULL (not yet classified: clicks stored by plain SQL from an
  external domain, or waiting for the writer); it is *automated* when classified ``bot``,
  ``scanner`` or ``preview``. ``human_clicks`` and ``automated_clicks`` are always reported side
  by side whatever ``include_automated`` says; ``total_clicks`` and ``unique_sessions`` follow it.
- Storage is UTC; day and hour buckets are cut in ``settings.TIME_ZONE``. Datetimes are returned
  as ISO 8601 strings in UTC.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Iterator
from typing import Any, TypedDict

from django.conf import settings
from django.db.models import Count, F, Max, Min, QuerySet

from analytics import counting
from analytics.counting import (
    AUTOMATED,
    EVERYTHING,
    HUMAN,
    Scope,
    local_midnight,
    local_tz,
    today,
)
from tracking.models import Classification, Job, JobApplication, LinkClick, TrackedLink

TIMELINE_LIMIT = 50
TOP_LIMIT = 10
# The journey lists individual clicks; past this many, the CSV export has them all.
JOURNEY_CLICK_LIMIT = 300
UNKNOWN = "unknown"
UNCLASSIFIED = "unclassified"
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

__all__ = ["AUTOMATED", "HUMAN", "local_midnight", "local_tz", "today"]  # re-exported helpers
# A link counts as active unless explicitly deactivated (``is_active`` is nullable in the seed).
ACTIVE_LINK = Scope(active_only=True).q()


class Period(TypedDict):
    start: dt.datetime | None
    end: dt.datetime | None
    include_automated: bool


# --- Periods --------------------------------------------------------------------------------


def period_for_dates(first: dt.date, last: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Whole local days ``first``..``last`` (inclusive) as a ``[start, end)`` pair."""
    return local_midnight(first), local_midnight(last + dt.timedelta(days=1))


def period_for_days(days: int, *, until: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """Today (or ``until``) and the ``days - 1`` whole local days before it.

    The end is the next local midnight rather than "now", so a click stamped a few seconds ahead
    by an external domain's clock (accepted within CLICK_FUTURE_SKEW_SECONDS) still counts today.
    """
    last = until or today()
    return period_for_dates(last - dt.timedelta(days=days - 1), last)


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value else None


def _local_day(value: dt.datetime) -> dt.date:
    return value.astimezone(local_tz()).date()


# --- Building blocks ------------------------------------------------------------------------


def clicks_in(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    tracking_id: str | None = None,
    job_id: Any = None,
    application_id: Any = None,
    include_automated: bool = True,
) -> QuerySet[LinkClick]:
    """Clicks in ``[start, end)``, optionally of one link, job or application, unordered."""
    qs = LinkClick.objects.order_by()
    if start is not None:
        qs = qs.filter(clicked_at__gte=start)
    if end is not None:
        qs = qs.filter(clicked_at__lt=end)
    if tracking_id is not None:
        qs = qs.filter(tracking_id=tracking_id)
    if job_id is not None:
        qs = qs.filter(tracking__job_id=job_id)
    if application_id is not None:
        qs = qs.filter(tracking__application_id=application_id)
    if not include_automated:
        qs = qs.filter(HUMAN)
    return qs


def link_scope(
    *, tracking_id: str | None = None, job_id: Any = None, application_id: Any = None
) -> Scope:
    """The links a view is about."""
    return Scope(tracking_id=tracking_id, job_id=job_id, application_id=application_id)


def _counts(row: dict[str, Any], include_automated: bool) -> dict[str, int]:
    human = row.get("human_clicks") or 0
    automated = row.get("automated_clicks") or 0
    numbers = {"total_clicks": human + automated if include_automated else human}
    if "unique_sessions" in row:
        numbers["unique_sessions"] = row["unique_sessions"] or 0
    return {**numbers, "human_clicks": human, "automated_clicks": automated}


def _zero_counts() -> dict[str, int]:
    return {"total_clicks": 0, "unique_sessions": 0, "human_clicks": 0, "automated_clicks": 0}


def _totals(
    *,
    start: dt.datetime | None,
    end: dt.datetime | None,
    include_automated: bool,
    scope: Scope = EVERYTHING,
) -> dict[str, int]:
    rows = counting.count_by(
        None, start=start, end=end, include_automated=include_automated, scope=scope
    )
    return _counts(rows[None], include_automated)


def _grouped(
    key: str,
    *,
    start: dt.datetime | None,
    end: dt.datetime | None,
    include_automated: bool,
    scope: Scope = EVERYTHING,
    sessions: bool = True,
) -> dict[Any, dict[str, int]]:
    """Counts (and unique sessions) per day, link, link function, job or application."""
    rows = counting.count_by(
        key,
        start=start,
        end=end,
        include_automated=include_automated,
        scope=scope,
        sessions=sessions,
    )
    return {k: _counts(row, include_automated) for k, row in rows.items()}


def _broken_down(
    dimension: str,
    *,
    start: dt.datetime | None,
    end: dt.datetime | None,
    include_automated: bool,
    scope: Scope,
) -> dict[Any, dict[str, int]]:
    rows = counting.breakdown(dimension, start=start, end=end, scope=scope)
    return {k: _counts(row, include_automated) for k, row in rows.items()}


def _ranked(
    counts: dict[Any, dict[str, int]], label: str, *, default: str = UNKNOWN
) -> list[dict[str, Any]]:
    """Rows ``{label: value, **counts}`` without empty ones, most clicks first."""
    rows: list[dict[str, Any]] = [
        {label: value if value not in (None, "") else default, **numbers}
        for value, numbers in counts.items()
        if numbers["total_clicks"] or numbers["automated_clicks"]
    ]
    rows.sort(key=lambda r: (-r["total_clicks"], -r["automated_clicks"], str(r[label])))
    return rows


def _job_dict(job: Job) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "title": job.title,
        "company_name": job.company_name,
        "posting_url": job.posting_url,
        "apply_url": job.apply_url,
        "location": job.location,
        "created_at": _iso(job.created_at),
    }


def _application_dict(application: JobApplication) -> dict[str, Any]:
    return {
        "id": str(application.id),
        "job_id": str(application.job_id),
        "status": application.status,
        "submitted_at": _iso(application.submitted_at),
        "contact_name": application.contact_name,
        "created_at": _iso(application.created_at),
    }


def _click_dict(click: LinkClick) -> dict[str, Any]:
    return {
        "click_id": str(click.click_id),
        "tracking_id": click.tracking_id,
        "clicked_at": _iso(click.clicked_at),
        "click_source": click.click_source,
        "ip_address": click.ip_address,
        "referrer_url": click.referrer_url,
        "session_id": click.session_id,
        "metadata": click.metadata or {},
        "classification": click.classification,
        "classification_reasons": click.classification_reasons or [],
        "device_type": click.device_type,
        "browser": click.browser,
        "os": click.os,
    }


# --- Link, job and performance report (the seed's queries 3, 4 and 5) ------------------------


def link_analytics(
    tracking_id: str,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
) -> dict[str, Any] | None:
    """Link info, click statistics and the latest clicks of one link; ``None`` if no such link."""
    link = TrackedLink.objects.filter(tracking_id=tracking_id).first()
    if link is None:
        return None
    period: Period = {"start": start, "end": end, "include_automated": include_automated}
    scope = link_scope(tracking_id=tracking_id)
    scoped = clicks_in(
        start=start, end=end, tracking_id=tracking_id, include_automated=include_automated
    )
    stats = _totals(**period, scope=scope)
    # Index (tracking_id, clicked_at): both ends and the latest clicks without a scan.
    bounds = scoped.aggregate(first_click=Min("clicked_at"), last_click=Max("clicked_at"))
    by_source = _broken_down("click_source", **period, scope=scope)
    timeline = scoped.order_by("-clicked_at", "-click_id")[:TIMELINE_LIMIT]
    return {
        "link_info": link.to_dict(),
        "click_statistics": {
            **stats,
            "first_click": _iso(bounds["first_click"]),
            "last_click": _iso(bounds["last_click"]),
            "by_source": {
                row["click_source"]: row["total_clicks"]
                for row in _ranked(by_source, "click_source")
            },
            # Always every class, so the automated traffic stays visible beside the people.
            "by_classification": _classification_counts(start=start, end=end, scope=scope),
        },
        "click_timeline": [_click_dict(click) for click in timeline],
    }


def _classification_counts(
    *, start: dt.datetime | None, end: dt.datetime | None, scope: Scope
) -> dict[str, int]:
    rows = counting.breakdown("classification", start=start, end=end, scope=scope)
    counts = {
        (value or UNCLASSIFIED): row["human_clicks"] + row["automated_clicks"]
        for value, row in rows.items()
    }
    return {name: n for name, n in counts.items() if n}


def _function_rows(
    scope: Scope, *, start: dt.datetime | None, end: dt.datetime | None, include_automated: bool
) -> list[dict[str, Any]]:
    """Per link function of the links in ``scope``: links and their clicks, most clicked first."""
    click_counts = _grouped(
        "link_function", start=start, end=end, include_automated=include_automated, scope=scope
    )
    return _function_table(scope, click_counts)


def _function_table(scope: Scope, click_counts: dict[Any, dict[str, int]]) -> list[dict[str, Any]]:
    link_counts = {
        row["link_function"]: row["n"]
        for row in TrackedLink.objects.filter(scope.q())
        .order_by()
        .values("link_function")
        .annotate(n=Count("tracking_id"))
    }
    rows = [
        {
            "link_function": function,
            "link_count": count,
            **click_counts.get(function, _zero_counts()),
        }
        for function, count in link_counts.items()
    ]
    rows.sort(key=lambda r: (-r["total_clicks"], -r["automated_clicks"], r["link_function"]))
    return rows


def job_link_summary(
    job_id: Any,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
) -> dict[str, Any] | None:
    """The job and its active links by function (the seed's query 4); ``None`` if no such job."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return None
    scope = Scope(job_id=job.pk, active_only=True)
    links = TrackedLink.objects.filter(scope.q())
    return {
        "job": {
            **_job_dict(job),
            "application_count": job.applications.count(),
            "link_count": TrackedLink.objects.filter(job_id=job.pk).count(),
            "active_link_count": links.count(),
        },
        "link_functions": _function_rows(
            scope, start=start, end=end, include_automated=include_automated
        ),
    }


def performance_report(*, days: int = 30, include_automated: bool = False) -> dict[str, Any]:
    """Overall figures, link functions and daily trends over today and the previous days."""
    start, end = period_for_days(days)
    links = TrackedLink.objects.all()
    # The three parts share one read of the raw clicks the rollups do not cover yet (today).
    counted = counting.count_by_keys(
        [None, "link_function", "day"], start=start, end=end, include_automated=include_automated
    )
    grouped = {
        key: {k: _counts(row, include_automated) for k, row in rows.items()}
        for key, rows in counted.items()
    }
    return {
        "period": {
            "days": days,
            "start": _iso(start),
            "end": _iso(end),
            "time_zone": settings.TIME_ZONE,
        },
        "overall_statistics": {
            "total_links": links.count(),
            "active_links": links.filter(ACTIVE_LINK).count(),
            **grouped[None][None],
        },
        "function_performance": _function_table(EVERYTHING, grouped["link_function"]),
        "daily_trends": _every_day(grouped["day"], start=start, end=end),
    }


# --- Breakdowns for the dashboard ------------------------------------------------------------


def overview_totals(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
) -> dict[str, Any]:
    """Headline numbers: clicks (people and automated), sessions, links, jobs, applications."""
    return {
        **_totals(start=start, end=end, include_automated=include_automated),
        "links": TrackedLink.objects.count(),
        "active_links": TrackedLink.objects.filter(ACTIVE_LINK).count(),
        "jobs": Job.objects.count(),
        "applications": JobApplication.objects.count(),
    }


def click_totals(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
    tracking_id: str | None = None,
    job_id: Any = None,
    application_id: Any = None,
) -> dict[str, int]:
    """Clicks (people, automated) and unique sessions of a link, job, application or all."""
    scope = link_scope(tracking_id=tracking_id, job_id=job_id, application_id=application_id)
    return _totals(start=start, end=end, include_automated=include_automated, scope=scope)


def daily_clicks(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
    tracking_id: str | None = None,
    job_id: Any = None,
    application_id: Any = None,
) -> list[dict[str, Any]]:
    """One row per local day of the period (days without clicks included, as zeros)."""
    scope = link_scope(tracking_id=tracking_id, job_id=job_id, application_id=application_id)
    per_day = _grouped(
        "day", start=start, end=end, include_automated=include_automated, scope=scope
    )
    return _every_day(per_day, start=start, end=end)


def _every_day(
    per_day: dict[Any, dict[str, int]], *, start: dt.datetime | None, end: dt.datetime | None
) -> list[dict[str, Any]]:
    """The per-day rows from ``start`` to ``end``, days without clicks as zeros."""
    if not per_day and (start is None or end is None):
        return []
    first = _local_day(start) if start is not None else min(per_day)
    # ``end`` is exclusive: the last day shown is the one holding the instant just before it.
    last = _local_day(end - dt.timedelta(microseconds=1)) if end is not None else max(per_day)
    days: list[dict[str, Any]] = []
    day = first
    while day <= last:
        days.append({"date": day.isoformat(), **per_day.get(day, _zero_counts())})
        day += dt.timedelta(days=1)
    return days


def clicks_by_function(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
    job_id: Any = None,
    application_id: Any = None,
) -> list[dict[str, Any]]:
    """Links and clicks per link function (every function that has a link)."""
    scope = link_scope(job_id=job_id, application_id=application_id)
    return _function_rows(scope, start=start, end=end, include_automated=include_automated)


def clicks_by_source(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
    tracking_id: str | None = None,
    job_id: Any = None,
    application_id: Any = None,
) -> list[dict[str, Any]]:
    scope = link_scope(tracking_id=tracking_id, job_id=job_id, application_id=application_id)
    counts = _broken_down(
        "click_source", start=start, end=end, include_automated=include_automated, scope=scope
    )
    return _ranked(counts, "click_source")


def clicks_by_classification(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
    tracking_id: str | None = None,
    job_id: Any = None,
    application_id: Any = None,
) -> list[dict[str, Any]]:
    """Clicks per class. Automated classes are listed even when ``include_automated`` is off."""
    scope = link_scope(tracking_id=tracking_id, job_id=job_id, application_id=application_id)
    counts = _classification_counts(start=start, end=end, scope=scope)
    order = [UNCLASSIFIED, *Classification.values]
    return [
        {
            "classification": name,
            "automated": name not in (UNCLASSIFIED, Classification.HUMAN),
            "clicks": counts[name],
        }
        for name in order
        if counts.get(name)
    ]


def clicks_by_device(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
    tracking_id: str | None = None,
    job_id: Any = None,
    application_id: Any = None,
) -> dict[str, list[dict[str, Any]]]:
    """Clicks per device type, browser and operating system (parsed from the user agent)."""
    scope = link_scope(tracking_id=tracking_id, job_id=job_id, application_id=application_id)
    return {
        field: _ranked(
            _broken_down(
                field, start=start, end=end, include_automated=include_automated, scope=scope
            ),
            field,
        )
        for field in ("device_type", "browser", "os")
    }


def clicks_by_hour_of_week(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
    tracking_id: str | None = None,
    job_id: Any = None,
    application_id: Any = None,
) -> dict[str, Any]:
    """A 7 x 24 grid of clicks by local weekday (Monday first) and hour."""
    scope = link_scope(tracking_id=tracking_id, job_id=job_id, application_id=application_id)
    cells = counting.hour_of_week(start=start, end=end, scope=scope)
    grid = {"human_clicks": _empty_grid(), "automated_clicks": _empty_grid()}
    for (weekday, hour), row in cells.items():
        for name in grid:
            grid[name][weekday - 1][hour] = row[name]
    return {
        "weekdays": WEEKDAYS,
        "hours": list(range(24)),
        "time_zone": settings.TIME_ZONE,
        **grid,
        "total_clicks": [
            [
                h + (a if include_automated else 0)
                for h, a in zip(hr, ar, strict=True)  # per hour of one weekday
            ]
            for hr, ar in zip(grid["human_clicks"], grid["automated_clicks"], strict=True)
        ],
    }


def _empty_grid() -> list[list[int]]:
    return [[0] * 24 for _ in WEEKDAYS]


def top_jobs(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
    limit: int = TOP_LIMIT,
) -> list[dict[str, Any]]:
    """Jobs whose links were clicked most in the period."""
    counts = _grouped("job_id", start=start, end=end, include_automated=include_automated)
    counts.pop(None, None)
    ranked = sorted(
        counts.items(), key=lambda kv: (-kv[1]["total_clicks"], -kv[1]["automated_clicks"])
    )[:limit]
    jobs = Job.objects.in_bulk([job_id for job_id, _ in ranked])
    return [
        {
            "job_id": str(job_id),
            "title": jobs[job_id].title,
            "company_name": jobs[job_id].company_name,
            **numbers,
        }
        for job_id, numbers in ranked
        if job_id in jobs
    ]


def top_links(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
    job_id: Any = None,
    application_id: Any = None,
    limit: int = TOP_LIMIT,
) -> list[dict[str, Any]]:
    """Links clicked most in the period (clicks only: no session counts, to stay cheap)."""
    scope = link_scope(job_id=job_id, application_id=application_id)
    counts = _grouped(
        "tracking_id",
        start=start,
        end=end,
        include_automated=include_automated,
        scope=scope,
        sessions=False,
    )
    ranked = sorted(
        counts.items(), key=lambda kv: (-kv[1]["total_clicks"], -kv[1]["automated_clicks"], kv[0])
    )[:limit]
    links = TrackedLink.objects.select_related("job").in_bulk([tid for tid, _ in ranked])
    return [
        {
            "tracking_id": tid,
            "link_function": links[tid].link_function,
            "job_id": str(links[tid].job_id) if links[tid].job_id else None,
            "job_title": _job_title(links[tid]),
            **numbers,
        }
        for tid, numbers in ranked
        if tid in links
    ]


def _job_title(link: TrackedLink) -> str | None:
    return link.job.title if link.job is not None else None


def links_overview(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
    job_id: Any = None,
    application_id: Any = None,
) -> list[dict[str, Any]]:
    """Every link of a job or application (clicked or not) with its counts, most clicked first."""
    scope = link_scope(job_id=job_id, application_id=application_id)
    links = TrackedLink.objects.filter(scope.q()).order_by("created_at", "tracking_id")
    counts = _grouped(
        "tracking_id", start=start, end=end, include_automated=include_automated, scope=scope
    )
    rows: list[dict[str, Any]] = [
        {
            "tracking_id": link.tracking_id,
            "link_function": link.link_function,
            "application_id": str(link.application_id) if link.application_id else None,
            "redirect_url": link.redirect_url,
            "is_active": link.active,
            "created_at": _iso(link.created_at),
            **counts.get(link.tracking_id, _zero_counts()),
        }
        for link in links
    ]
    rows.sort(key=lambda r: (-r["total_clicks"], -r["automated_clicks"]))
    return rows


def application_summaries(
    job_id: Any,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
) -> list[dict[str, Any]]:
    """The applications of a job with their link count, clicks and first human click."""
    applications = JobApplication.objects.filter(job_id=job_id).annotate(
        link_count=Count("links", distinct=True)
    )
    counts = _grouped(
        "application_id",
        start=start,
        end=end,
        include_automated=include_automated,
        scope=link_scope(job_id=job_id),
    )
    links = TrackedLink.objects.filter(job_id=job_id, application_id__isnull=False)
    per_link = first_human_clicks(
        list(links.values_list("tracking_id", flat=True)), start=start, end=end
    )
    first_human: dict[Any, dt.datetime] = {}
    for tracking_id, application_id in links.values_list("tracking_id", "application_id"):
        when = per_link.get(tracking_id)
        if when is not None and (
            application_id not in first_human or when < first_human[application_id]
        ):
            first_human[application_id] = when
    return [
        {
            **_application_dict(application),
            "link_count": application.link_count,  # type: ignore[attr-defined]
            "first_human_click": _iso(first_human.get(application.pk)),
            **counts.get(application.pk, _zero_counts()),
        }
        for application in applications.order_by("-created_at")
    ]


# --- Applications --------------------------------------------------------------------------


def application_journey(
    application_id: Any,
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
) -> dict[str, Any] | None:
    """Which of an application's links were opened, in what order, by how many sessions.

    Clicks are grouped by session (clicks without a session id form one group each); people's
    sessions and automated sessions are listed apart, each in order of their first click. A
    session is automated when all its clicks are. Automated sessions are always returned so the
    page can show them apart; ``include_automated`` only changes the totals. The journey holds
    the latest :data:`JOURNEY_CLICK_LIMIT` clicks of the period (``clicks_shown`` of
    ``clicks_in_period``); the counts and first clicks cover the whole period.
    """
    application = JobApplication.objects.select_related("job").filter(pk=application_id).first()
    if application is None:
        return None
    links = list(TrackedLink.objects.filter(application_id=application.pk).order_by("created_at"))
    clicks = _latest_clicks([link.tracking_id for link in links], start=start, end=end)
    period: Period = {"start": start, "end": end, "include_automated": include_automated}
    scope = link_scope(application_id=application.pk)
    per_link = _grouped("tracking_id", **period, scope=scope)
    first_human = first_human_clicks([link.tracking_id for link in links], start=start, end=end)
    groups: dict[str, list[dict[str, Any]]] = {}
    for click in clicks:
        session = click["session_id"]
        key = f"session:{session}" if session else f"click:{click['click_id']}"
        groups.setdefault(key, []).append(click)
    functions = {link.tracking_id: link.link_function for link in links}
    sessions = [_session_dict(group, functions) for group in groups.values()]
    statistics_ = _totals(**period, scope=scope)
    return {
        "application": _application_dict(application),
        "job": _job_dict(application.job),
        "statistics": statistics_,
        "first_human_click": _iso(min(first_human.values()) if first_human else None),
        "clicks_shown": len(clicks),
        "clicks_in_period": statistics_["human_clicks"] + statistics_["automated_clicks"],
        "links": [
            {
                "tracking_id": link.tracking_id,
                "link_function": link.link_function,
                "redirect_url": link.redirect_url,
                "is_active": link.active,
                "first_human_click": _iso(first_human.get(link.tracking_id)),
                **per_link.get(link.tracking_id, _zero_counts()),
            }
            for link in links
        ],
        "human_sessions": [s for s in sessions if not s["automated"]],
        "automated_sessions": [s for s in sessions if s["automated"]],
    }


def first_human_clicks(
    tracking_ids: list[str], *, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> dict[str, dt.datetime]:
    """The first click by a person on each link in the period.

    One small query per link, each stopping at its first match in the index (tracking_id,
    clicked_at), costs less than a grouped MIN over every click of the links.
    """
    result: dict[str, dt.datetime] = {}
    for tracking_id in tracking_ids:
        first = (
            clicks_in(start=start, end=end, tracking_id=tracking_id, include_automated=False)
            .order_by("clicked_at")
            .values_list("clicked_at", flat=True)
            .first()
        )
        if first is not None:
            result[tracking_id] = first
    return result


JOURNEY_FIELDS = (
    "click_id",
    "tracking_id",
    "clicked_at",
    "session_id",
    "classification",
    "classification_reasons",
    "click_source",
)


def _latest_clicks(
    tracking_ids: list[str], *, start: dt.datetime | None, end: dt.datetime | None
) -> list[dict[str, Any]]:
    """The latest :data:`JOURNEY_CLICK_LIMIT` clicks of these links in the period, oldest first.

    Taken link by link from the index (tracking_id, clicked_at), then merged: the cost stays
    bounded however many clicks the links have. Rows, not model instances: only the journey's
    columns are read.
    """
    latest: list[dict[str, Any]] = []
    for tracking_id in tracking_ids:
        latest += (
            clicks_in(start=start, end=end, tracking_id=tracking_id)
            .order_by("-clicked_at", "-click_id")
            .values(*JOURNEY_FIELDS)[:JOURNEY_CLICK_LIMIT]
        )
    latest.sort(key=lambda c: (c["clicked_at"], str(c["click_id"])), reverse=True)
    return list(reversed(latest[:JOURNEY_CLICK_LIMIT]))


def _is_human(click: dict[str, Any]) -> bool:
    return click["classification"] in (None, Classification.HUMAN)


def _session_dict(clicks: list[dict[str, Any]], functions: dict[str, str]) -> dict[str, Any]:
    return {
        "session_id": clicks[0]["session_id"],
        "automated": not any(_is_human(c) for c in clicks),
        "first_click": _iso(clicks[0]["clicked_at"]),
        "last_click": _iso(clicks[-1]["clicked_at"]),
        "clicks": [
            {
                "click_id": str(c["click_id"]),
                "tracking_id": c["tracking_id"],
                "link_function": functions[c["tracking_id"]],
                "clicked_at": _iso(c["clicked_at"]),
                "classification": c["classification"],
                "classification_reasons": c["classification_reasons"] or [],
                "click_source": c["click_source"],
            }
            for c in clicks
        ],
    }


def time_to_first_human_click(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
    job_id: Any = None,
    application_id: Any = None,
) -> dict[str, Any]:
    """For links created in ``[start, end)``: how long until someone first opened them.

    The first click is looked for at any time after creation (not only inside the period): the
    question is how quickly a link sent in that period was opened. With ``include_automated`` the
    first click of any kind counts; the first human click is always reported too.
    """
    links = TrackedLink.objects.order_by("created_at")
    if start is not None:
        links = links.filter(created_at__gte=start)
    if end is not None:
        links = links.filter(created_at__lt=end)
    if job_id is not None:
        links = links.filter(job_id=job_id)
    if application_id is not None:
        links = links.filter(application_id=application_id)
    rows_qs = links.annotate(
        first_human_click=Min("clicks__clicked_at", filter=counting.prefixed(HUMAN, "clicks__")),
        first_any_click=Min("clicks__clicked_at"),
    ).values("tracking_id", "link_function", "created_at", "first_human_click", "first_any_click")
    rows = []
    waits: list[float] = []
    for row in rows_qs:
        first = row["first_any_click"] if include_automated else row["first_human_click"]
        created = row["created_at"]
        seconds = (first - created).total_seconds() if first and created else None
        if seconds is not None:
            waits.append(seconds)
        rows.append(
            {
                "tracking_id": row["tracking_id"],
                "link_function": row["link_function"],
                "created_at": _iso(created),
                "first_human_click": _iso(row["first_human_click"]),
                "first_click": _iso(first),
                "seconds_to_first_click": seconds,
            }
        )
    return {
        "links": len(rows),
        "links_opened": len(waits),
        "median_seconds": statistics.median(waits) if waits else None,
        "rows": rows,
    }


# --- Export -------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "click_id",
    "tracking_id",
    "link_function",
    "job_id",
    "application_id",
    "clicked_at",
    "classification",
    "classification_reasons",
    "click_source",
    "referrer_url",
    "session_id",
    "ip_address",
    "device_type",
    "browser",
    "os",
]


def export_rows(
    *,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_automated: bool = False,
    tracking_id: str | None = None,
    job_id: Any = None,
    application_id: Any = None,
) -> Iterator[list[Any]]:
    """The clicks behind a view, oldest first, as rows matching :data:`EXPORT_COLUMNS`."""
    clicks = clicks_in(
        start=start,
        end=end,
        tracking_id=tracking_id,
        job_id=job_id,
        application_id=application_id,
        include_automated=include_automated,
    ).order_by("clicked_at", "click_id")
    values: Iterable[Any] = clicks.values(
        "click_id",
        "tracking_id",
        "clicked_at",
        "classification",
        "classification_reasons",
        "click_source",
        "referrer_url",
        "session_id",
        "ip_address",
        "device_type",
        "browser",
        "os",
        link_function=F("tracking__link_function"),
        job_id=F("tracking__job_id"),
        application_id=F("tracking__application_id"),
    ).iterator(chunk_size=2000)
    for row in values:
        row["clicked_at"] = _iso(row["clicked_at"])
        row["classification_reasons"] = "; ".join(row["classification_reasons"] or [])
        yield ["" if row[col] is None else str(row[col]) for col in EXPORT_COLUMNS]
