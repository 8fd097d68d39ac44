"""Turn a redirect request into a click row and the signals that classify it.

Everything a visitor's browser sends is untrusted: headers are capped and cleaned, the client IP
comes from ``REMOTE_ADDR`` unless the request came through a configured trusted proxy, query
parameters go into bounded ``metadata`` and never influence the destination. No database access.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils.http import http_date

from tracking import owner, services
from tracking.classify import ClickSignals
from tracking.linkcache import ResolvedLink
from tracking.optout import asks_not_to_be_tracked
from tracking.services.validation import (
    CONTROL_RE,
    SAFE_ID_CHARS,
    is_secret_parameter,
    parse_ip,
    referrer_without_secrets,
)

SESSION_COOKIE = "lt_sid"
SESSION_COOKIE_MAX_AGE = 365 * 24 * 3600
_SESSION_RE = re.compile(rf"^{SAFE_ID_CHARS}{{16,64}}$")

# Query parameters kept in metadata: enough for UTM tags and a few of the sender's own, bounded so
# that a crafted URL cannot bloat rows.
QUERY_MAX_PARAMS = 20
QUERY_KEY_MAX = 50
QUERY_VALUE_MAX = 200
QUERY_MAX_BYTES = 2048

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class CapturedRequest:
    """A click as the request gave it: its fields for :func:`tracking.services.build_click`
    (bounded, not yet validated), its signals, and a new session to set."""

    fields: dict[str, Any]
    signals: ClickSignals
    new_session_id: str | None


# --- Client address -------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _trusted_networks(entries: tuple[str, ...]) -> tuple[_Network, ...]:
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES must hold IP addresses or CIDR networks, got {entry!r}"
            ) from None
    return tuple(networks)


def trusted_networks() -> tuple[_Network, ...]:
    return _trusted_networks(tuple(settings.TRUSTED_PROXIES))


def _parse_address(value: str) -> _Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51234"
        value = value.split(":", 1)[0]
    return parse_ip(value)


# Parsing an address and writing it back costs more than the rest of capturing a click, and a
# server sees the same few addresses over and over (its proxy's, a visitor's repeated clicks).
# Bounded: a flood of distinct addresses only ever holds this many.
@functools.lru_cache(maxsize=4096)
def _remote_address(value: str) -> tuple[_Address | None, str | None]:
    """``REMOTE_ADDR`` parsed, and in its stored form."""
    address = _parse_address(value)
    return address, (str(address) if address is not None else None)


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's address.

    ``REMOTE_ADDR`` is the truth unless it is one of ``TRUSTED_PROXIES``; only then is
    ``X-Forwarded-For`` read, right to left, skipping trusted hops, and the first untrusted
    address is the client. Without trusted proxies a forged header changes nothing.
    """
    remote, remote_text = _remote_address(request.META.get("REMOTE_ADDR", ""))
    networks = trusted_networks()
    if remote is None or not networks or not any(remote in net for net in networks):
        return remote_text
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    client = remote
    for hop in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _parse_address(hop)
        if address is None:
            break  # garbage from beyond our proxies: keep the last address a proxy vouched for
        client = address
        if not any(address in net for net in networks):
            break
    return str(client)


UNKNOWN_CLIENT = "unknown"


# Parsing the address costs the direct redirect's rate limit more than the rest of its own work,
# and the same few addresses come back; bounded like the address cache above.
@functools.lru_cache(maxsize=4096)
def client_bucket(ip: str | None) -> str:
    """Who a per-client limit counts a request against.

    An IPv4 address is its own bucket. An IPv6 one is widened to its /64: a host is usually given
    a whole /64 and could otherwise rotate through 2^64 addresses, each with a fresh budget. A
    request without a usable address shares one bucket with every other such request rather than
    going unlimited.
    """
    address = parse_ip(ip) if ip else None
    if address is None:
        return UNKNOWN_CLIENT
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


# --- Headers and query ----------------------------------------------------------------------


def header(request: HttpRequest, name: str) -> str | None:
    """A request header as text. WSGI hands headers over as latin-1; re-read them as UTF-8 and
    replace what is not valid UTF-8, so a broken referrer is stored (capped) rather than refused."""
    raw = request.META.get(name)
    if raw is None:
        return None
    try:
        raw = raw.encode("latin-1").decode("utf-8", errors="replace")
    except UnicodeEncodeError:
        pass  # already decoded text (not from a WSGI server)
    return raw or None


def opted_out(request: HttpRequest) -> bool:
    """Do Not Track (``DNT: 1``) or Global Privacy Control (``Sec-GPC: 1``), when respected."""
    return settings.RESPECT_DNT and asks_not_to_be_tracked(request.META)


def _query(request: HttpRequest) -> QueryDict:
    """The query string, or nothing when Django refuses it (over DATA_UPLOAD_MAX_NUMBER_FIELDS):
    a crafted URL must not cost the visitor the redirect."""
    try:
        return request.GET
    except SuspiciousOperation:
        return QueryDict()


def query_metadata(request: HttpRequest) -> dict[str, Any]:
    """UTM tags and other query parameters, bounded in count, length and total size.

    ``src`` is left out (it sets the click source). The first value of a repeated parameter wins.
    Parameters that hold an e-mail address or a credential are dropped here already
    (:func:`tracking.services.validation.is_secret_parameter`), so that they never reach the
    click stream or the spool either; they count against the limit, which bounds the checks.
    """
    metadata: dict[str, Any] = {}
    dropped = 0
    used = 2  # the braces of the JSON object
    query = _query(request)
    for key in query:
        if len(metadata) + dropped >= QUERY_MAX_PARAMS:
            break
        clean_key = CONTROL_RE.sub("", key)[:QUERY_KEY_MAX]
        if not clean_key or clean_key == "src" or clean_key in metadata:
            continue
        value = CONTROL_RE.sub("", query.get(key, ""))[:QUERY_VALUE_MAX]
        if is_secret_parameter(clean_key, value):
            dropped += 1
            continue
        cost = len(clean_key.encode()) + len(value.encode()) + 8
        if used + cost > QUERY_MAX_BYTES:
            break
        metadata[clean_key] = value
        used += cost
    return metadata


def click_source_override(request: HttpRequest) -> str | None:
    """``?src=`` when it is a safe identifier; anything else falls back to the referrer rules."""
    value = _query(request).get("src")
    if value and services.is_safe_identifier(value):
        return value
    return None


def session_id(request: HttpRequest) -> tuple[str, bool]:
    """The visitor's session id from our cookie, or a new one; the flag says whether it is new."""
    existing = request.COOKIES.get(SESSION_COOKIE, "")
    if _SESSION_RE.fullmatch(existing):
        return existing, False
    return "s_" + secrets.token_urlsafe(18), True


_cookie_expiry: tuple[int, str] = (0, "")


def _session_cookie_expires() -> str:
    """The session cookie's ``expires``, as ``set_cookie`` would write it from ``max_age``:
    formatting a date costs a new visitor's redirect more than the rest of the cookie, and it
    only changes once a second."""
    global _cookie_expiry
    now = int(time.time())
    second, text = _cookie_expiry
    if second != now:
        text = http_date(now + SESSION_COOKIE_MAX_AGE)
        _cookie_expiry = (now, text)
    return text


def set_session_cookie(response: HttpResponse, request: HttpRequest, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_COOKIE_MAX_AGE,
        expires=_session_cookie_expires(),
        path="/track/",
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )


# --- The click ------------------------------------------------------------------------------


def capture_request(request: HttpRequest, link: ResolvedLink) -> CapturedRequest:
    """The click's fields as the request gave them: bounded and cleaned of nothing else.

    Cheap on purpose: buffered mode queues these fields as they are and the click writer validates
    them (:func:`tracking.clicks.stream.decode_click`); direct mode validates them at once
    (:func:`tracking.services.build_click`, called by :func:`tracking.clicks.record.submit`).
    With Do Not Track / GPC the fields keep no IP, user agent or session; the signals still carry
    them so that the click is classified like any other.
    """
    meta = request.META
    ip = client_ip(request)
    user_agent = header(request, "HTTP_USER_AGENT")
    if user_agent:
        user_agent = user_agent[: services.USER_AGENT_MAX]
    referrer = header(request, "HTTP_REFERER")
    if referrer:
        # Filtered here already, so that no secret reaches the click stream or the spool.
        referrer = referrer_without_secrets(referrer[: services.REFERRER_MAX])
    private = opted_out(request)
    session, is_new = (None, False) if private else session_id(request)
    has_query = bool(meta.get("QUERY_STRING"))  # most redirects have none: skip parsing it
    fields: dict[str, Any] = {
        "tracking_id": link.tracking_id,
        "ip_address": None if private else ip,
        "user_agent": None if private else user_agent,
        "referrer_url": referrer,
        "session_id": session,
        "click_source": click_source_override(request) if has_query else None,
        "metadata": query_metadata(request) if has_query else {},
        "http_method": request.method,
    }
    signals = ClickSignals(
        user_agent=user_agent,
        client_ip=ip,
        has_accept_language=bool(meta.get("HTTP_ACCEPT_LANGUAGE", "").strip()),
        link_created_at=link.created_at,
        application_id=link.application_id,
        application_submitted_at=link.application_submitted_at,
        owner_cookie=owner.has_owner_cookie(request),
        company_keys=link.company_keys,
        decoy=link.is_decoy,
        application_has_decoy=link.application_has_decoy,
    )
    return CapturedRequest(
        fields=fields, signals=signals, new_session_id=session if is_new else None
    )
