from __future__ import annotations

from django.urls import path

from tracking import views

app_name = "tracking"

urlpatterns = [
    # Before the redirect: "health" is a reserved tracking id (services refuses it).
    path("health", views.health, name="health"),
    path("<str:tracking_id>", views.redirect, name="redirect"),
]
