"""The project's URLs plus ``/bench/bare/<id>``: a redirect that does nothing else.

It runs through the same middleware as ``/track/<id>`` would without the redirect's fast path
(:mod:`tracking.fastpath`), so the ratio between the two is what the click costs (link resolution,
capture, classification, the rate limit and the INSERT or the append) less what the fast path
saves; :mod:`bench.minimal_urls` serves the same view with no middleware at all.
"""

from __future__ import annotations

from django.urls import path

from bench.minimal_urls import BARE_DESTINATION, bare_redirect
from linktrack.urls import urlpatterns as project_urlpatterns

__all__ = ["BARE_DESTINATION", "bare_redirect", "urlpatterns"]

urlpatterns = [
    path("bench/bare/<str:tracking_id>", bare_redirect, name="bench-bare"),
    *project_urlpatterns,
]
