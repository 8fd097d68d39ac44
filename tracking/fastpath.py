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

They run as Django runs them (an exception raised in one becomes its response, the ``process_view``
hooks in order before the view); ``ATOMIC_REQUESTS`` is not applied (the redirect writes at most
one row, and never inside a transaction of its own). Django nests each middleware's ``__call__``
in an exception wrapper, and each ``MiddlewareMixin.__call__`` looks its hooks up again on every
request (some 12,000 CPU instructions per redirect for the four); when every one is a plain
synchronous ``MiddlewareMixin``, their ``process_request`` and ``process_response`` hooks are
called from one loop instead (:meth:`RedirectFastPathMiddleware.run_hooks`) that does what the
nesting does, step for step; any other middleware keeps the nested chain.

The path is resolved as ``django.urls.resolve`` resolves it, through the redirect's route plan
(:mod:`tracking.routeplan`) once one path has taken the route.

Every other request, ``/track/health`` and the QR codes included (they look at the signed-in user),
goes down the whole stack as before. The costs
that led here are measured by ``bench/middleware_costs.py`` (``bench/README.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.exception import convert_exception_to_response, response_for_exception
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, get_resolver, get_urlconf
from django.urls.resolvers import ResolverMatch, URLResolver
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

from tracking import views
from tracking.routeplan import RoutePlan, plan_for

GetResponse = Callable[[HttpRequest], HttpResponseBase]
ViewHook = Callable[[HttpRequest, Callable[..., Any], tuple[Any, ...], dict[str, Any]], Any]
RequestHook = Callable[[HttpRequest], Any]
ResponseHook = Callable[[HttpRequest, HttpResponseBase], HttpResponseBase]

# Where the redirect is mounted (linktrack/urls.py); other paths are not even resolved here.
TRACK_PREFIX = "/track/"


def _wrapped(get_response: GetResponse) -> GetResponse:
    """As Django wraps each middleware: an exception raised inside becomes its error response."""
    return cast(GetResponse, convert_exception_to_response(get_response))


def _plain_mixin(middleware: object) -> bool:
    """Whether ``middleware`` is a synchronous ``MiddlewareMixin`` whose ``__call__`` is the
    mixin's own: then calling its hooks is all that calling it does."""
    return (
        isinstance(middleware, MiddlewareMixin)
        and type(middleware).__call__ is MiddlewareMixin.__call__
        and not middleware.async_mode
    )


class RedirectFastPathMiddleware:
    """Runs the redirect view behind ``REDIRECT_MIDDLEWARE`` only (see the module)."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.view_hooks: list[ViewHook] = []
        handler = _wrapped(self.call_view)
        stack: list[object] = []
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
            stack.insert(0, middleware)
            handler = _wrapped(middleware)
        self.redirect_chain = self.nested_chain = handler
        # Outermost first, each middleware's hooks as MiddlewareMixin.__call__ would find them.
        self.hooks: list[tuple[RequestHook | None, ResponseHook | None]] = [
            (getattr(mw, "process_request", None), getattr(mw, "process_response", None))
            for mw in stack
        ]
        if all(_plain_mixin(mw) for mw in stack):
            self.redirect_chain = self.run_hooks
        # The redirect's route in the URLconf in use, once a path has taken it (routeplan).
        self.route: tuple[URLResolver, RoutePlan | None] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        if path.startswith(TRACK_PREFIX):
            try:
                match = self.resolve(path)
            except Resolver404:
                pass  # the whole stack answers it, 404 page included
            else:
                if match.func is views.redirect:
                    request.resolver_match = match
                    return self.redirect_chain(request)
        return self.get_response(request)

    def resolve(self, path: str) -> ResolverMatch:
        """``django.urls.resolve(path)``, through the redirect's route plan when it has one."""
        root = get_resolver(get_urlconf())
        route = self.route
        if route is not None and route[0] is root:
            plan = route[1]
            match = plan.resolve(path) if plan is not None else None
            if match is not None:
                return match
            return root.resolve(path)
        match = root.resolve(path)
        if match.func is views.redirect:
            self.route = (root, plan_for(root, path, match))
        return match

    def run_hooks(self, request: HttpRequest) -> HttpResponseBase:
        """The nested chain of ``REDIRECT_MIDDLEWARE`` as one loop (see the module).

        Nested, middleware ``n`` calls ``process_request``, then (unless that answered) the
        wrapped middleware ``n + 1``, then ``process_response`` with whatever came back; its
        wrapper turns an exception raised anywhere inside it into that exception's response,
        which middleware ``n - 1`` then gets. So: the request hooks run outermost first until
        one answers or raises; the view runs only if none did; then the response hooks run from
        the innermost middleware that was entered (not the one whose ``process_request`` raised)
        outwards, each exception becoming the response the next one gets.
        """
        hooks = self.hooks
        response: Any = None
        entered = 0
        for process_request, _process_response in hooks:
            entered += 1
            if process_request is not None:
                try:
                    response = process_request(request)
                except Exception as exc:
                    response = response_for_exception(request, exc)
                    entered -= 1
                    break
                if response:
                    break
        else:
            try:
                response = self.call_view(request)
            except Exception as exc:
                response = response_for_exception(request, exc)
        for index in range(entered - 1, -1, -1):
            process_response = hooks[index][1]
            if process_response is not None:
                try:
                    response = process_response(request, response)
                except Exception as exc:
                    response = response_for_exception(request, exc)
        return response  # type: ignore[no-any-return]

    def call_view(self, request: HttpRequest) -> HttpResponseBase:
        """What Django's handler does inside the middleware: view hooks, then the view."""
        match = request.resolver_match
        assert match is not None  # set by __call__ before the chain runs
        for hook in self.view_hooks:
            response = hook(request, match.func, match.args, match.kwargs)
            if response is not None:
                return response  # type: ignore[no-any-return]
        return match.func(request, *match.args, **match.kwargs)  # type: ignore[no-any-return]
