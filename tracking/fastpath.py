"""The redirect's own, shorter middleware stack.

``GET /track/<tracking_id>`` needs few of the project's middleware: it reads no session, no
signed-in user and no messages (the owner is told apart by a signed cookie of its own,
:mod:`tracking.owner`), serves no static files and no HTML that a policy or the admin would
protect. Each of those middleware still costs every click its work (a session store, a lazy user,
a message storage, a static-file lookup, a path check), together more than Django's own request
handling. :class:`RedirectFastPathMiddleware`, first in ``MIDDLEWARE``, sends requests that resolve
to the redirect view through ``REDIRECT_MIDDLEWARE`` only:

- ``SecurityMiddleware``: HTTPS redirect, HSTS, ``nosniff``, the referrer and opener policies;
- ``CommonMiddleware``: the ``ALLOWED_HOSTS`` check (a wrong ``Host`` answers 400), refused
  user agents, ``Content-Length``;
- ``CsrfViewMiddleware``: the password form's token (its cookie on the form, the check on the POST);
- ``XFrameOptionsMiddleware``: ``X-Frame-Options`` (the password form must not be framed).

They run as Django runs them (each wrapped so that an exception becomes its response, the
``process_view`` hooks in order before the view); ``ATOMIC_REQUESTS`` is not applied (the redirect
writes at most one row, and never inside a transaction of its own). Every other request, ``/track/health`` and the QR
codes included (they look at the signed-in user), goes down the whole stack as before. The costs
that led here are measured by ``bench/middleware_costs.py`` (``bench/README.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string

from tracking import views

GetResponse = Callable[[HttpRequest], HttpResponseBase]
ViewHook = Callable[[HttpRequest, Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any]

# Where the redirect is mounted (linktrack/urls.py); other paths are not even resolved here.
TRACK_PREFIX = "/track/"


def _wrapped(get_response: GetResponse) -> GetResponse:
    """As Django wraps each middleware: an exception raised inside becomes its error response."""
    return cast(GetResponse, convert_exception_to_response(get_response))


class RedirectFastPathMiddleware:
    """Runs the redirect view behind ``REDIRECT_MIDDLEWARE`` only (see the module)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.view_hooks: list[ViewHook] = []
        handler = _wrapped(self.call_view)
        for path in reversed(settings.REDIRECT_MIDDLEWARE):
            if path not in settings.MIDDLEWARE:
                # Only a subset: the redirect must never run something the project does not.
                raise ImproperlyConfigured(f"REDIRECT_MIDDLEWARE names {path}, not in MIDDLEWARE")
            middleware = import_string(path)(handler)
            for hook in ("process_template_response", "process_exception"):
                if hasattr(middleware, hook):
                    raise ImproperlyConfigured(f"{path}.{hook} is not run on the redirect's path")
            if hasattr(middleware, "process_view"):
                self.view_hooks.insert(0, middleware.process_view)
            handler = _wrapped(middleware)
        self.redirect_chain = handler

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        if path.startswith(TRACK_PREFIX):
            try:
                match = resolve(path)
            except Resolver404:
                pass  # the whole stack answers it, 404 page included
            else:
                if match.func is views.redirect:
                    request.resolver_match = match
                    return self.redirect_chain(request)
        return self.get_response(request)

    def call_view(self, request: HttpRequest) -> HttpResponseBase:
        """What Django's handler does inside the middleware: view hooks, then the view."""
        match = request.resolver_match
        assert match is not None  # set by __call__ before the chain runs
        for hook in self.view_hooks:
            response = hook(request, match.func, match.args, match.kwargs)
            if response is not None:
                return response  # type: ignore[no-any-return]
        return match.func(request, *match.args, **match.kwargs)  # type: ignore[no-any-return]
