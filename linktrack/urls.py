"""URL map: the redirect, the API, the dashboard and the admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from analytics.views import favicon
from linktrack.login_throttle import admin_login

urlpatterns = [
    # The dashboard is the home page (it sends anonymous visitors to the login).
    path("", RedirectView.as_view(pattern_name="analytics:overview"), name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("track/", include("tracking.urls")),
    path("api/", include("tracking.api.urls")),
    path("dashboard/", include("analytics.urls")),
    # Before the admin's own URLs: its sign-in, throttled per address and per username.
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
]
