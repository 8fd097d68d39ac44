"""URL map: the redirect, the API, the dashboard and the admin.

The API is one ``api`` namespace under ``/api/`` made of two apps' routes: tracking's (links,
clicks, jobs, applications, the schema) and analytics' read endpoints, then tracking's JSON 404
for any other path. It is put together here because ``tracking`` does not import ``analytics``.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from analytics.api import urls as analytics_api
from analytics.views import favicon
from linktrack.login_throttle import admin_login
from notifications import api as notifications_api
from tracking.api import urls as tracking_api

api_patterns = [
    *tracking_api.urlpatterns,
    *analytics_api.urlpatterns,
    *notifications_api.urlpatterns,
    tracking_api.not_found,
]

urlpatterns = [
    # The dashboard is the home page (it sends anonymous visitors to the login).
    path("", RedirectView.as_view(pattern_name="analytics:overview"), name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("track/", include("tracking.urls")),
    path("api/", include((api_patterns, tracking_api.app_name))),
    path("dashboard/alerts/", include("notifications.urls")),
    path("dashboard/", include("analytics.urls")),
    # Before the admin's own URLs: its sign-in, throttled per address and per username.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
]
