"""The analytics API's routes. ``linktrack/urls.py`` mounts them in the ``api`` namespace under
``/api/``, with tracking's API, before its JSON 404 for anything else."""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from analytics.api import views
from tracking.api.views import TRACKING_ID_PATTERN, UUID_PATTERN

urlpatterns: list[URLPattern] = [
    re_path(
        rf"^link-tracking/analytics/(?P<tracking_id>{TRACKING_ID_PATTERN})$",
        views.LinkAnalyticsView.as_view(),
        name="link-analytics",
    ),
    re_path(
        rf"^link-tracking/jobs/(?P<job_id>{UUID_PATTERN})/summary$",
        views.JobSummaryView.as_view(),
        name="job-summary",
    ),
    path("link-tracking/report", views.PerformanceReportView.as_view(), name="report"),
    path("link-tracking/outcomes", views.OutcomesView.as_view(), name="outcomes"),
]
