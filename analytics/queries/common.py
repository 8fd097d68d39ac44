"""The building blocks the queries share: counts shaped for JSON, rows of jobs and clicks, days.

``total_clicks`` and ``unique_sessions`` follow the selection's ``include_automated``;
``human_clicks``, ``automated_clicks`` and ``unclassified_clicks`` (clicks not judged yet, never
counted as people) are always given side by side.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, QuerySet

from analytics import counting
from analytics.selection import HUMAN, Scope, Selection, local_tz
from tracking.models import Job, JobApplication, LinkClick, TrackedLink

UNKNOWN = "unknown"
UNCLASSIFIED = "unclassified"


def iso(value: dt.datetime | None) -> str | None:
    """Datetimes leave as ISO 8601 strings in UTC."""
    return value.astimezone(dt.UTC).isoformat() if value else None


def local_day(value: dt.datetime) -> dt.date:
    return value.astimezone(local_tz()).date()


def clicks_in(selection: Selection) -> QuerySet[LinkClick]:
    """The raw clicks of the selection, unordered (people only unless ``include_automated``)."""
    qs = LinkClick.objects.order_by()
    if selection.start is not None:
        qs = qs.filter(clicked_at__gte=selection.start)
    if selection.end is not None:
        qs = qs.filter(clicked_at__lt=selection.end)
    scope = selection.scope
    if scope.tracking_id is not None:
        qs = qs.filter(tracking_id=scope.tracking_id)
    if scope.job_id is not None:
        qs = qs.filter(tracking__job_id=scope.job_id)
    if scope.application_id is not None:
        qs = qs.filter(tracking__application_id=scope.application_id)
    if not selection.include_automated:
        qs = qs.filter(HUMAN)
    return qs


# --- Counts ---------------------------------------------------------------------------------


def counts(row: dict[str, Any], include_automated: bool) -> dict[str, int]:
    human = row.get("human_clicks") or 0
    automated = row.get("automated_clicks") or 0
    unclassified = row.get("unclassified_clicks") or 0
    numbers = {"total_clicks": human + automated + unclassified if include_automated else human}
    if "unique_sessions" in row:
        numbers["unique_sessions"] = row["unique_sessions"] or 0
        if row.get("unique_sessions_estimated"):
            # An estimate (analytics.session_sketches); absent where the count is exact.
            numbers["unique_sessions_estimated"] = True
    return {
        **numbers,
        "human_clicks": human,
        "automated_clicks": automated,
        "unclassified_clicks": unclassified,
    }


def zero_counts() -> dict[str, int]:
    return {
        "total_clicks": 0,
        "unique_sessions": 0,
        "human_clicks": 0,
        "automated_clicks": 0,
        "unclassified_clicks": 0,
    }


def not_people(numbers: dict[str, int]) -> int:
    """The clicks of a row that are not people's: automated, or not classified yet."""
    return numbers["automated_clicks"] + numbers.get("unclassified_clicks", 0)


def totals(selection: Selection) -> dict[str, int]:
    rows = counting.count_by(None, selection)
    return counts(rows[None], selection.include_automated)


def grouped(key: str, selection: Selection, *, sessions: bool = True) -> dict[Any, dict[str, int]]:
    """Counts (and unique sessions) per day, link, link function, job or application."""
    rows = counting.count_by(key, selection, sessions=sessions)
    return {k: counts(row, selection.include_automated) for k, row in rows.items()}


def broken_down(dimension: str, selection: Selection) -> dict[Any, dict[str, int]]:
    rows = counting.breakdown(dimension, selection)
    return {k: counts(row, selection.include_automated) for k, row in rows.items()}


def ranked(
    counted: dict[Any, dict[str, int]], label: str, *, default: str = UNKNOWN
) -> list[dict[str, Any]]:
    """Rows ``{label: value, **counts}`` without empty ones, most clicks first."""
    rows: list[dict[str, Any]] = [
        {label: value if value not in (None, "") else default, **numbers}
        for value, numbers in counted.items()
        if numbers["total_clicks"] or not_people(numbers)
    ]
    rows.sort(key=lambda r: (-r["total_clicks"], -not_people(r), str(r[label])))
    return rows


def classification_counts(selection: Selection) -> dict[str, int]:
    """Clicks per class (every class, whatever ``include_automated`` says), empty ones left out."""
    rows = counting.breakdown("classification", selection)
    per_class = {
        (value or UNCLASSIFIED): row["human_clicks"]
        + row["automated_clicks"]
        + row["unclassified_clicks"]
        for value, row in rows.items()
    }
    return {name: n for name, n in per_class.items() if n}


def function_rows(selection: Selection) -> list[dict[str, Any]]:
    """Per link function of the links in scope: links and their clicks, most clicked first."""
    return function_table(selection.scope, grouped("link_function", selection))


def function_table(scope: Scope, click_counts: dict[Any, dict[str, int]]) -> list[dict[str, Any]]:
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
            **click_counts.get(function, zero_counts()),
        }
        for function, count in link_counts.items()
    ]
    rows.sort(key=lambda r: (-r["total_clicks"], -not_people(r), r["link_function"]))
    return rows


def every_day(
    per_day: dict[Any, dict[str, int]], *, start: dt.datetime | None, end: dt.datetime | None
) -> list[dict[str, Any]]:
    """The per-day rows from ``start`` to ``end``, days without clicks as zeros."""
    if not per_day and (start is None or end is None):
        return []
    first = local_day(start) if start is not None else min(per_day)
    # ``end`` is exclusive: the last day shown is the one holding the instant just before it.
    last = local_day(end - dt.timedelta(microseconds=1)) if end is not None else max(per_day)
    days: list[dict[str, Any]] = []
    day = first
    while day <= last:
        days.append({"date": day.isoformat(), **per_day.get(day, zero_counts())})
        day += dt.timedelta(days=1)
    return days


# --- Rows -----------------------------------------------------------------------------------


def job_dict(job: Job) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "title": job.title,
        "company_name": job.company_name,
        "posting_url": job.posting_url,
        "apply_url": job.apply_url,
        "location": job.location,
        "created_at": iso(job.created_at),
    }


def application_dict(application: JobApplication) -> dict[str, Any]:
    return {
        "id": str(application.id),
        "job_id": str(application.job_id),
        "status": application.status,
        "submitted_at": iso(application.submitted_at),
        "contact_name": application.contact_name,
        "created_at": iso(application.created_at),
    }
