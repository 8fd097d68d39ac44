"""Project-wide middleware."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


class ContentSecurityPolicyMiddleware:
    """Send ``CONTENT_SECURITY_POLICY`` on responses under ``CONTENT_SECURITY_POLICY_PATHS``.

    A fixed policy without nonces is all these pages need (their scripts are files under
    ``static/``), so a dozen lines replace a dependency such as django-csp. Scoping by path keeps
    the redirect's cost to one ``startswith`` and leaves the API's own pages alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.policy: str = settings.CONTENT_SECURITY_POLICY
        self.prefixes = tuple(settings.CONTENT_SECURITY_POLICY_PATHS)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            self.policy
            and request.path_info.startswith(self.prefixes)
            and "Content-Security-Policy" not in response
        ):
            response["Content-Security-Policy"] = self.policy
        return response
