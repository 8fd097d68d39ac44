"""Tracked links and job-application link packages (seed 001's ``create_tracked_link`` and
``create_job_application_links``).

Return shapes: seed 001's entry points return the seed's dicts (:func:`create_tracked_link`: the
link's :meth:`~tracking.models.TrackedLink.to_dict`, which holds ``tracking_id`` and
``redirect_url``; :func:`create_job_application_links`: ``{function: redirect_url}``); the
resource functions (:func:`get_link`, :func:`update_tracked_link`, :func:`set_link_active`) return
the :class:`~tracking.models.TrackedLink` itself.
"""

from __future__ import annotations

import secrets
import string
import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from tracking import linkcache
from tracking.models import (
    UTM_FIELDS,
    Job,
    JobApplication,
    LinkFunction,
    LinkType,
    ProfileLink,
    TrackedLink,
)
from tracking.services.errors import Conflict, NotFound, ValidationFailed
from tracking.services.validation import (
    CREATED_BY_MAX,
    clean_expires_at,
    clean_max_person_clicks,
    clean_password,
    clean_text,
    clean_utm,
    is_valid_tracking_id,
    parse_uuid,
    validate_destination_url,
    validate_identifier,
    validate_tracking_id,
)

_GENERATED_ID_ALPHABET = string.ascii_lowercase + string.digits
_GENERATED_ID_LENGTH = 16


def generate_tracking_id() -> str:
    """``lt_`` plus 16 characters from a CSPRNG (≈ 82 bits), like the seed's ``lt_abc123def456``."""
    return "lt_" + "".join(
        secrets.choice(_GENERATED_ID_ALPHABET) for _ in range(_GENERATED_ID_LENGTH)
    )


def redirect_url_for(tracking_id: str) -> str:
    return f"{settings.TRACKING_BASE_URL}/track/{tracking_id}"


def _resolve_associations(
    job_id: Any, application_id: Any
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    job_uuid = parse_uuid(job_id, field="job_id")
    app_uuid = parse_uuid(application_id, field="application_id")
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


# The link controls a caller may set (docs/links.md); ``password`` is stored as its hash.
LINK_SETTINGS = ("expires_at", "max_person_clicks", "password", "fallback_url", *UTM_FIELDS)


def clean_link_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Validate link controls by name; returns model field values (the password hashed)."""
    unknown = set(values) - set(LINK_SETTINGS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"{name} is not a link setting.", field=name)
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name == "expires_at":
            cleaned[name] = clean_expires_at(value)
        elif name == "max_person_clicks":
            cleaned[name] = clean_max_person_clicks(value)
        elif name == "password":
            password = clean_password(value)
            cleaned["password_hash"] = make_password(password) if password else None
        elif name == "fallback_url":
            cleaned[name] = (
                None if value in (None, "") else validate_destination_url(value, field=name)
            )
        else:
            cleaned[name] = clean_utm(value, field=name)
    return cleaned


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
    **link_settings: Any,
) -> dict[str, Any]:
    """Create a tracked link and return its fields with ``tracking_id`` and ``redirect_url``.

    ``link_settings`` are the link controls named in :data:`LINK_SETTINGS` (expiry, person-click
    cap, password, fallback URL, UTM tags); any other name is refused.
    """
    controls = clean_link_settings(link_settings)
    original_url = validate_destination_url(original_url)
    link_function = validate_identifier(link_function, field="link_function")
    link_type = validate_identifier(link_type, field="link_type")
    if tracking_id is not None:
        tracking_id = validate_tracking_id(tracking_id)
    if description is not None and not isinstance(description, str):
        raise ValidationFailed("description must be a string.", field="description")
    created_by = clean_text(created_by, field="created_by", max_length=CREATED_BY_MAX) or "system"
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
            **controls,
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
        invalidate_cached_link(link.tracking_id)
        return link.to_dict()
    raise Conflict("Could not allocate a unique tracking_id.", field="tracking_id")


def invalidate_cached_link(tracking_id: str) -> None:
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
        raise NotFound("No link has this tracking_id.", field="tracking_id")
    return link


_UPDATABLE = {
    "original_url",
    "link_function",
    "link_type",
    "description",
    "is_active",
    "job_id",
    "application_id",
    *LINK_SETTINGS,
}


def update_tracked_link(*, tracking_id: str, **changes: Any) -> TrackedLink:
    """Change a link's destination, category, description, associations, active flag or link
    controls (:data:`LINK_SETTINGS`; a None or empty value clears one)."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"{name} cannot be changed.", field=name)
    controls = clean_link_settings({k: v for k, v in changes.items() if k in LINK_SETTINGS})
    with transaction.atomic():
        link = get_link(tracking_id=tracking_id)
        for name, value in controls.items():
            setattr(link, name, value)
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
        invalidate_cached_link(tracking_id)
    return link


def set_link_active(*, tracking_id: str, is_active: bool) -> TrackedLink:
    return update_tracked_link(tracking_id=tracking_id, is_active=is_active)


def delete_tracked_link(*, tracking_id: str) -> None:
    """Delete a link and (by the database's cascade) its clicks."""
    with transaction.atomic():
        link = get_link(tracking_id=tracking_id)
        link.delete()
        invalidate_cached_link(tracking_id)


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
        .exclude(is_decoy=True)
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
    app_uuid = parse_uuid(application_id, field="application_id")
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
            raise NotFound("No application has this application_id.", field="application_id")
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


DECOY_FUNCTION = "Decoy"
DECOY_CREATED_BY = "decoy"


def application_decoy_link(*, application_id: Any) -> TrackedLink | None:
    """The application's decoy link (see :mod:`tracking.clicks.decoy`), created on first use.

    It goes where the application's first link goes (a scanner that follows it sees nothing
    odd), or to the job posting; None when the application does not use a decoy or has nowhere
    to send one.
    """
    existing = (
        TrackedLink.objects.filter(application_id=application_id, is_decoy=True)
        .exclude(is_active=False)
        .order_by("created_at", "tracking_id")
        .first()
    )
    if existing is not None:
        return existing
    application = JobApplication.objects.select_related("job").filter(pk=application_id).first()
    if application is None or not application.uses_decoy_link:
        return None
    first = next(iter(package_links(application_id=application.pk).values()), None)
    destination = first.original_url if first else application.job.posting_url
    if not destination:
        return None
    created = create_tracked_link(
        original_url=destination,
        link_function=DECOY_FUNCTION,
        link_type="internal",
        job_id=application.job_id,
        application_id=application.pk,
        description="Hidden in the e-mail: only machines open it",
        created_by=DECOY_CREATED_BY,
    )
    TrackedLink.objects.filter(pk=created["tracking_id"]).update(is_decoy=True)
    # The cached links of the application say whether it has a decoy (the decoy rule's gate).
    for tracking_id in TrackedLink.objects.filter(application_id=application.pk).values_list(
        "tracking_id", flat=True
    ):
        linkcache.invalidate_link(tracking_id)
    return TrackedLink.objects.get(pk=created["tracking_id"])
