"""Dashboard pages, their chart endpoints (JSON) and the CSV export."""

from __future__ import annotations

from django.urls import URLPattern, path

from analytics import outcome_views, verdict_views, views

app_name = "analytics"

urlpatterns: list[URLPattern] = [
    path("", views.overview, name="overview"),
    path("activity/", views.activity, name="activity"),
    path("activity.json", views.activity_feed, name="activity-feed"),
    path("jobs/<uuid:job_id>/", views.job_detail, name="job-detail"),
    path("links/<str:tracking_id>/", views.link_detail, name="link-detail"),
    path(
        "applications/<uuid:application_id>/",
        views.application_detail,
        name="application-detail",
    ),
    path(
        "applications/<uuid:application_id>/status/",
        outcome_views.application_status_change,
        name="application-status-change",
    ),
    path(
        "clicks/<uuid:click_id>/verdict/",
        verdict_views.correct_verdict,
        name="click-verdict",
    ),
    path("outcomes/", outcome_views.outcomes_page, name="outcomes"),
    path("outcomes.csv", outcome_views.outcomes_csv, name="outcomes-csv"),
    path("export.csv", views.export_csv, name="export-csv"),
    path("charts/daily.json", views.chart_daily, name="chart-daily"),
    path("charts/functions.json", views.chart_functions, name="chart-functions"),
    path("charts/sources.json", views.chart_sources, name="chart-sources"),
    path("charts/countries.json", views.chart_countries, name="chart-countries"),
    path("charts/devices.json", views.chart_devices, name="chart-devices"),
    path("charts/classifications.json", views.chart_classifications, name="chart-classifications"),
    path("charts/hour-of-week.json", views.chart_hour_of_week, name="chart-hour-of-week"),
]
