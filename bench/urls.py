"""The project's URLs plus ``/bench/bare/<id>``: a redirect that does nothing else.

It runs through the same middleware as ``/track/<id>``, so the ratio between the two is what the
click costs: link resolution, capture, classification, the rate limit and the INSERT.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path

from linktrack.urls import urlpatterns as project_urlpatterns

BARE_DESTINATION = "https://linkedin.com/in/steve-glen"


def bare_redirect(request: HttpRequest, tracking_id: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(BARE_DESTINATION)


urlpatterns = [
    path("bench/bare/<str:tracking_id>", bare_redirect, name="bench-bare"),
    *project_urlpatterns,
]
