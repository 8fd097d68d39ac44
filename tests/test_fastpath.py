"""The redirect's own middleware stack (tracking.fastpath): only what the redirect needs, and all
of it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import resolve, reverse
from django.utils.deprecation import MiddlewareMixin

from tests.factories import CHROME, HOUR, logged_in_client, make_link, make_tracking_staff
from tracking import views
from tracking.fastpath import RedirectFastPathMiddleware
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db

BROWSER: dict[str, Any] = {"HTTP_USER_AGENT": CHROME, "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}


def redirect_url() -> str:
    return reverse("tracking:redirect", args=[make_link(sent_ago=HOUR).tracking_id])


def test_the_redirect_loads_no_session_user_or_messages() -> None:
    response = Client().get(redirect_url(), **BROWSER)
    assert response.status_code == 302
    request = response.wsgi_request
    assert not hasattr(request, "session")
    assert not hasattr(request, "user")
    assert not hasattr(request, "_messages")
    assert LinkClick.objects.count() == 1


def test_the_redirect_keeps_the_security_headers_and_its_length() -> None:
    response = Client().get(redirect_url(), **BROWSER)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Content-Length"] == "0"


def test_the_redirect_refuses_a_host_not_allowed() -> None:
    response = Client().get(redirect_url(), HTTP_HOST="evil.example", **BROWSER)
    assert response.status_code == 400
    assert LinkClick.objects.count() == 0


@override_settings(SECURE_SSL_REDIRECT=True)
def test_the_redirect_still_moves_plain_http_to_https() -> None:
    response = Client().get(redirect_url(), **BROWSER)
    assert response.status_code == 301
    assert response["Location"].startswith("https://")


def test_health_under_the_same_prefix_still_sees_the_signed_in_user() -> None:
    client = logged_in_client(make_tracking_staff())
    response = client.get(reverse("tracking:health"))
    assert response.wsgi_request.user.is_staff
    assert "database" in str(response.json())


def test_an_unknown_path_under_the_prefix_gets_the_whole_stack() -> None:
    response = Client().get("/track/abc/def", **BROWSER)
    assert response.status_code == 404
    assert hasattr(response.wsgi_request, "session")


def view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


@override_settings(REDIRECT_MIDDLEWARE=["django.middleware.gzip.GZipMiddleware"])
def test_the_redirect_middleware_must_be_part_of_the_project_middleware() -> None:
    with pytest.raises(ImproperlyConfigured, match="GZipMiddleware"):
        RedirectFastPathMiddleware(view)


# --- The middleware hooks called from one loop: what Django's nested chain does ----------------


class Probe(MiddlewareMixin):
    """Records its hooks on the request; a request header tells it to answer or to raise."""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        return self.act(request, "request")

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return self.act(request, "response") or response

    def act(self, request: HttpRequest, hook: str) -> HttpResponse | None:
        name = type(self).__name__
        request.trace.append(f"{name}.{hook}")  # type: ignore[attr-defined]
        wanted = request.headers.get(f"X-{name}", "")
        if wanted == f"answer-{hook}":
            return HttpResponse(f"{name} answered", status=299)
        if wanted == f"deny-{hook}":
            raise PermissionDenied
        if wanted == f"missing-{hook}":
            raise Http404
        return None


class ProbeA(Probe):
    pass


class ProbeB(Probe):
    pass


class ProbeC(Probe):
    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        request.trace = []  # type: ignore[attr-defined]
        return super().process_request(request)


class ViewProbe(MiddlewareMixin):
    """No request or response hook: only a view hook, which raises when asked."""

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> None:
        request.trace.append("view")  # type: ignore[attr-defined]
        if request.headers.get("X-View") == "deny":
            raise PermissionDenied


PROBES = [f"{__name__}.{name}" for name in ("ProbeC", "ProbeA", "ProbeB", "ViewProbe")]
ACTIONS = ["", "answer-request", "deny-request", "missing-request", "answer-response"]
ACTIONS += ["deny-response", "missing-response"]


def answers(middleware: RedirectFastPathMiddleware, url: str, headers: dict[str, str]) -> list[Any]:
    request = RequestFactory().get(url, headers=headers, **BROWSER)
    request.trace = []  # type: ignore[attr-defined]
    assert middleware.resolve(request.path_info).func is views.redirect
    request.resolver_match = middleware.resolve(request.path_info)
    response = middleware.redirect_chain(request)
    return [response.status_code, response.content, request.trace]  # type: ignore[attr-defined]


@override_settings(MIDDLEWARE=PROBES, REDIRECT_MIDDLEWARE=PROBES)
def test_the_hook_loop_answers_as_the_nested_chain_would() -> None:
    url = redirect_url()
    middleware = RedirectFastPathMiddleware(view)
    assert middleware.redirect_chain == middleware.run_hooks
    nested = RedirectFastPathMiddleware(view)
    nested.redirect_chain = nested.nested_chain
    compared = 0
    for name in ("ProbeA", "ProbeB", "ProbeC"):
        for action in ACTIONS:
            for view_action in ("", "deny"):
                headers = {f"X-{name}": action, "X-View": view_action}
                assert answers(middleware, url, headers) == answers(nested, url, headers), headers
                compared += 1
    assert compared == 42


class CallOverride(ProbeA):
    def __call__(self, request: HttpRequest) -> Any:
        return super().__call__(request)


@override_settings(
    MIDDLEWARE=[*PROBES, f"{__name__}.CallOverride"],
    REDIRECT_MIDDLEWARE=[*PROBES, f"{__name__}.CallOverride"],
)
def test_a_middleware_with_its_own_call_keeps_the_nested_chain() -> None:
    middleware = RedirectFastPathMiddleware(view)
    assert middleware.redirect_chain == middleware.nested_chain


def comparable(response: Any) -> tuple[int, dict[str, str], dict[str, dict[str, Any]], bytes]:
    """Status, headers and cookies (without the values that are new on each request or second),
    body."""
    headers = {name: value for name, value in response.items() if name != "Set-Cookie"}
    cookies = {
        name: {**morsel, "value": len(morsel.value), "expires": bool(morsel["expires"])}
        for name, morsel in response.cookies.items()
    }
    body = re.sub(rb'value="[^"]+"', b"", response.content)  # the CSRF token of a form
    return response.status_code, headers, cookies, body


@pytest.mark.parametrize("buffered", [False, True])
def test_every_redirect_answer_is_the_nested_chain_answer(buffered: bool) -> None:
    link = make_link(sent_ago=HOUR).tracking_id
    locked = make_link(sent_ago=HOUR, password="correct horse").tracking_id
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("get", f"/track/{link}", {}),
        ("head", f"/track/{link}", {}),
        ("get", f"/track/{link}?utm_source=x&src=mail", {}),
        ("get", f"/track/{link}", {"HTTP_HOST": "evil.example"}),
        ("get", f"/track/{link}", {"HTTP_DNT": "1"}),
        ("get", f"/track/{link}", {"HTTP_USER_AGENT": ""}),
        ("post", f"/track/{link}", {}),
        ("get", "/track/lt_unknown0000", {}),
        ("get", "/track/%6C%74_unknown", {}),
        ("get", f"/track/{locked}", {}),
        ("post", f"/track/{locked}", {}),
        ("put", f"/track/{link}", {}),
    ]
    middleware = RedirectFastPathMiddleware(view)
    nested = RedirectFastPathMiddleware(view)
    nested.redirect_chain = nested.nested_chain
    nested.resolve = resolve  # type: ignore[method-assign]
    settings = {"CLICK_MODE": "buffered"} if buffered else {}
    with override_settings(**settings):
        for method, url, extra in requests:
            headers = {**BROWSER, **extra}
            answers = []
            for stack in (middleware, nested):
                request = getattr(RequestFactory(), method)(url, **headers)
                answers.append(comparable(stack(request)))
            assert answers[0] == answers[1], (method, url, extra)
