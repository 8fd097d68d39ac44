from __future__ import annotations

from django.urls import path, re_path

from tracking import views
from tracking.api.qr import QRCodeView

app_name = "tracking"

urlpatterns = [
    # Before the redirect: "health" is a reserved tracking id (services refuses it).
    path("health", views.health, name="health"),
    re_path(
        r"^(?P<tracking_id>[A-Za-z0-9_-]{1,100})/qr\.(?P<kind>svg|png)$",
        QRCodeView.as_view(),
        name="qr",
    ),
    path("<str:tracking_id>", views.redirect, name="redirect"),
]
