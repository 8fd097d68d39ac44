"""URL map: the redirect, the API, the dashboard and the admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("track/", include("tracking.urls")),
    path("api/", include("tracking.api.urls")),
    path("dashboard/", include("analytics.urls")),
    path("admin/", admin.site.urls),
]
