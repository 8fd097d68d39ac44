"""Input rules shared by the write path: column limits, safe identifiers, destinations, values.

Limits that mirror a column are read from the model field, so a migration that widens a column
widens its check too. The character classes and control-character patterns are defined once here
and reused by the request capture (:mod:`tracking.clicks.capture`).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_plus, urlsplit

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
    if not (value.isascii() and value.isprintable()):  # printable ASCII has no control character
        value = CONTROL_RE.sub("", value)
    return value[:max_length] or None


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def normalize_ip(address: IPAddress) -> IPAddress:
    """The one form an address is stored and matched in.

    A dual-stack socket reports an IPv4 client as ``::ffff:203.0.113.7``; stored so, the click
    would escape every lookup by its real address (an erasure request names ``203.0.113.7``).
    IPv4-mapped addresses become IPv4; IPv6 addresses lose their zone (``%eth0``, meaningful only
    on the host that saw it) and are written in the canonical compressed form by ``str()``.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id:
            return ipaddress.IPv6Address(int(address))
    return address


def parse_ip(value: str) -> IPAddress | None:
    """``value`` as a normalised address (:func:`normalize_ip`), or None when it is not one."""
    try:
        return normalize_ip(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def clean_ip(value: Any) -> str | None:
    """An IP address from any caller (request, API, command line) in its stored form."""
    if value in (None, ""):
        return None
    stored = _stored_ip(str(value))
    if stored is None:
        raise ValidationFailed(
            "ip_address is not a valid IPv4 or IPv6 address.", field="ip_address"
        )
    return stored


# The click writer validates every click's address; the same ones come back (offices, gateways).
# ~150 B an entry: ~5 MB when full.
@functools.lru_cache(maxsize=32_768)
def _stored_ip(value: str) -> str | None:
    address = parse_ip(value)
    return None if address is None else str(address)


def stored_forms_of_ip(ip: str) -> list[str]:
    """Every form in which rows may hold the address ``ip`` (as :func:`clean_ip` returns it).

    Rows written before addresses were normalised, or by plain SQL from another system, can hold
    an IPv4 client as its IPv4-mapped IPv6 form; a lookup by address must find those too.
    """
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv4Address):
        return [ip, f"::ffff:{ip}"]
    return [ip]


# --- Metadata: what a click's query parameters may not keep ---------------------------------
#
# Tracked URLs get forwarded, and a link opened from a web page or a mail client can carry
# parameters its sender never put there: a recipient's e-mail address, a password-reset token,
# an access key. Such a parameter is dropped from a click's metadata, name and value. The rule
# (documented in docs/privacy.md) reads the name as words and the value as runs of token
# characters, each once: its cost is linear in the (capped) size of the parameter.

# Names whose words (``api_key``, ``authCode``, ``X-Session-Id`` …) say the value is a credential
# or a way to reach a person.
_SECRET_NAME_WORDS = frozenset(
    {
        "auth", "authorization", "bearer", "code", "credential", "credentials", "email", "jwt",
        "key", "mail", "otp", "pass", "passphrase", "passwd", "password", "phone", "pin", "pwd",
        "secret", "session", "sid", "sig", "signature", "tel", "token",
    }
)  # fmt: skip
# The same, run together without separators (``accesstoken``, ``apikey``, ``sessionid``).
_SECRET_NAME_PARTS = (
    "apikey", "authorization", "credential", "email", "passw", "secret", "sessionid",
    "signature", "token",
)  # fmt: skip
_NAME_WORD_BREAK_RE = re.compile(r"([a-z0-9])([A-Z])")
_NAME_SEPARATOR_RE = re.compile(r"[^a-z0-9]+")
# An e-mail address: local part, "@", a dotted domain. The look-behind starts a match only at the
# beginning of a run of address characters, which keeps the search linear.
_EMAIL_RE = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Runs of base64, base64url, hex and JWT characters long enough to be a secret.
_TOKEN_RUN_RE = re.compile(r"[A-Za-z0-9+/=_.~-]{20,}")
_HEX_RUN_RE = re.compile(r"[0-9A-Fa-f]{32,}")
# A UUID in its canonical form names a record (an application, a job), not a secret: it is kept,
# unless the parameter's name says it is a credential.
_UUID_RE = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)
# The "words" of an identifier: camel-case words, capital runs, numbers. Natural names
# (``SummerCampaign2025``, ``linkedin-outreach-q3``) have long words; random strings, whose
# letter case and digits alternate at random, average under three characters a word.
_TOKEN_WORD_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_TOKEN_MIN_CHARS = 20
_TOKEN_MAX_WORD_LENGTH = 3.0


@functools.lru_cache(maxsize=512)  # the same few names (utm_source, …) come back all the time
def is_secret_name(name: str) -> bool:
    """Whether a parameter named ``name`` holds a credential or contact detail (see above)."""
    words = _NAME_SEPARATOR_RE.split(_NAME_WORD_BREAK_RE.sub(r"\1 \2", name).lower())
    if any(word in _SECRET_NAME_WORDS for word in words):
        return True
    squashed = "".join(words)
    return any(part in squashed for part in _SECRET_NAME_PARTS)


def _looks_random(run: str) -> bool:
    words = _TOKEN_WORD_RE.findall(run)
    chars = sum(map(len, words))
    return chars >= _TOKEN_MIN_CHARS and chars / len(words) < _TOKEN_MAX_WORD_LENGTH


def is_secret_value(value: str) -> bool:
    """Whether ``value`` holds an e-mail address, a JWT, a long hex string or a random token."""
    if ("@" in value or "%40" in value) and _EMAIL_RE.search(value.replace("%40", "@")):
        return True
    if "-" in value:
        value = _UUID_RE.sub(" ", value)
    for match in _TOKEN_RUN_RE.finditer(value):
        run = match.group()
        pieces = run.split(".")
        if len(pieces) >= 3 and pieces[0].startswith("eyJ"):  # a JWT: base64url JSON header
            return True
        for hex_run in _HEX_RUN_RE.findall(run):
            if not (hex_run.isdigit() or hex_run.isalpha()):  # a long number is not a secret
                return True
        if any(_looks_random(piece) for piece in pieces):
            return True
    return False


def is_secret_parameter(name: str, value: Any) -> bool:
    """Whether the metadata entry ``name``/``value`` must not be stored (see above)."""
    if is_secret_name(name) or is_secret_value(name):
        return True
    return isinstance(value, str) and is_secret_value(value)


def without_secrets(value: Any) -> Any:
    """``value`` (a JSON value) without the entries :func:`is_secret_parameter` refuses, at any
    depth; each node is looked at once."""
    if isinstance(value, Mapping):
        return {
            key: without_secrets(item)
            for key, item in value.items()
            if not is_secret_parameter(str(key), item)
        }
    if isinstance(value, list):
        return [
            without_secrets(item)
            for item in value
            if not (isinstance(item, str) and is_secret_value(item))
        ]
    return value


# A referrer's query and fragment are checked one parameter at a time, at most this many; the
# rest of a longer one is dropped (a real referrer has a handful).
REFERRER_MAX_PARAMS = 20


def referrer_without_secrets(url: str) -> str:
    """``url`` (a referrer) without the query or fragment parameters that
    :func:`is_secret_parameter` refuses, and without user info (``user:password@``).

    A page's address can hold the same e-mail addresses and tokens as a tracked link's query
    (``/inbox?email=…``, ``#access_token=…``); the referrer must not keep them either. Parameters
    are kept as they were written (not re-encoded), so an innocent referrer is stored unchanged.
    """
    if "?" not in url and "#" not in url and "@" not in url:
        return url  # the usual referrer, an origin or a path: nothing to look at
    base, hash_mark, fragment = url.partition("#")
    base, question_mark, query = base.partition("?")
    scheme, separator, rest = base.partition("://")
    if separator:
        authority, slash, path = rest.partition("/")
        base = f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
    query = _without_secret_parameters(query) if question_mark else ""
    fragment = _without_secret_parameters(fragment) if hash_mark else ""
    return base + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")


def _without_secret_parameters(text: str) -> str:
    kept: list[str] = []
    for number, part in enumerate(text.split("&", REFERRER_MAX_PARAMS)):
        if number == REFERRER_MAX_PARAMS:
            break  # the rest, unchecked, is left out
        name, _equals, value = part.partition("=")
        if not is_secret_parameter(unquote_plus(name), unquote_plus(value)):
            kept.append(part)
    return "&".join(kept)


def clean_metadata(value: Any) -> dict[str, Any]:
    """A click's metadata: a bounded JSON object, without credentials or contact details."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationFailed("metadata must be a JSON object.", field="metadata")
    if not value:
        return {}  # most clicks: nothing to measure or filter
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
    # Filtered after the size check, so the filter's cost is bounded by METADATA_MAX_BYTES.
    cleaned: dict[str, Any] = without_secrets(value)
    return cleaned


def clean_clicked_at(value: dt.datetime | None) -> dt.datetime:
    now = timezone.now()
    if value is None:
        return now
    if not isinstance(value, dt.datetime):
        raise ValidationFailed("clicked_at must be a date and time.", field="clicked_at")
    if value.tzinfo is not dt.UTC:  # already in UTC (the click writer's times): nothing to do
        if timezone.is_naive(value):
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
    if value > now + dt.timedelta(seconds=settings.CLICK_FUTURE_SKEW_SECONDS):
        raise ValidationFailed("clicked_at is in the future.", field="clicked_at")
    return value


def validate_reported_clicked_at(value: dt.datetime | None) -> None:
    """The time of a click another system reports: not older than the click retention period.

    Such a click would be purged by the next maintenance run, and an absurd time (the year 2)
    would have the rollups walk every day since. The future is refused by
    :func:`clean_clicked_at` already.
    """
    days = settings.CLICK_RETENTION_DAYS
    if value is not None and value < timezone.now() - dt.timedelta(days=days):
        raise ValidationFailed(
            f"clicked_at is older than the click retention period ({days} days, "
            "CLICK_RETENTION_DAYS); such clicks are not kept.",
            field="clicked_at",
        )


def validate_after_link_creation(
    clicked_at: dt.datetime | None, link_created_at: dt.datetime | None, *, skew: dt.timedelta
) -> None:
    """A reported click cannot be older than its link, beyond the clocks' skew.

    Nobody can open a link before it exists: such a time is a wrong clock, a wrong time zone or
    a click meant for another link, and stored it would count as a person and make the link's
    first click precede its creation. A click up to ``skew`` (``CLICK_FUTURE_SKEW_SECONDS``, the
    tolerance the future gets too) before the creation is accepted: the other system's clock may
    run behind ours. It is then judged as one made at once after the creation (a scanner).
    """
    if clicked_at is None or link_created_at is None or clicked_at >= link_created_at - skew:
        return
    raise ValidationFailed(
        f"clicked_at {clicked_at.astimezone(dt.UTC).isoformat()} is before the link was created "
        f"at {link_created_at.astimezone(dt.UTC).isoformat()} (beyond a clock skew of "
        f"{int(skew.total_seconds())} s): a click cannot precede its link.",
        field="clicked_at",
    )


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
