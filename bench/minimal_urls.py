"""``/bench/bare/<id>``: a redirect that does nothing else, and the only URL of
:mod:`bench.minimal_settings`. :mod:`bench.urls` mounts the same view beside the product's URLs."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path

BARE_DESTINATION = "https://linkedin.com/in/steve-glen"


def bare_redirect(request: HttpRequest, tracking_id: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(BARE_DESTINATION)


urlpatterns = [path("bench/bare/<str:tracking_id>", bare_redirect, name="bench-bare")]
