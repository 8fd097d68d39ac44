"""The alerts page, under ``/dashboard/alerts/`` (see ``linktrack/urls.py``)."""

from __future__ import annotations

from django.urls import URLPattern, path

from notifications import views

app_name = "notifications"

urlpatterns: list[URLPattern] = [
    path("", views.alert_settings, name="alert-settings"),
]
