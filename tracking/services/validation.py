"""Input rules shared by the write path: column limits, safe identifiers, destinations, values.

Limits that mirror a column are read from the model field, so a migration that widens a column
widens its check too. The character classes and control-character patterns are defined once here
and reused by the request capture (:mod:`tracking.clicks.capture`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Model
from django.utils import timezone

from tracking import hosts
from tracking.models import LinkClick, TrackedLink
from tracking.services.errors import ValidationFailed


def max_length_of(model: type[Model], field: str) -> int:
    """The ``max_length`` of a model's column: the one source of a limit that mirrors a column."""
    column = model._meta.get_field(field)
    max_length = getattr(column, "max_length", None)
    if not isinstance(max_length, int):
        raise TypeError(f"{model.__name__}.{field} has no max_length")
    return max_length


TRACKING_ID_MAX = max_length_of(TrackedLink, "tracking_id")
IDENTIFIER_MAX = max_length_of(TrackedLink, "link_function")
URL_MAX = max_length_of(TrackedLink, "original_url")
CREATED_BY_MAX = max_length_of(TrackedLink, "created_by")
REFERRER_MAX = max_length_of(LinkClick, "referrer_url")
SESSION_ID_MAX = max_length_of(LinkClick, "session_id")
HTTP_METHOD_MAX = max_length_of(LinkClick, "http_method")
# ``user_agent`` is a TEXT column: this cap is ours, so that a crafted header cannot bloat rows.
USER_AGENT_MAX = 1000
# Free text (``notes``) is a TEXT column too; the cap keeps one request from storing megabytes.
NOTES_MAX = 10_000
METADATA_MAX_KEYS = 50
METADATA_MAX_BYTES = 8192

# Paths under /track/ that are not links: a link with such an id could never be reached.
RESERVED_TRACKING_IDS = frozenset({"health"})
# Tracking ids, identifiers (link functions, types, sources) and session ids share one alphabet.
SAFE_ID_CHARS = "[A-Za-z0-9_-]"
TRACKING_ID_RE = re.compile(rf"^{SAFE_ID_CHARS}{{1,{TRACKING_ID_MAX}}}$")
IDENTIFIER_RE = re.compile(rf"^{SAFE_ID_CHARS}{{1,{IDENTIFIER_MAX}}}$")
# Every control character: never kept in a URL, a header or a query parameter.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# Control characters other than tab and line breaks, which free text may hold (PostgreSQL cannot
# even store NUL).
TEXT_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def tracking_host() -> str:
    return (urlsplit(settings.TRACKING_BASE_URL).hostname or "").lower()


def validate_destination_url(url: Any, *, field: str = "original_url") -> str:
    """Return ``url`` when it is a safe public http(s) destination, else raise ValidationFailed.

    The rules keep a tracked link from becoming an open redirect to something a recruiter's
    browser should never be sent to, or from pointing back at the tracker itself.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValidationFailed("A URL is required.", field=field)
    url = url.strip()
    if len(url) > URL_MAX:
        raise ValidationFailed(f"The URL is longer than {URL_MAX} characters.", field=field)
    try:
        # The host as a browser reads it (hex, octal and short IPv4, IDNA…), judged public.
        hosts.check_destination(url, own_host=hosts.url_host(settings.TRACKING_BASE_URL))
    except hosts.DestinationRefused as refused:
        raise ValidationFailed(refused.message, field=field) from None
    return url


def validate_identifier(value: Any, *, field: str, max_length: int = IDENTIFIER_MAX) -> str:
    """Free-form category names (custom functions, types, sources) must be safe identifiers."""
    if not isinstance(value, str) or not value:
        raise ValidationFailed(f"{field} is required.", field=field)
    if len(value) > max_length or not IDENTIFIER_RE.fullmatch(value):
        raise ValidationFailed(
            f"{field} must be letters, digits, '_' or '-', at most {max_length} characters.",
            field=field,
        )
    return value


def is_valid_tracking_id(value: str) -> bool:
    """Whether ``value`` could be a tracking id at all (the redirect answers 404 otherwise)."""
    return bool(TRACKING_ID_RE.fullmatch(value)) and value not in RESERVED_TRACKING_IDS


def is_safe_identifier(value: str) -> bool:
    return bool(IDENTIFIER_RE.fullmatch(value))


def clean_text(value: Any, *, field: str, max_length: int) -> str | None:
    """Strip control characters and cap the length; over-long values are truncated, not refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be a string.", field=field)
    value = CONTROL_RE.sub("", value)[:max_length]
    return value or None


def clean_ip(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise ValidationFailed(
            "ip_address is not a valid IPv4 or IPv6 address.", field="ip_address"
        ) from None


def clean_metadata(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationFailed("metadata must be a JSON object.", field="metadata")
    if len(value) > METADATA_MAX_KEYS:
        raise ValidationFailed(
            f"metadata has more than {METADATA_MAX_KEYS} keys.", field="metadata"
        )
    try:
        encoded = json.dumps(dict(value), ensure_ascii=False)
    except (TypeError, ValueError):
        raise ValidationFailed("metadata must be JSON-serialisable.", field="metadata") from None
    if "\\u0000" in encoded:
        raise ValidationFailed("metadata must not contain NUL characters.", field="metadata")
    if len(encoded.encode()) > METADATA_MAX_BYTES:
        raise ValidationFailed(
            f"metadata is larger than {METADATA_MAX_BYTES} bytes.", field="metadata"
        )
    return dict(value)


def clean_clicked_at(value: dt.datetime | None) -> dt.datetime:
    now = timezone.now()
    if value is None:
        return now
    if not isinstance(value, dt.datetime):
        raise ValidationFailed("clicked_at must be a date and time.", field="clicked_at")
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    if value > now + dt.timedelta(seconds=settings.CLICK_FUTURE_SKEW_SECONDS):
        raise ValidationFailed("clicked_at is in the future.", field="clicked_at")
    return value


def validate_tracking_id(value: Any) -> str:
    """A tracking id chosen by the caller: safe characters, not too long, not a reserved path."""
    if not isinstance(value, str) or not TRACKING_ID_RE.fullmatch(value):
        raise ValidationFailed(
            f"tracking_id must be letters, digits, '_' or '-', at most {TRACKING_ID_MAX} "
            "characters.",
            field="tracking_id",
        )
    if value in RESERVED_TRACKING_IDS:
        raise ValidationFailed(
            f"tracking_id {value!r} is reserved (/track/{value} is not a link).",
            field="tracking_id",
        )
    return value


def parse_uuid(value: Any, *, field: str) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed(f"{field} is not a valid UUID.", field=field) from None


def required_text(value: Any, *, field: str, max_length: int) -> str:
    if not isinstance(value, str) or TEXT_CONTROL_RE.search(value):
        raise ValidationFailed(f"{field} must be text without control characters.", field=field)
    value = value if field == "notes" else value.strip()
    if len(value) > max_length:
        raise ValidationFailed(f"{field} is longer than {max_length} characters.", field=field)
    return value


# --- Link controls ---------------------------------------------------------------------------

UTM_MAX = max_length_of(TrackedLink, "utm_source")
PASSWORD_MAX = 128  # what a person types; the hash column holds Django's encoded hash


def clean_expires_at(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise ValidationFailed("expires_at must be a date and time.", field="expires_at")
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def clean_max_person_clicks(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
        raise ValidationFailed(
            "max_person_clicks must be a whole number of at least 1.", field="max_person_clicks"
        )
    return value


def clean_password(value: Any) -> str | None:
    """The password a visitor must type, or None (no password). Hashing is the caller's job."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or CONTROL_RE.search(value):
        raise ValidationFailed(
            "password must be text without control characters.", field="password"
        )
    if len(value) > PASSWORD_MAX:
        raise ValidationFailed(
            f"password is longer than {PASSWORD_MAX} characters.", field="password"
        )
    return value


def clean_utm(value: Any, *, field: str) -> str | None:
    """A UTM value appended to the destination: plain text, at most the column's length."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or CONTROL_RE.search(value):
        raise ValidationFailed(f"{field} must be text without control characters.", field=field)
    value = value.strip()
    if len(value) > UTM_MAX:
        raise ValidationFailed(f"{field} is longer than {UTM_MAX} characters.", field=field)
    return value or None
