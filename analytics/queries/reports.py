"""The seed's reports: a link's analytics, a job's links by function, the performance report.

Seed 000's queries 3, 4 and 5 and seed 001's ``get_link_performance_report``, plus the
dashboard's headline numbers.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Max, Min

from analytics import counting
from analytics.queries.breakdowns import clicks_by_places, company_network_clicks
from analytics.queries.common import (
    broken_down,
    classification_counts,
    clicks_in,
    counts,
    every_day,
    function_rows,
    function_table,
    iso,
    job_dict,
    ranked,
    totals,
)
from analytics.queries.routes import clicks_by_route
from analytics.selection import ACTIVE_LINK, EVERYTHING, PEOPLE_ANYTIME, Period, Scope, Selection
from tracking.models import Job, JobApplication, LinkClick, TrackedLink

TIMELINE_LIMIT = 50


def link_analytics(
    tracking_id: str, selection: Selection = PEOPLE_ANYTIME
) -> dict[str, Any] | None:
    """Link info, click statistics and the latest clicks of one link; ``None`` if no such link.

    Over the selection's period, with its ``include_automated``; the scope is the link's.
    """
    link = TrackedLink.objects.filter(tracking_id=tracking_id).select_related("application").first()
    if link is None:
        return None
    selection = selection.within(Scope(tracking_id=tracking_id))
    scoped = clicks_in(selection)
    stats = totals(selection)
    # Index (tracking_id, clicked_at): both ends and the latest clicks without a scan.
    bounds = scoped.aggregate(first_click=Min("clicked_at"), last_click=Max("clicked_at"))
    by_source = broken_down("click_source", selection)
    places = clicks_by_places(selection, ["region", "city"])
    timeline = scoped.order_by("-clicked_at", "-click_id")[:TIMELINE_LIMIT]
    return {
        "link_info": link.to_dict(),
        "click_statistics": {
            **stats,
            "first_click": iso(bounds["first_click"]),
            "last_click": iso(bounds["last_click"]),
            "by_source": {
                row["click_source"]: row["total_clicks"]
                for row in ranked(by_source, "click_source")
            },
            "by_country": _by_country(selection),
            "by_region": places["region"],
            "by_city": places["city"],
            "from_company_network": company_network_clicks(selection),
            # Always every class, so the automated traffic stays visible beside the people.
            "by_classification": classification_counts(selection),
            # Every click of the period, people and automated, whatever include_automated says.
            "by_rule": clicks_by_route(link, selection),
        },
        "click_timeline": [_click_dict(click) for click in timeline],
    }


def _click_dict(click: LinkClick) -> dict[str, Any]:
    return {
        "click_id": str(click.click_id),
        "tracking_id": click.tracking_id,
        "clicked_at": iso(click.clicked_at),
        "click_source": click.click_source,
        "country_code": click.country_code,
        "region": click.region,
        "city": click.city,
        "network_kind": click.network_kind,
        "from_company_network": click.from_company_network,
        "ip_address": click.ip_address,
        "referrer_url": click.referrer_url,
        "session_id": click.session_id,
        "metadata": click.metadata or {},
        "classification": click.classification,
        "classification_reasons": click.classification_reasons or [],
        "classification_correction": click.classification_correction,
        "corrected_by": click.corrected_by,
        "device_type": click.device_type,
        "browser": click.browser,
        "os": click.os,
    }


def job_link_summary(job_id: Any, selection: Selection = PEOPLE_ANYTIME) -> dict[str, Any] | None:
    """The job and its active links by function (the seed's query 4); ``None`` if no such job.

    Over the selection's period, with its ``include_automated``; the scope is the job's links.
    """
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return None
    scope = Scope(job_id=job.pk, active_only=True)
    links = TrackedLink.objects.filter(scope.q())
    return {
        "job": {
            **job_dict(job),
            "application_count": job.applications.count(),
            "link_count": TrackedLink.objects.filter(job_id=job.pk).count(),
            "active_link_count": links.count(),
        },
        "link_functions": function_rows(selection.within(scope)),
        "by_country": _by_country(selection.within(scope)),
    }


def _by_country(selection: Selection) -> dict[str, int]:
    """Clicks per country (ISO 3166-1 alpha-2, ``unknown`` without geodata), most first."""
    by_country = broken_down("country_code", selection)
    return {row["country_code"]: row["total_clicks"] for row in ranked(by_country, "country_code")}


def performance_report(*, days: int = 30, include_automated: bool = False) -> dict[str, Any]:
    """Overall figures, link functions and daily trends over today and the previous days."""
    period = Period.for_days(days)
    links = TrackedLink.objects.all()
    # The three parts share one read of the raw clicks the rollups do not cover yet (today).
    counted = counting.count_by_keys(
        [None, "link_function", "day"], Selection(period, EVERYTHING, include_automated)
    )
    grouped = {
        key: {k: counts(row, include_automated) for k, row in rows.items()}
        for key, rows in counted.items()
    }
    return {
        "period": {
            "days": days,
            "start": iso(period.start),
            "end": iso(period.end),
            "time_zone": settings.TIME_ZONE,
        },
        "overall_statistics": {
            "total_links": links.count(),
            "active_links": links.filter(ACTIVE_LINK).count(),
            **grouped[None][None],
        },
        "function_performance": function_table(EVERYTHING, grouped["link_function"]),
        "daily_trends": every_day(grouped["day"], start=period.start, end=period.end),
        "by_country": _by_country(Selection(period, EVERYTHING, include_automated)),
    }


def overview_totals(selection: Selection = PEOPLE_ANYTIME) -> dict[str, Any]:
    """Headline numbers: clicks (people and automated), sessions, links, jobs, applications.

    The clicks are the selection's; links, jobs and applications are counted over all.
    """
    return {
        **totals(selection),
        "links": TrackedLink.objects.count(),
        "active_links": TrackedLink.objects.filter(ACTIVE_LINK).count(),
        "jobs": Job.objects.count(),
        "applications": JobApplication.objects.count(),
    }
