"""The one write path for links and clicks (seed 001's ``LinkTracker``).

Views, the API, the admin and management commands call these functions; nothing else creates or
changes ``link_tracking`` and ``link_clicks`` rows. Every function is keyword-only and validates its
input before touching the database, raising a :class:`ServiceError` subclass that names the field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import string
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.utils import timezone

from tracking import hosts, linkcache, signals
from tracking.models import (
    ClickSource,
    Job,
    JobApplication,
    LinkClick,
    LinkFunction,
    LinkType,
    ProfileLink,
    TrackedLink,
)

TRACKING_ID_MAX = 100
IDENTIFIER_MAX = 50
URL_MAX = 1000
USER_AGENT_MAX = 1000
REFERRER_MAX = 1000
SESSION_ID_MAX = 100
CREATED_BY_MAX = 100
METADATA_MAX_KEYS = 50
METADATA_MAX_BYTES = 8192

# Paths under /track/ that are not links: a link with such an id could never be reached.
RESERVED_TRACKING_IDS = frozenset({"health"})
_TRACKING_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z0-9_-]{1,50}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_GENERATED_ID_ALPHABET = string.ascii_lowercase + string.digits
_GENERATED_ID_LENGTH = 16

# Referrer host suffixes that mean "opened from a webmail client" (seed 001 source table).
_EMAIL_HOSTS = (
    "mail.google.com",
    "gmail.com",
    "outlook.com",
    "outlook.live.com",
    "outlook.office.com",
    "outlook.office365.com",
    "hotmail.com",
    "live.com",
    "mail.yahoo.com",
    "mail.aol.com",
    "mail.proton.me",
    "protonmail.com",
    "icloud.com",
    "fastmail.com",
    "mail.zoho.com",
    "hey.com",
    "gmx.com",
    "gmx.net",
    "web.de",
    "yandex.ru",
    "mail.ru",
)
_LINKEDIN_HOSTS = ("linkedin.com", "lnkd.in")


# --- Errors ---------------------------------------------------------------------------------


class ServiceError(Exception):
    """Base of the errors the write path raises; each maps to one HTTP status in the API."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["fields"] = {self.field: [self.message]}
        return body


class ValidationFailed(ServiceError):
    code = "invalid"


class LinkNotFound(ServiceError):
    code = "not_found"


class LinkInactive(ServiceError):
    code = "link_inactive"


class Conflict(ServiceError):
    code = "conflict"


# --- Validation -----------------------------------------------------------------------------


def _tracking_host() -> str:
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
    if len(value) > max_length or not _IDENTIFIER_RE.fullmatch(value):
        raise ValidationFailed(
            f"{field} must be letters, digits, '_' or '-', at most {max_length} characters.",
            field=field,
        )
    return value


def is_valid_tracking_id(value: str) -> bool:
    """Whether ``value`` could be a tracking id at all (the redirect answers 404 otherwise)."""
    return bool(_TRACKING_ID_RE.fullmatch(value)) and value not in RESERVED_TRACKING_IDS


def is_safe_identifier(value: str) -> bool:
    return bool(_IDENTIFIER_RE.fullmatch(value))


def _clean_text(value: Any, *, field: str, max_length: int) -> str | None:
    """Strip control characters and cap the length; over-long values are truncated, not refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be a string.", field=field)
    value = _CONTROL_RE.sub("", value)[:max_length]
    return value or None


def _clean_ip(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise ValidationFailed(
            "ip_address is not a valid IPv4 or IPv6 address.", field="ip_address"
        ) from None


def _clean_metadata(value: Any) -> dict[str, Any]:
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


def _clean_clicked_at(value: dt.datetime | None) -> dt.datetime:
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


# --- Identifiers ----------------------------------------------------------------------------


def generate_tracking_id() -> str:
    """``lt_`` plus 16 characters from a CSPRNG (≈ 82 bits), like the seed's ``lt_abc123def456``."""
    return "lt_" + "".join(
        secrets.choice(_GENERATED_ID_ALPHABET) for _ in range(_GENERATED_ID_LENGTH)
    )


def new_click_id() -> uuid.UUID:
    """A time-ordered UUID (version 7, RFC 9562): generated by the client, sorts by creation time."""
    unix_ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 64) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def redirect_url_for(tracking_id: str) -> str:
    return f"{settings.TRACKING_BASE_URL}/track/{tracking_id}"


# --- Links ----------------------------------------------------------------------------------


def _resolve_associations(
    job_id: Any, application_id: Any
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    job_uuid = _parse_uuid(job_id, field="job_id")
    app_uuid = _parse_uuid(application_id, field="application_id")
    if job_uuid and not Job.objects.filter(pk=job_uuid).exists():
        raise ValidationFailed("No job has this job_id.", field="job_id")
    if app_uuid:
        app_job = (
            JobApplication.objects.filter(pk=app_uuid).values_list("job_id", flat=True).first()
        )
        if app_job is None:
            raise ValidationFailed(
                "No application has this application_id.", field="application_id"
            )
        if job_uuid is None:
            # A link tied to an application belongs to that application's job.
            job_uuid = app_job
        elif app_job != job_uuid:
            raise ValidationFailed(
                "The application belongs to a different job.", field="application_id"
            )
    return job_uuid, app_uuid


def _parse_uuid(value: Any, *, field: str) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed(f"{field} is not a valid UUID.", field=field) from None


def create_tracked_link(
    *,
    original_url: str,
    link_function: str,
    link_type: str,
    job_id: str | uuid.UUID | None = None,
    application_id: str | uuid.UUID | None = None,
    description: str | None = None,
    created_by: str | None = "system",
    tracking_id: str | None = None,
) -> dict[str, Any]:
    """Create a tracked link and return its fields with ``tracking_id`` and ``redirect_url``."""
    original_url = validate_destination_url(original_url)
    link_function = validate_identifier(link_function, field="link_function")
    link_type = validate_identifier(link_type, field="link_type")
    if tracking_id is not None:
        if not isinstance(tracking_id, str) or not _TRACKING_ID_RE.fullmatch(tracking_id):
            raise ValidationFailed(
                "tracking_id must be letters, digits, '_' or '-', at most 100 characters.",
                field="tracking_id",
            )
        if tracking_id in RESERVED_TRACKING_IDS:
            raise ValidationFailed(
                f"tracking_id {tracking_id!r} is reserved (/track/{tracking_id} is not a link).",
                field="tracking_id",
            )
    if description is not None and not isinstance(description, str):
        raise ValidationFailed("description must be a string.", field="description")
    created_by = _clean_text(created_by, field="created_by", max_length=CREATED_BY_MAX) or "system"
    job_uuid, app_uuid = _resolve_associations(job_id, application_id)

    chosen_id = tracking_id or generate_tracking_id()
    for _attempt in range(5):
        link = TrackedLink(
            tracking_id=chosen_id,
            job_id=job_uuid,
            application_id=app_uuid,
            link_function=link_function,
            link_type=link_type,
            original_url=original_url,
            redirect_url=redirect_url_for(chosen_id),
            created_at=timezone.now(),
            created_by=created_by,
            is_active=True,
            description=description,
        )
        try:
            with transaction.atomic():
                link.save(force_insert=True)
        except IntegrityError:
            if tracking_id is not None:
                raise Conflict(
                    "A link with this tracking_id already exists.", field="tracking_id"
                ) from None
            chosen_id = generate_tracking_id()
            continue
        _invalidate(link.tracking_id)
        return link.to_dict()
    raise Conflict("Could not allocate a unique tracking_id.", field="tracking_id")


def _invalidate(tracking_id: str) -> None:
    """Drop a changed link from the caches now and again once the change is committed.

    The second pass closes the race where a concurrent redirect re-caches the old row between the
    first invalidation and the commit.
    """
    linkcache.invalidate_link(tracking_id)
    transaction.on_commit(lambda: linkcache.invalidate_link(tracking_id))


def get_link(*, tracking_id: str) -> TrackedLink:
    link = (
        TrackedLink.objects.filter(tracking_id=tracking_id).first()
        if is_valid_tracking_id(tracking_id)
        else None
    )
    if link is None:
        raise LinkNotFound("No link has this tracking_id.", field="tracking_id")
    return link


_UPDATABLE = {
    "original_url",
    "link_function",
    "link_type",
    "description",
    "is_active",
    "job_id",
    "application_id",
}


def update_tracked_link(*, tracking_id: str, **changes: Any) -> dict[str, Any]:
    """Change a link's destination, category, description, associations or active flag."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"{name} cannot be changed.", field=name)
    with transaction.atomic():
        link = get_link(tracking_id=tracking_id)
        if "original_url" in changes:
            link.original_url = validate_destination_url(changes["original_url"])
        if "link_function" in changes:
            link.link_function = validate_identifier(
                changes["link_function"], field="link_function"
            )
        if "link_type" in changes:
            link.link_type = validate_identifier(changes["link_type"], field="link_type")
        if "description" in changes:
            description = changes["description"]
            if description is not None and not isinstance(description, str):
                raise ValidationFailed("description must be a string.", field="description")
            link.description = description
        if "is_active" in changes:
            if not isinstance(changes["is_active"], bool):
                raise ValidationFailed("is_active must be true or false.", field="is_active")
            link.is_active = changes["is_active"]
        if "job_id" in changes or "application_id" in changes:
            link.job_id, link.application_id = _resolve_associations(
                changes.get("job_id", link.job_id),
                changes.get("application_id", link.application_id),
            )
        link.save()
        _invalidate(tracking_id)
    return link.to_dict()


def set_link_active(*, tracking_id: str, is_active: bool) -> dict[str, Any]:
    return update_tracked_link(tracking_id=tracking_id, is_active=is_active)


def delete_tracked_link(*, tracking_id: str) -> None:
    """Delete a link and (by the database's cascade) its clicks."""
    with transaction.atomic():
        link = get_link(tracking_id=tracking_id)
        link.delete()
        _invalidate(tracking_id)


# --- Clicks ---------------------------------------------------------------------------------


def _host_matches(host: str, suffixes: tuple[str, ...]) -> bool:
    return any(host == suffix or host.endswith("." + suffix) for suffix in suffixes)


def detect_click_source(referrer_url: str | None) -> str:
    """Classify a referrer into the seed's click sources."""
    if not referrer_url:
        return ClickSource.DIRECT
    try:
        host = (urlsplit(referrer_url.strip()).hostname or "").lower().rstrip(".")
    except ValueError:
        return ClickSource.EXTERNAL
    if not host:
        return ClickSource.EXTERNAL
    if host == _tracking_host():
        return ClickSource.DASHBOARD
    if _host_matches(host, _EMAIL_HOSTS):
        return ClickSource.EMAIL
    if _host_matches(host, _LINKEDIN_HOSTS):
        return ClickSource.LINKEDIN
    if host == "indeed.com" or ".indeed." in f".{host}." or host.startswith("indeed."):
        return ClickSource.INDEED
    return ClickSource.EXTERNAL


def build_click(
    *,
    tracking_id: str,
    clicked_at: dt.datetime | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
    referrer_url: str | None = None,
    session_id: str | None = None,
    click_source: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    click_id: str | uuid.UUID | None = None,
    http_method: str | None = None,
) -> LinkClick:
    """Validate and normalise one click into an unsaved row (no database access)."""
    referrer = _clean_text(referrer_url, field="referrer_url", max_length=REFERRER_MAX)
    if click_source is None:
        source = detect_click_source(referrer)
    else:
        source = validate_identifier(click_source, field="click_source")
    return LinkClick(
        click_id=_parse_uuid(click_id, field="click_id") or new_click_id(),
        tracking_id=tracking_id,
        clicked_at=_clean_clicked_at(clicked_at),
        ip_address=_clean_ip(ip_address),
        user_agent=_clean_text(user_agent, field="user_agent", max_length=USER_AGENT_MAX),
        referrer_url=referrer,
        session_id=_clean_text(session_id, field="session_id", max_length=SESSION_ID_MAX),
        click_source=source,
        metadata=_clean_metadata(metadata),
        http_method=_clean_text(http_method, field="http_method", max_length=10),
    )


def record_click(
    *,
    tracking_id: str,
    clicked_at: dt.datetime | None = None,
    ip_address: str | None = None,
    user_agent: str | None = None,
    referrer_url: str | None = None,
    session_id: str | None = None,
    click_source: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    click_id: str | uuid.UUID | None = None,
    http_method: str | None = None,
) -> dict[str, Any]:
    """Record one click on an active link; returns ``click_id`` and ``clicked_at``.

    Sending the same ``click_id`` again stores nothing new (idempotent retries). With the link in
    the cache this is exactly one INSERT.
    """
    if not isinstance(tracking_id, str) or not is_valid_tracking_id(tracking_id):
        raise LinkNotFound("No link has this tracking_id.", field="tracking_id")
    if linkcache.resolve_link(tracking_id) is None:
        if TrackedLink.objects.filter(tracking_id=tracking_id).exists():
            raise LinkInactive("This link is inactive.", field="tracking_id")
        raise LinkNotFound("No link has this tracking_id.", field="tracking_id")
    click = build_click(
        tracking_id=tracking_id,
        clicked_at=clicked_at,
        ip_address=ip_address,
        user_agent=user_agent,
        referrer_url=referrer_url,
        session_id=session_id,
        click_source=click_source,
        metadata=metadata,
        click_id=click_id,
        http_method=http_method,
    )
    store_clicks([click])
    return {"click_id": str(click.click_id), "clicked_at": click.clicked_at}


def insert_click(click: LinkClick) -> None:
    """Insert one new click with a single statement (the redirect's hot path).

    Unlike :func:`store_clicks` this opens no transaction (one round trip, not three) and is not
    idempotent: use it only for a click whose ``click_id`` was just generated.
    """
    click.save(force_insert=True)


def store_clicks(clicks: list[LinkClick]) -> None:
    """Insert clicks idempotently: a click whose ``click_id`` is already stored is skipped."""
    if clicks:
        LinkClick.objects.bulk_create(clicks, ignore_conflicts=True)


# --- Burst rule (clicks reclassified after they are stored) -----------------------------------

BURST_WINDOW = dt.timedelta(seconds=2)


def apply_burst_rule(
    *,
    click_id: uuid.UUID,
    tracking_id: str,
    application_id: str,
    network: str,
    clicked_at: dt.datetime,
) -> int:
    """Reclassify the clicks of one application opened from one network within two seconds.

    Email scanners open every link of a message at once; a person does not. When, within
    ``BURST_WINDOW`` of the stored click ``click_id``, another link of ``application_id`` was
    clicked from the same ``network`` (the /24 or /48 of :func:`tracking.classify.burst_network`),
    every click of that group gets the ``burst`` reason and those that looked human become
    ``scanner`` (earlier ones included). Returns the number of rows changed.

    The network of ``click_id`` itself is passed in because a Do-Not-Track click stores no IP;
    earlier Do-Not-Track clicks cannot be matched for the same reason.
    """
    from tracking import classify

    window = (clicked_at - BURST_WINDOW, clicked_at + BURST_WINDOW)
    in_window = LinkClick.objects.filter(
        tracking__application_id=uuid.UUID(application_id), clicked_at__range=window
    )
    fields = ("click_id", "tracking_id", "ip_address", "classification", "classification_reasons")
    # First the cheap question, other links only (the common answer is "none").
    others = [
        row
        for row in in_window.exclude(tracking_id=tracking_id).values_list(*fields)[:200]
        if classify.burst_network(row[2]) == network
    ]
    if not others:
        return 0
    same_link = [
        row
        for row in in_window.filter(tracking_id=tracking_id).values_list(*fields)[:200]
        if row[0] == click_id or classify.burst_network(row[2]) == network
    ]
    changed = []
    for row_id, _tracking_id, _ip, classification, reasons in others + same_link:
        reasons = list(reasons or [])
        if "burst" in reasons:
            continue
        reasons.append("burst")
        if classification in (None, "human"):
            classification = classify.classification_for(reasons)
        changed.append(
            LinkClick(
                click_id=row_id, classification=classification, classification_reasons=reasons
            )
        )
    if changed:
        LinkClick.objects.bulk_update(changed, ["classification", "classification_reasons"])
    return len(changed)


# --- Clicks reported by external redirect domains (REST API) ------------------------------

# Up to this many distinct links per batch are resolved through the link cache (no query when
# warm); a batch over more links is resolved with one query instead of one lookup per link.
_CACHED_RESOLVE_MAX = 10


def _resolve_reported_links(
    tracking_ids: set[str],
) -> dict[str, tuple[bool, dt.datetime | None]]:
    """``{tracking_id: (active, created_at)}`` for the ids that name a link."""
    found: dict[str, tuple[bool, dt.datetime | None]] = {}
    missing = tracking_ids
    if len(tracking_ids) <= _CACHED_RESOLVE_MAX:
        for tracking_id in tracking_ids:
            resolved = linkcache.resolve_link(tracking_id)
            if resolved is not None:
                found[tracking_id] = (True, resolved.created_at)
        missing = tracking_ids - found.keys()
    if missing:
        rows = TrackedLink.objects.filter(tracking_id__in=missing).values_list(
            "tracking_id", "is_active", "created_at"
        )
        for tracking_id, is_active, created_at in rows:
            found[tracking_id] = (is_active is not False, created_at)
    return found


def _prepare_reported_clicks(items: list[Mapping[str, Any]]) -> list[LinkClick | ServiceError]:
    """Validate, normalise and classify clicks sent by an external redirect domain.

    Each item holds :func:`build_click` arguments plus an optional ``accept_language`` (the
    visitor's header, when the domain forwards it; absent means unknown, not missing). The
    classification uses what the domain sent: user agent, method, IP, time since the link was
    created. The burst rule, which compares clicks of one application, is left to the redirect.
    """
    # Imported here: the recorder imports this module.
    from tracking.classify import ClickSignals
    from tracking.recorder import classify_into

    wanted = {
        item["tracking_id"]
        for item in items
        if isinstance(item.get("tracking_id"), str) and is_valid_tracking_id(item["tracking_id"])
    }
    links = _resolve_reported_links(wanted)
    skew = dt.timedelta(seconds=settings.CLICK_FUTURE_SKEW_SECONDS)
    prepared: list[LinkClick | ServiceError] = []
    for item in items:
        fields = dict(item)
        accept_language = fields.pop("accept_language", None)
        tracking_id = fields.get("tracking_id")
        try:
            if tracking_id not in links:
                raise LinkNotFound("No link has this tracking_id.", field="tracking_id")
            active, link_created_at = links[tracking_id]
            if not active:
                raise LinkInactive("This link is inactive.", field="tracking_id")
            click = build_click(**fields)
        except ServiceError as exc:
            prepared.append(exc)
            continue
        if (
            link_created_at is not None
            and click.clicked_at is not None
            and click.clicked_at < link_created_at - skew
        ):
            # Older than the link beyond clock skew: a backfilled click, not a fast scanner.
            link_created_at = None
        signals = ClickSignals(
            user_agent=click.user_agent,
            client_ip=click.ip_address,
            has_accept_language=accept_language is None or bool(str(accept_language).strip()),
            link_created_at=link_created_at,
            application_id=None,
        )
        classify_into(click, signals)
        prepared.append(click)
    return prepared


def record_reported_click(**fields: Any) -> dict[str, Any]:
    """Record one click reported by an external redirect domain; returns click_id, clicked_at.

    Like :func:`record_click`, plus classification; the same ``click_id`` sent twice is stored
    once. With the link in the cache this is one INSERT.
    """
    [outcome] = _prepare_reported_clicks([fields])
    if isinstance(outcome, ServiceError):
        raise outcome
    store_clicks([outcome])
    return {"click_id": str(outcome.click_id), "clicked_at": outcome.clicked_at}


# --- Profile links and job-application link packages ----------------------------------------

# Functions a package takes from the job itself rather than from the profile links.
JOB_URL_FUNCTIONS = {
    LinkFunction.JOB_POSTING.value: ("posting_url", LinkType.JOB_POSTING.value, "Job posting"),
    LinkFunction.APPLY_NOW.value: ("apply_url", LinkType.APPLICATION.value, "Apply now"),
}
PACKAGE_CREATED_BY = "link-package"


def validate_profile_link(*, link_function: Any, link_type: Any, url: Any) -> dict[str, str]:
    """Check a profile link with the same rules as a tracked link; return the cleaned values."""
    link_function = validate_identifier(link_function, field="link_function")
    if link_function in JOB_URL_FUNCTIONS:
        raise ValidationFailed(
            f"{link_function} links come from the job's own URL, not from a profile link.",
            field="link_function",
        )
    return {
        "link_function": link_function,
        "link_type": validate_identifier(link_type, field="link_type"),
        "url": validate_destination_url(url, field="url"),
    }


def validate_link_input(
    *,
    original_url: Any,
    link_function: Any,
    link_type: Any,
    job_id: Any = None,
    application_id: Any = None,
) -> dict[str, Any]:
    """Run the checks of ``create_tracked_link`` without writing (forms validate before saving).

    Returns the cleaned values; ``job_id`` is filled from the application when only that is given.
    """
    original_url = validate_destination_url(original_url)
    link_function = validate_identifier(link_function, field="link_function")
    link_type = validate_identifier(link_type, field="link_type")
    job_uuid, app_uuid = _resolve_associations(job_id, application_id)
    return {
        "original_url": original_url,
        "link_function": link_function,
        "link_type": link_type,
        "job_id": job_uuid,
        "application_id": app_uuid,
    }


def _package_sources(
    application: JobApplication, functions: list[str] | None
) -> list[tuple[str, str, str, str | None, str]]:
    """(function, link_type, url, description, field) for each link the package should hold."""
    sources = [
        (p.link_function, p.link_type, p.url, p.description or None, "profile_links")
        for p in ProfileLink.objects.filter(is_active=True).order_by("order", "link_function")
    ]
    job = application.job
    for function, (attribute, link_type, label) in JOB_URL_FUNCTIONS.items():
        url = getattr(job, attribute)
        if url:
            sources.append((function, link_type, url, f"{label}: {job}", attribute))
    if functions is None:
        return sources
    available = {source[0] for source in sources}
    missing = [name for name in functions if name not in available]
    if missing:
        raise ValidationFailed(
            f"No active profile link or job URL for: {', '.join(missing)}.", field="functions"
        )
    return [source for source in sources if source[0] in functions]


def _clean_functions(functions: Any) -> list[str] | None:
    if functions is None:
        return None
    if isinstance(functions, str) or not isinstance(functions, list | tuple | set | frozenset):
        raise ValidationFailed("functions must be a list of link functions.", field="functions")
    return [validate_identifier(name, field="functions") for name in functions]


def package_links(*, application_id: Any) -> dict[str, TrackedLink]:
    """The active links of an application by function, oldest first (what a package reuses)."""
    links: dict[str, TrackedLink] = {}
    for link in (
        TrackedLink.objects.filter(application_id=application_id)
        .exclude(is_active=False)
        .order_by("created_at", "tracking_id")
    ):
        links.setdefault(link.link_function, link)
    return links


def create_job_application_links(
    *, application_id: str | uuid.UUID, functions: list[str] | None = None
) -> dict[str, str]:
    """Seed 001's link package: ``{function: redirect_url}`` for an application.

    One link per active profile link (in their order), plus ``Job_Posting`` and ``Apply_Now`` when
    the job has those URLs; ``functions`` narrows the package. Idempotent: an active link the
    application already has for a function is returned as it is, and only missing ones are created.
    An inactive link was switched off on purpose, so it is not reused and a new one is created.
    """
    app_uuid = _parse_uuid(application_id, field="application_id")
    if app_uuid is None:
        raise ValidationFailed("application_id is required.", field="application_id")
    wanted = _clean_functions(functions)
    with transaction.atomic():
        # Locking the application row serialises concurrent calls for it: the second one waits,
        # then sees the links the first created and creates none of its own.
        application = (
            JobApplication.objects.select_for_update(of=("self",))
            .select_related("job")
            .filter(pk=app_uuid)
            .first()
        )
        if application is None:
            raise ObjectNotFound("No application has this application_id.", field="application_id")
        existing = package_links(application_id=app_uuid)
        package: dict[str, str] = {}
        for function, link_type, url, description, field in _package_sources(application, wanted):
            if function in existing:
                package[function] = existing[function].redirect_url
                continue
            try:
                created = create_tracked_link(
                    original_url=url,
                    link_function=function,
                    link_type=link_type,
                    job_id=application.job_id,
                    application_id=app_uuid,
                    description=description,
                    created_by=PACKAGE_CREATED_BY,
                )
            except ValidationFailed as exc:
                raise ValidationFailed(
                    f"The {function} URL cannot be tracked: {exc.message}", field=field
                ) from None
            package[function] = created["redirect_url"]
    return package


# --- Batch click recording (REST API) ------------------------------------------------------


def record_clicks(*, clicks: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Record a batch of reported clicks; one result per item, in order.

    ``{"status": "stored", "click_id", "clicked_at"}`` or ``{"status": "rejected", "error":
    ServiceError.as_dict()}``. The valid clicks go in with one bulk INSERT; already-stored
    ``click_id`` values are skipped (idempotent retries).
    """
    results: list[dict[str, Any]] = []
    valid: list[LinkClick] = []
    for outcome in _prepare_reported_clicks(clicks):
        if isinstance(outcome, ServiceError):
            results.append({"status": "rejected", "error": outcome.as_dict()})
            continue
        valid.append(outcome)
        results.append(
            {
                "status": "stored",
                "click_id": str(outcome.click_id),
                "clicked_at": outcome.clicked_at,
            }
        )
    store_clicks(valid)
    return results


# --- Jobs and applications (REST API) ------------------------------------------------------


class ObjectNotFound(ServiceError):
    code = "not_found"


_JOB_TEXT_FIELDS = {"title": 300, "company_name": 255, "location": 255, "notes": 10_000}
_JOB_URL_FIELDS = ("posting_url", "apply_url")
_APPLICATION_TEXT_FIELDS = {"contact_name": 255, "contact_email": 255, "notes": 10_000}
# Control characters other than tab and line breaks (PostgreSQL cannot even store NUL).
_TEXT_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _required_text(value: Any, *, field: str, max_length: int) -> str:
    if not isinstance(value, str) or _TEXT_CONTROL_RE.search(value):
        raise ValidationFailed(f"{field} must be text without control characters.", field=field)
    value = value if field == "notes" else value.strip()
    if len(value) > max_length:
        raise ValidationFailed(f"{field} is longer than {max_length} characters.", field=field)
    return value


def _apply_job_changes(job: Job, changes: Mapping[str, Any]) -> None:
    unknown = set(changes) - set(_JOB_TEXT_FIELDS) - set(_JOB_URL_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"{name} cannot be set on a job.", field=name)
    for field, max_length in _JOB_TEXT_FIELDS.items():
        if field in changes:
            setattr(job, field, _required_text(changes[field], field=field, max_length=max_length))
    for field in _JOB_URL_FIELDS:
        if field in changes:
            url = changes[field]
            setattr(job, field, validate_destination_url(url, field=field) if url else "")
    if not job.title:
        raise ValidationFailed("title is required.", field="title")


def create_job(*, title: str, **fields: Any) -> Job:
    """Create a job (``title`` plus optional company_name, posting_url, apply_url, location…)."""
    job = Job()
    _apply_job_changes(job, {"title": title, **fields})
    job.save(force_insert=True)
    return job


def get_job(*, job_id: str | uuid.UUID) -> Job:
    job_uuid = _parse_uuid(job_id, field="job_id")
    job = Job.objects.filter(pk=job_uuid).first() if job_uuid else None
    if job is None:
        raise ObjectNotFound("No job has this id.", field="job_id")
    return job


def update_job(*, job_id: str | uuid.UUID, **changes: Any) -> Job:
    with transaction.atomic():
        job = get_job(job_id=job_id)
        _apply_job_changes(job, changes)
        job.save()
    return job


def delete_job(*, job_id: str | uuid.UUID) -> None:
    """Delete a job and its applications; its links stay, detached (seed: ON DELETE SET NULL)."""
    with transaction.atomic():
        _delete_keeping_links(get_job(job_id=job_id))


def _delete_keeping_links(owner: Job | JobApplication) -> None:
    """Delete a job or application; the database detaches its links, whose caches are dropped."""
    tracking_ids = list(owner.links.values_list("tracking_id", flat=True))
    owner.delete()
    for tracking_id in tracking_ids:
        _invalidate(tracking_id)


def _apply_application_changes(application: JobApplication, changes: Mapping[str, Any]) -> None:
    from django.core.exceptions import ValidationError as DjangoValidationError
    from django.core.validators import validate_email

    from tracking.models import ApplicationStatus

    allowed = {"status", "submitted_at", *_APPLICATION_TEXT_FIELDS}
    unknown = set(changes) - allowed
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"{name} cannot be set on an application.", field=name)
    for field, max_length in _APPLICATION_TEXT_FIELDS.items():
        if field in changes:
            value = _required_text(changes[field], field=field, max_length=max_length)
            setattr(application, field, value)
    if application.contact_email:
        try:
            validate_email(application.contact_email)
        except DjangoValidationError:
            raise ValidationFailed(
                "contact_email is not a valid e-mail address.", field="contact_email"
            ) from None
    if "status" in changes:
        if changes["status"] not in ApplicationStatus.values:
            raise ValidationFailed(
                f"status must be one of {', '.join(ApplicationStatus.values)}.", field="status"
            )
        application.status = changes["status"]
    if "submitted_at" in changes:
        submitted_at = changes["submitted_at"]
        if submitted_at is not None and not isinstance(submitted_at, dt.datetime):
            raise ValidationFailed("submitted_at must be a date and time.", field="submitted_at")
        if submitted_at is not None and timezone.is_naive(submitted_at):
            submitted_at = submitted_at.replace(tzinfo=dt.UTC)
        application.submitted_at = submitted_at


def create_application(*, job_id: str | uuid.UUID, **fields: Any) -> JobApplication:
    """Create an application to a job (status, submitted_at, contact_name/email, notes)."""
    job_uuid = _parse_uuid(job_id, field="job_id")
    if job_uuid is None or not Job.objects.filter(pk=job_uuid).exists():
        raise ValidationFailed("No job has this job_id.", field="job_id")
    application = JobApplication(job_id=job_uuid)
    _apply_application_changes(application, fields)
    application.save(force_insert=True)
    return application


def get_application(*, application_id: str | uuid.UUID) -> JobApplication:
    app_uuid = _parse_uuid(application_id, field="application_id")
    application = JobApplication.objects.filter(pk=app_uuid).first() if app_uuid else None
    if application is None:
        raise ObjectNotFound("No application has this id.", field="application_id")
    return application


def update_application(*, application_id: str | uuid.UUID, **changes: Any) -> JobApplication:
    with transaction.atomic():
        application = get_application(application_id=application_id)
        _apply_application_changes(application, changes)
        application.save()
    return application


def delete_application(*, application_id: str | uuid.UUID) -> None:
    """Delete an application; its links stay, detached (seed: ON DELETE SET NULL)."""
    with transaction.atomic():
        _delete_keeping_links(get_application(application_id=application_id))


# --- Privacy: anonymization, retention and erasure ------------------------------------------
#
# Click rows are personal data: an IP address, a visitor hash and a session cookie can single out
# the recruiter who opened a link. These functions decide *what* is anonymized or deleted; the
# management commands only parse arguments, print progress and call them.
#
# Every change runs in short batches, each its own transaction, walking the primary key (keyset
# pagination), so no statement holds row locks on more than ``batch_size`` clicks and a run over
# millions of rows neither blocks the redirect's INSERTs nor rescans rows it has already handled.

PRIVACY_BATCH_SIZE = 1000

# When a click's IP retention ends, the IP address (the seed's own rule) and the visitor hash derived
# from it are set to NULL, and the session id is replaced by a pseudonym. The session id is our
# one-year cookie: kept as it is, it would tie the old click to the same browser's recent clicks,
# which still carry an IP address. The pseudonym is an HMAC under a key made for one run and never
# stored, so clicks anonymized together keep their grouping ("unique sessions", an application's
# journey) while nothing, not even this database, can tie them to a live cookie again. Clicks of
# one session anonymized on different days get different pseudonyms. Kept as they are: the user
# agent and its parsed device, browser and OS (they describe software; classification and device
# figures read them) and the referrer (the site the link was opened from).
ANONYMIZED_CLICK_FIELDS = ("ip_address", "visitor_hash")
SESSION_PSEUDONYM_PREFIX = "anon-"

ProgressCallback = Callable[[int], None]


def retention_cutoff(*, days: int, now: dt.datetime | None = None) -> dt.datetime:
    """The instant before which a retention period of ``days`` has ended."""
    return (now or timezone.now()) - dt.timedelta(days=days)


def _apply_in_batches(
    queryset: QuerySet[LinkClick],
    apply: Callable[[QuerySet[LinkClick]], int],
    *,
    batch_size: int,
    progress: ProgressCallback | None,
) -> int:
    """Run ``apply`` on ``queryset`` ``batch_size`` rows at a time; returns the rows changed."""
    if batch_size < 1:
        raise ValidationFailed("batch_size must be at least 1.", field="batch_size")
    done = 0
    last_pk: uuid.UUID | None = None
    while True:
        page = queryset.order_by("pk")
        if last_pk is not None:
            page = page.filter(pk__gt=last_pk)
        ids = list(page.values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        with transaction.atomic():
            done += apply(LinkClick.objects.filter(pk__in=ids))
        last_pk = ids[-1]
        if progress is not None:
            progress(done)
        if len(ids) < batch_size:
            break
    return done


def _delete(queryset: QuerySet[LinkClick]) -> int:
    return queryset.delete()[0]


def clicks_to_anonymize(*, older_than: dt.datetime) -> QuerySet[LinkClick]:
    """Clicks past their IP retention that still hold an identifying value."""
    still_identifying = Q(session_id__isnull=False) & ~Q(
        session_id__startswith=SESSION_PSEUDONYM_PREFIX
    )
    for field in ANONYMIZED_CLICK_FIELDS:
        still_identifying |= Q(**{f"{field}__isnull": False})
    return LinkClick.objects.filter(still_identifying, clicked_at__lt=older_than)


def session_pseudonym(session_id: str, *, key: bytes) -> str:
    digest = hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()
    return SESSION_PSEUDONYM_PREFIX + digest[:32]


def _anonymize_batch(batch: QuerySet[LinkClick], *, key: bytes) -> int:
    changes: dict[str, Any] = dict.fromkeys(ANONYMIZED_CLICK_FIELDS)
    sessions: set[str] = {
        session
        for session in batch.exclude(session_id__startswith=SESSION_PSEUDONYM_PREFIX).values_list(
            "session_id", flat=True
        )
        if session
    }
    if sessions:
        changes["session_id"] = Case(
            *[
                When(session_id=session, then=Value(session_pseudonym(session, key=key)))
                for session in sorted(sessions)
            ],
            default=F("session_id"),
            output_field=CharField(),
        )
    return batch.update(**changes)


def anonymize_clicks(
    *,
    older_than: dt.datetime,
    batch_size: int = PRIVACY_BATCH_SIZE,
    progress: ProgressCallback | None = None,
) -> int:
    """Anonymize the clicks made before ``older_than`` (see above); returns how many.

    Idempotent: anonymized rows no longer match, so a second run changes nothing.
    """
    key = secrets.token_bytes(32)  # this run's pseudonym key, forgotten when it ends
    span = signals.time_span(clicks_to_anonymize(older_than=older_than))
    done = _apply_in_batches(
        clicks_to_anonymize(older_than=older_than),
        lambda batch: _anonymize_batch(batch, key=key),
        batch_size=batch_size,
        progress=progress,
    )
    signals.announce(signals.clicks_anonymized, count=done, span=span)
    return done


def clicks_to_purge(*, older_than: dt.datetime) -> QuerySet[LinkClick]:
    """Clicks past the click retention period. Clicks without a time are kept (age unknown)."""
    return LinkClick.objects.filter(clicked_at__lt=older_than)


def purge_clicks(
    *,
    older_than: dt.datetime,
    batch_size: int = PRIVACY_BATCH_SIZE,
    progress: ProgressCallback | None = None,
) -> int:
    """Delete clicks made before ``older_than``; returns how many."""
    span = signals.time_span(clicks_to_purge(older_than=older_than))
    done = _apply_in_batches(
        clicks_to_purge(older_than=older_than),
        _delete,
        batch_size=batch_size,
        progress=progress,
    )
    signals.announce(signals.clicks_removed, count=done, span=span)
    return done


@dataclass(frozen=True)
class ErasureRequest:
    """Whose data to erase: any click or link matching one of the given values."""

    job_id: uuid.UUID | None = None
    application_id: uuid.UUID | None = None
    ip_address: str | None = None
    session_id: str | None = None
    include_links: bool = False

    @classmethod
    def parse(
        cls,
        *,
        job_id: Any = None,
        application_id: Any = None,
        ip_address: Any = None,
        session_id: Any = None,
        include_links: bool = False,
    ) -> ErasureRequest:
        """Validate raw values (from a command line or an API) into a request."""
        request = cls(
            job_id=_parse_uuid(job_id, field="job_id"),
            application_id=_parse_uuid(application_id, field="application_id"),
            ip_address=_clean_ip(ip_address),
            session_id=_clean_text(session_id, field="session_id", max_length=SESSION_ID_MAX),
            include_links=include_links,
        )
        if not any(
            (request.job_id, request.application_id, request.ip_address, request.session_id)
        ):
            raise ValidationFailed(
                "Name a job, an application, an IP address or a session to erase."
            )
        if include_links and not (request.job_id or request.application_id):
            raise ValidationFailed(
                "include_links applies to a job or an application; links have no IP or session.",
                field="include_links",
            )
        return request

    def links(self) -> QuerySet[TrackedLink]:
        """Links tied to the job or application: directly, or through an application of the job."""
        match = Q(pk__in=[])
        if self.job_id:
            match |= Q(job_id=self.job_id) | Q(application__job_id=self.job_id)
        if self.application_id:
            match |= Q(application_id=self.application_id)
        return TrackedLink.objects.filter(match)

    def clicks(self) -> QuerySet[LinkClick]:
        match = Q(pk__in=[])
        if self.job_id or self.application_id:
            match |= Q(tracking__in=self.links().values("pk"))
        if self.ip_address:
            match |= Q(ip_address=self.ip_address)
        if self.session_id:
            match |= Q(session_id=self.session_id)
        return LinkClick.objects.filter(match)


@dataclass(frozen=True)
class ErasureCounts:
    clicks: int
    links: int


def count_erasure(request: ErasureRequest) -> ErasureCounts:
    """What :func:`erase_personal_data` would delete, without deleting anything."""
    links = request.links().count() if request.include_links else 0
    return ErasureCounts(clicks=request.clicks().count(), links=links)


def erase_personal_data(
    request: ErasureRequest,
    *,
    batch_size: int = PRIVACY_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    report: signals.Report | None = None,
) -> ErasureCounts:
    """Delete every click tied to the request, then (``include_links``) the links themselves.

    Clicks go first, in batches, so that deleting a link never cascades into one long statement.
    Jobs and applications stay: they are the job seeker's own records. ``report`` is handed to
    the receivers of :data:`tracking.signals.clicks_removed`.
    """
    span = signals.time_span(request.clicks())
    clicks = _apply_in_batches(request.clicks(), _delete, batch_size=batch_size, progress=progress)
    links = 0
    if request.include_links:
        tracking_ids = list(request.links().values_list("pk", flat=True))
        for start in range(0, len(tracking_ids), batch_size):
            chunk = tracking_ids[start : start + batch_size]
            with transaction.atomic():
                # Clicks recorded since the batches above are removed with their link.
                clicks += LinkClick.objects.filter(tracking_id__in=chunk).delete()[0]
                deleted = TrackedLink.objects.filter(pk__in=chunk).delete()[1]
                links += deleted.get(TrackedLink._meta.label, 0)
                for tracking_id in chunk:
                    _invalidate(tracking_id)
    signals.announce(signals.clicks_removed, count=clicks, span=span, report=report)
    return ErasureCounts(clicks=clicks, links=links)
