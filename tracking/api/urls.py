"""Tracking's API routes. Paths have no trailing slash (as in seed 001); anything else under
``/api/`` gets a JSON 404 (:data:`not_found`) rather than an HTML page or a slash-appending
redirect. ``linktrack/urls.py`` puts these, the analytics API's routes and :data:`not_found` in
one ``api`` namespace."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from tracking.api import packages, views
from tracking.api.errors import api_not_found

app_name = "api"

TRACKING_ID = f"(?P<tracking_id>{views.TRACKING_ID_PATTERN})"

router = SimpleRouter(trailing_slash="")  # type: ignore[arg-type]  # "" is DRF's "no slash"
router.register("v1/links", views.LinkViewSet, basename="link")
router.register("v1/clicks", views.ClickViewSet, basename="click")
router.register("v1/jobs", views.JobViewSet, basename="job")
router.register("v1/applications", views.ApplicationViewSet, basename="application")

urlpatterns: list[URLPattern | URLResolver] = [
    path("link-tracking/create", views.CreateLinkView.as_view(), name="link-create"),
    path("link-tracking/record-click", views.RecordClickView.as_view(), name="record-click"),
    path("link-tracking/record-clicks", views.RecordClicksView.as_view(), name="record-clicks"),
    re_path(
        rf"^link-tracking/links/{TRACKING_ID}$",
        views.LinkEssentialsView.as_view(),
        name="link-essentials",
    ),
    re_path(
        rf"^link-tracking/applications/(?P<application_id>{views.UUID_PATTERN})/links$",
        packages.LinkPackageView.as_view(),
        name="application-links",
    ),
    re_path(
        rf"^v1/applications/(?P<pk>{views.UUID_PATTERN})/status-history$",
        views.StatusHistoryView.as_view(),
        name="application-status-history",
    ),
    *router.urls,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]

# Last in the ``api`` namespace, after every app's routes (see ``linktrack/urls.py``).
not_found = re_path(r"^(?P<unmatched>.*)$", api_not_found, name="not-found")
