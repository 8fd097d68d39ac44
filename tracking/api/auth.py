"""API authentication: ``Authorization: Api-Key <key>`` with scopes, or a staff session.

Keys come from djangorestframework-api-key (only a SHA-512 hash is stored, the key is shown once).
Every request looks the key up in the database, so revoking a key or letting it expire takes
effect on the very next request.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from tracking.models import APIKey

SCOPE_LINKS_READ = "links:read"
SCOPE_LINKS_WRITE = "links:write"
# Click-level personal data (IP address, session id, user agent): apart from links:read so that an
# integration that manages links does not also read who clicked them.
SCOPE_CLICKS_READ = "clicks:read"
SCOPE_CLICKS_WRITE = "clicks:write"
SCOPE_ANALYTICS_READ = "analytics:read"
# Webhook endpoints (served by the notifications app): reading them too, since they name where
# click events go.
SCOPE_WEBHOOKS_WRITE = "webhooks:write"
SCOPES: tuple[str, ...] = (
    SCOPE_LINKS_READ,
    SCOPE_LINKS_WRITE,
    SCOPE_CLICKS_READ,
    SCOPE_CLICKS_WRITE,
    SCOPE_ANALYTICS_READ,
    SCOPE_WEBHOOKS_WRITE,
)

KEYWORD = "Api-Key"
# ``last_used_at`` is a convenience for the admin, not an audit log: refreshing it at most once a
# minute keeps a busy click-recording key from turning every request into an extra UPDATE.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class APIKeyAuthentication(authentication.BaseAuthentication):
    """Authenticate ``Authorization: Api-Key <prefix.secret>``; no header means "not me"."""

    def authenticate(self, request: Request) -> tuple[Any, APIKey] | None:
        header = authentication.get_authorization_header(request).split()
        if not header:
            return None
        scheme = header[0].decode("latin-1")
        if scheme.lower() != KEYWORD.lower():
            # A client that sent a header meant to authenticate with it: "credentials were not
            # provided" would send its author looking in the wrong place. A signed-in staff
            # session behind a proxy that adds its own header (Basic) is still served.
            if _has_session_user(request):
                return None
            raise exceptions.AuthenticationFailed(wrong_scheme_message(scheme, len(header)))
        if len(header) == 1:
            raise exceptions.AuthenticationFailed(
                f"Invalid Authorization header: no key after '{KEYWORD}'; {HEADER_HINT}"
            )
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header: use 'Api-Key <key>' with no spaces in the key."
            )
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        api_key = self._lookup(key)
        self._touch(api_key)
        return (_APIKeyUser(api_key), api_key)

    @staticmethod
    def _lookup(key: str) -> APIKey:
        prefix, dot, _secret = key.partition(".")
        if not (dot and prefix):
            raise exceptions.AuthenticationFailed(
                "Invalid API key. A key reads '<prefix>.<secret>' as create_api_key or the admin "
                "printed it."
            )
        api_key = APIKey.objects.filter(prefix=prefix).first()
        if api_key is None or not api_key.is_valid(key):
            raise exceptions.AuthenticationFailed("Invalid API key.")
        if api_key.revoked:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        return api_key

    @staticmethod
    def _touch(api_key: APIKey) -> None:
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
            APIKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing or wrong.
        return KEYWORD


HEADER_HINT = f"use 'Authorization: {KEYWORD} <key>'."


def wrong_scheme_message(scheme: str, parts: int) -> str:
    """What a client sending another scheme (or a bare key) should send instead."""
    if parts == 1:
        # A bare value: most likely the key itself without its prefix; never echo it back.
        return f"The Authorization header has no '{KEYWORD}' prefix; {HEADER_HINT}"
    hint = HEADER_HINT
    if scheme.lower() == "bearer":
        hint += f" Generated clients: set the token prefix to '{KEYWORD}'."
    if not re.fullmatch(r"[A-Za-z-]{1,20}", scheme):
        # Not a scheme name: perhaps part of a key, which an error body must not repeat.
        return f"The Authorization header does not start with '{KEYWORD}'; {hint}"
    return f"Authorization scheme '{scheme}' is not accepted; {hint}"


def _has_session_user(request: Request) -> bool:
    user = getattr(request._request, "user", None)
    return bool(user is not None and user.is_authenticated)


class _APIKeyUser:
    """The ``request.user`` of a key-authenticated request: authenticated, but nobody's account."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: APIKey) -> None:
        self.api_key = api_key
        self.username = f"api-key:{api_key.name}"

    def __str__(self) -> str:
        return self.username


def key_scopes(api_key: APIKey) -> set[str]:
    scopes = api_key.scopes
    if not isinstance(scopes, list):
        return set()
    return {scope for scope in scopes if isinstance(scope, str)}


class APIKeyAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Documents the API-key header in the OpenAPI schema (and Swagger UI's Authorize button)."""

    target_class = "tracking.api.auth.APIKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Authorization: Api-Key <key>`. Create a key with `manage.py create_api_key` or "
                f"in the admin. Scopes: {', '.join(SCOPES)}."
            ),
        }
