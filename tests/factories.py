"""The rows and objects tests build again and again: jobs, applications, links, clicks, API keys,
users and the clients that act as them.

Links are created through ``tracking.services`` as the product creates them (the same id, URL and
association rules). Clicks are raw rows: a test chooses their time, classification and personal
fields, which the click pipeline would otherwise decide, so they are built by the service's
``build_click`` and inserted as they are. Defaults are the seed's own sample values.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from tracking import services
from tracking.api.auth import SCOPES
from tracking.classify import ClickSignals
from tracking.geo import GEO_FIELDS
from tracking.models import APIKey, Job, JobApplication, LinkClick, ProfileLink, TrackedLink

ALL_SCOPES = list(SCOPES)
# How long ago a link "was sent" when a test keeps the scanner's clicked-right-after-sending
# signal out of the way (see make_link's sent_ago).
HOUR = dt.timedelta(hours=1)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


# --- Jobs, applications, profile links ------------------------------------------------------


def make_job(**fields: Any) -> Job:
    """A job row; the seed's "Marketing Manager" at "Example Corp" unless ``fields`` say else."""
    values: dict[str, Any] = {"title": "Marketing Manager", "company_name": "Example Corp"}
    return Job.objects.create(**{**values, **fields})


def make_application(job: Job | None = None, **fields: Any) -> JobApplication:
    """An application row to ``job`` (a new :func:`make_job` when none is given)."""
    return JobApplication.objects.create(job=job or make_job(), **fields)


def make_profile_links() -> list[ProfileLink]:
    """LinkedIn then Calendly, as in seed 001's link package example."""
    return [
        ProfileLink.objects.create(
            link_function="LinkedIn",
            url="https://linkedin.com/in/steve-glen",
            description="Professional LinkedIn profile",
            order=1,
        ),
        ProfileLink.objects.create(
            link_function="Calendly",
            link_type="networking",
            url="https://calendly.com/steve-glen/30min",
            order=2,
        ),
    ]


# --- Links ----------------------------------------------------------------------------------


def link_fields(**overrides: Any) -> dict[str, Any]:
    """Arguments for ``services.create_tracked_link``: seed 001's LinkedIn profile link."""
    fields: dict[str, Any] = {
        "original_url": "https://linkedin.com/in/steve-glen",
        "link_function": "LinkedIn",
        "link_type": "profile",
    }
    return {**fields, **overrides}


def make_link(
    *,
    job: Job | None = None,
    application: JobApplication | None = None,
    sent_ago: dt.timedelta | None = None,
    **fields: Any,
) -> TrackedLink:
    """A link created through the service layer (:func:`link_fields` plus ``fields``).

    ``sent_ago`` moves its creation time back: a click within seconds of a link being sent is a
    scanner signal, which tests of other behaviour keep out of the way with an hour.
    """
    if job is not None:
        fields["job_id"] = str(job.id)
    if application is not None:
        fields["application_id"] = str(application.id)
    tracking_id = services.create_tracked_link(**link_fields(**fields))["tracking_id"]
    if sent_ago is not None:
        TrackedLink.objects.filter(pk=tracking_id).update(created_at=timezone.now() - sent_ago)
    return TrackedLink.objects.get(pk=tracking_id)


def make_sent_link(**overrides: Any) -> str:
    """The tracking id of a link (:func:`link_fields` plus ``overrides``) sent an hour ago, the
    "clicked right after creation" scanner rule kept out of the way, for redirect tests."""
    return make_link(sent_ago=HOUR, **overrides).tracking_id


# --- Clicks ---------------------------------------------------------------------------------

# Columns the click pipeline fills after building a click (classification, enrichment); a test
# sets them directly to get the row it needs.
_ENRICHED_FIELDS = (
    "classification_reasons",
    "visitor_hash",
    "device_type",
    "browser",
    "os",
    *GEO_FIELDS,
    "from_company_network",
)


def build_click(
    link: TrackedLink | str, *, classification: str | None = None, **fields: Any
) -> LinkClick:
    """An unsaved click on ``link``: ``fields`` are ``services.build_click``'s arguments
    (``clicked_at``, ``session_id``, ``ip_address``…) or enriched columns (``visitor_hash``,
    ``device_type``, ``browser``, ``os``, ``classification_reasons``, the geo fields)."""
    enriched = {name: fields.pop(name) for name in _ENRICHED_FIELDS if name in fields}
    tracking_id = link if isinstance(link, str) else link.tracking_id
    click = services.build_click(tracking_id=tracking_id, **fields)
    click.classification = classification
    for name, value in enriched.items():
        setattr(click, name, value)
    return click


def make_clicks(clicks: list[LinkClick]) -> list[LinkClick]:
    """Insert clicks from :func:`build_click` as they are, in one statement."""
    LinkClick.objects.bulk_create(clicks)
    return clicks


def make_click(
    link: TrackedLink | str, *, classification: str | None = None, **fields: Any
) -> LinkClick:
    """One stored click, as :func:`build_click` describes it, read back from the database."""
    click = build_click(link, classification=classification, **fields)
    make_clicks([click])
    return LinkClick.objects.get(pk=click.pk)


def make_visitor_click(link: TrackedLink, *, days_ago: float = 0, **overrides: Any) -> LinkClick:
    """A click from a person's browser ``days_ago`` days ago with every personal field filled
    (IP, session, visitor hash, user agent, referrer): what the privacy commands act on. Judged
    a person, as the pipeline would (``classification=None`` for one stored by plain SQL)."""
    fields: dict[str, Any] = {
        "classification": "human",
        "clicked_at": timezone.now() - dt.timedelta(days=days_ago),
        "ip_address": "203.0.113.7",
        "session_id": "sess_abc123",
        "visitor_hash": "f" * 64,
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
        "referrer_url": "https://mail.google.com/",
    }
    return make_click(link, **{**fields, **overrides})


def human_signals(ip: str = "198.51.100.23", application_id: str | None = None) -> ClickSignals:
    """What the redirect observes of a person's browser on a link sent an hour ago."""
    return ClickSignals(
        user_agent=CHROME,
        client_ip=ip,
        has_accept_language=True,
        link_created_at=timezone.now() - dt.timedelta(hours=1),
        application_id=application_id,
    )


# --- API keys, users and their clients -----------------------------------------------------


def make_key(
    scopes: list[str] | None = None,
    *,
    name: str = "test key",
    revoked: bool = False,
    expiry_date: dt.datetime | None = None,
) -> str:
    """Create an API key and return the key itself (what a client sends)."""
    api_key, key = APIKey.objects.create_key(
        name=name, scopes=ALL_SCOPES if scopes is None else scopes, expiry_date=expiry_date
    )
    if revoked:
        api_key.revoked = True
        api_key.save()
    return key


def expired_key() -> str:
    return make_key(expiry_date=timezone.now() - dt.timedelta(minutes=1))


def key_client(key: str, **extra: Any) -> Client:
    """A client that sends ``key`` with every request."""
    return Client(HTTP_AUTHORIZATION=f"Api-Key {key}", **extra)


def make_user(
    username: str = "staff",
    *,
    staff: bool = True,
    superuser: bool = False,
    password: str | None = None,
) -> User:
    return User.objects.create_user(
        username, password=password, is_staff=staff, is_superuser=superuser
    )


def make_tracking_staff(username: str = "staff") -> User:
    """A staff member holding every tracking permission, but not a superuser."""
    user = make_user(username, password="x")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="tracking"))
    return user


def logged_in_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client
