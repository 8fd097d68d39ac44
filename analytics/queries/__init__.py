"""Read-side analytics: plain functions returning JSON-ready dicts and lists.

One implementation serves the dashboard and the API. Each query takes a
:class:`~analytics.selection.Selection` (a period, the links in scope, and whether automated
clicks count in ``total_clicks`` and ``unique_sessions``; ``human_clicks`` and
``automated_clicks`` are always reported side by side). Storage is UTC; day and hour buckets are
cut in ``settings.TIME_ZONE``; datetimes are returned as ISO 8601 strings in UTC. Counts come
from :mod:`analytics.counting` (rollups where they cover the period, raw clicks elsewhere).

By subject: :mod:`.reports` (the seed's link, job and performance reports), :mod:`.breakdowns`
(the dashboard's charts and top lists), :mod:`.applications` (journeys, first clicks) and
:mod:`.export` (CSV rows). The public functions are gathered here so that callers write
``queries.link_analytics(…)``.
"""

from __future__ import annotations

from analytics.queries.activity import latest_clicks
from analytics.queries.applications import (
    application_journey,
    application_summaries,
    first_human_clicks,
    time_to_first_human_click,
)
from analytics.queries.breakdowns import (
    click_totals,
    clicks_by_classification,
    clicks_by_country,
    clicks_by_device,
    clicks_by_function,
    clicks_by_hour_of_week,
    clicks_by_place,
    clicks_by_places,
    clicks_by_source,
    company_network_clicks,
    daily_clicks,
    links_overview,
    top_jobs,
    top_links,
)
from analytics.queries.export import EXPORT_COLUMNS, export_rows, selection_rows
from analytics.queries.reports import (
    job_link_summary,
    link_analytics,
    overview_totals,
    performance_report,
)

__all__ = [
    "EXPORT_COLUMNS",
    "application_journey",
    "application_summaries",
    "click_totals",
    "clicks_by_classification",
    "clicks_by_country",
    "clicks_by_device",
    "clicks_by_function",
    "clicks_by_hour_of_week",
    "clicks_by_place",
    "clicks_by_places",
    "clicks_by_source",
    "company_network_clicks",
    "daily_clicks",
    "export_rows",
    "first_human_clicks",
    "job_link_summary",
    "latest_clicks",
    "link_analytics",
    "links_overview",
    "overview_totals",
    "performance_report",
    "selection_rows",
    "time_to_first_human_click",
    "top_jobs",
    "top_links",
]
