"""Jobs and job applications: the job seeker's own records that links belong to.

Every function that creates, fetches or changes one returns the model instance (:class:`Job`,
:class:`JobApplication`); deleting one keeps its links, detached (seed: ON DELETE SET NULL).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from tracking.models import ApplicationStatus, Job, JobApplication
from tracking.services.errors import NotFound, ValidationFailed
from tracking.services.links import invalidate_cached_link
from tracking.services.validation import (
    NOTES_MAX,
    max_length_of,
    parse_uuid,
    required_text,
    validate_destination_url,
)

_JOB_TEXT_FIELDS = {
    "title": max_length_of(Job, "title"),
    "company_name": max_length_of(Job, "company_name"),
    "location": max_length_of(Job, "location"),
    "notes": NOTES_MAX,
}
_JOB_URL_FIELDS = ("posting_url", "apply_url")
_APPLICATION_TEXT_FIELDS = {
    "contact_name": max_length_of(JobApplication, "contact_name"),
    "contact_email": max_length_of(JobApplication, "contact_email"),
    "notes": NOTES_MAX,
}


def _apply_job_changes(job: Job, changes: Mapping[str, Any]) -> None:
    unknown = set(changes) - set(_JOB_TEXT_FIELDS) - set(_JOB_URL_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"{name} cannot be set on a job.", field=name)
    for field, max_length in _JOB_TEXT_FIELDS.items():
        if field in changes:
            setattr(job, field, required_text(changes[field], field=field, max_length=max_length))
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
    job_uuid = parse_uuid(job_id, field="job_id")
    job = Job.objects.filter(pk=job_uuid).first() if job_uuid else None
    if job is None:
        raise NotFound("No job has this id.", field="job_id")
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
        invalidate_cached_link(tracking_id)


def _apply_application_changes(application: JobApplication, changes: Mapping[str, Any]) -> None:
    allowed = {"status", "submitted_at", *_APPLICATION_TEXT_FIELDS}
    unknown = set(changes) - allowed
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"{name} cannot be set on an application.", field=name)
    for field, max_length in _APPLICATION_TEXT_FIELDS.items():
        if field in changes:
            value = required_text(changes[field], field=field, max_length=max_length)
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
    job_uuid = parse_uuid(job_id, field="job_id")
    if job_uuid is None or not Job.objects.filter(pk=job_uuid).exists():
        raise ValidationFailed("No job has this job_id.", field="job_id")
    application = JobApplication(job_id=job_uuid)
    _apply_application_changes(application, fields)
    application.save(force_insert=True)
    return application


def get_application(*, application_id: str | uuid.UUID) -> JobApplication:
    app_uuid = parse_uuid(application_id, field="application_id")
    application = JobApplication.objects.filter(pk=app_uuid).first() if app_uuid else None
    if application is None:
        raise NotFound("No application has this id.", field="application_id")
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
