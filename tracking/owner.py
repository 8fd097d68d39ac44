"""The job seeker's own clicks: a signed cookie from signing in, and the owner's networks.

Checking that a link works, or opening it from the dashboard, must never read as "a person at
the company opened it". Two signals mark a click as the owner's:

- a signed, long-lived cookie (:data:`OWNER_COOKIE`, path ``/track/``, so it travels only with
  tracked links) that :class:`OwnerCookieMiddleware` sets on every response to a signed-in staff
  user, sign-in included; a year long and refreshed on each visit, so one visit a year keeps
  every browser the owner uses marked. Signed with ``SECRET_KEY``: a recruiter cannot forge it;
- ``OWNER_NETWORKS``: the owner's home or office addresses (comma-separated CIDRs), for the
  browsers that never signed in.

The middleware never touches the redirect: ``/track/`` responses are left alone, and the user is
only looked at when the view already loaded it (no extra session or user query anywhere).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from tracking import netsets

OWNER_COOKIE = "lt_owner"
OWNER_COOKIE_SALT = "linktrack.owner"
# Browsers cap a cookie's lifetime at 400 days; a year, refreshed on every signed-in visit.
OWNER_COOKIE_MAX_AGE = 365 * 24 * 3600
_TRACK_PREFIX = "/track/"


def _signed_in_staff(request: HttpRequest) -> bool:
    user = request.__dict__.get("user")
    if user is None:
        return False
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return False  # the view never asked who this is: do not load the session for it
    return bool(user.is_authenticated and user.is_staff)


def set_owner_cookie(response: HttpResponse, request: HttpRequest) -> None:
    response.set_signed_cookie(
        OWNER_COOKIE,
        "1",
        salt=OWNER_COOKIE_SALT,
        max_age=OWNER_COOKIE_MAX_AGE,
        path=_TRACK_PREFIX,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )


class OwnerCookieMiddleware:
    """Marks the browsers of signed-in staff users as the owner's (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(_TRACK_PREFIX) and _signed_in_staff(request):
            set_owner_cookie(response, request)
        return response


def has_owner_cookie(request: HttpRequest) -> bool:
    """Whether the request carries a valid owner cookie (an HMAC check, only when present)."""
    if OWNER_COOKIE not in request.COOKIES:
        return False
    value = request.get_signed_cookie(
        OWNER_COOKIE, default=None, salt=OWNER_COOKIE_SALT, max_age=OWNER_COOKIE_MAX_AGE
    )
    return value == "1"


@functools.lru_cache(maxsize=4)
def _networks(entries: tuple[str, ...]) -> netsets.NetworkSet:
    # Keyed by the setting's value: a changed OWNER_NETWORKS (a test, a reconfigured process)
    # is read anew.
    return netsets.NetworkSet(ipaddress.ip_network(entry, strict=False) for entry in entries)


def in_owner_network(ip: str | None) -> bool:
    """Whether the address is in ``OWNER_NETWORKS`` (validated by the settings)."""
    if not ip or not settings.OWNER_NETWORKS:
        return False
    return netsets.address_key(ip) in _networks(tuple(settings.OWNER_NETWORKS))
