"""The redirect's route plan (tracking.routeplan): Django's own resolution, for every path."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import override_settings
from django.urls import Resolver404, include, path, re_path, resolve

from tracking import views
from tracking.fastpath import RedirectFastPathMiddleware
from tracking.routeplan import _COMPARED

PATHS = [
    "/track/lt_abc123",
    "/track/lt_other",
    "/track/health",
    "/track/health/",
    "/track/HEALTH",
    "/track/lt_abc123/",
    "/track/",
    "/track//",
    "/track",
    "/track/lt_abc123/qr.svg",
    "/track/lt_abc123/qr.png",
    "/track/lt_abc123/qr.gif",
    "/track/a/b",
    "/track/lt abc",
    "/track/lt%20abc",
    "/track/h\u00e9llo",
    "/track/lt_abc123\n",
    "/track/" + "x" * 300,
    "/track/..",
    "/track/lt_abc123?x=1",
    "/bench/bare/lt_abc123",
    "/api/",
]


def answer(resolver: Any, path_info: str) -> dict[str, Any] | str:
    try:
        match = resolver(path_info)
    except Resolver404:
        return "404"
    return {name: getattr(match, name) for name in _COMPARED}


def primed() -> RedirectFastPathMiddleware:
    middleware = RedirectFastPathMiddleware(lambda request: HttpResponse())
    middleware.resolve("/track/lt_first")
    return middleware


def test_a_path_resolves_as_django_resolves_it() -> None:
    middleware = primed()
    assert middleware.route is not None and middleware.route[1] is not None  # a plan is in use
    for path_info in PATHS:
        assert answer(middleware.resolve, path_info) == answer(resolve, path_info), path_info


def test_the_plan_answers_the_redirect_and_leaves_the_rest_to_django() -> None:
    middleware = primed()
    assert middleware.route is not None
    plan = middleware.route[1]
    assert plan is not None
    assert plan.resolve("/track/lt_other") is not None
    for path_info in ("/track/health", "/track/a/b", "/track/lt_x/qr.svg", "/track/", "/x/y"):
        assert plan.resolve(path_info) is None, path_info


def other(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("other")


# A URLconf where a pattern before the redirect takes some of its paths, one with a prefix that
# captures, and one where the redirect's include has default arguments.
urlpatterns = [
    re_path(r"^track/special$", other),
    path("track/", include("tracking.urls")),
]


class CapturedPrefix:
    urlpatterns = [path("<str:lang>/track/", include("tracking.urls"))]


class WithDefaults:
    urlpatterns = [path("track/", include("tracking.urls"), {"extra": 1})]


@pytest.mark.parametrize(
    ("urlconf", "paths"),
    [
        (__name__, ["/track/special", "/track/specials", "/track/lt_1", "/track/health"]),
        (CapturedPrefix, ["/en/track/lt_1", "/de/track/lt_2", "/track/lt_1"]),
        (WithDefaults, ["/track/lt_1", "/track/lt_2", "/track/health"]),
    ],
)
def test_other_urlconfs_resolve_as_django_resolves_them(urlconf: Any, paths: list[str]) -> None:
    with override_settings(ROOT_URLCONF=urlconf):
        middleware = RedirectFastPathMiddleware(lambda request: HttpResponse())
        for path_info in [*paths, *paths]:  # the second round with the plan made, if any
            assert answer(middleware.resolve, path_info) == answer(resolve, path_info), path_info


def test_a_pattern_before_the_redirect_still_wins() -> None:
    with override_settings(ROOT_URLCONF=__name__):
        middleware = primed()
        assert middleware.resolve("/track/special").func is other
        assert middleware.resolve("/track/lt_1").func is views.redirect
