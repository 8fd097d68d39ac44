"""Jobs and job applications: the job seeker's own records that links belong to.

Every function that creates, fetches or changes one returns the model instance (:class:`Job`,
:class:`JobApplication`); deleting one keeps its links, detached (seed: ON DELETE SET NULL).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from tracking import company, periods
from tracking.models import ApplicationStatus, ApplicationStatusHistory, Job, JobApplication
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
COMPANY_ALIASES_MAX = 2000
# What decides whether a click came from the company's network (tracking.company).
COMPANY_NAME_FIELDS = frozenset({"company_name", "company_aliases"})
_APPLICATION_TEXT_FIELDS = {
    "contact_name": max_length_of(JobApplication, "contact_name"),
    "contact_email": max_length_of(JobApplication, "contact_email"),
    "notes": NOTES_MAX,
}
CHANGED_BY_MAX = max_length_of(ApplicationStatusHistory, "changed_by")
# A change entered "now" from a machine whose clock runs a little ahead is still accepted.
_CLOCK_SKEW = dt.timedelta(minutes=5)


def _apply_job_changes(job: Job, changes: Mapping[str, Any]) -> None:
    unknown = set(changes) - set(_JOB_TEXT_FIELDS) - set(_JOB_URL_FIELDS) - {"company_aliases"}
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"{name} cannot be set on a job.", field=name)
    for field, max_length in _JOB_TEXT_FIELDS.items():
        if field in changes:
            setattr(job, field, required_text(changes[field], field=field, max_length=max_length))
    if "company_aliases" in changes:
        job.company_aliases = _company_aliases(changes["company_aliases"])
    for field in _JOB_URL_FIELDS:
        if field in changes:
            url = changes[field]
            setattr(job, field, validate_destination_url(url, field=field) if url else "")
    if not job.title:
        raise ValidationFailed("title is required.", field="title")


def _company_aliases(value: Any) -> str:
    """Other names or domains of the company: a list, or text with one a line (or commas)."""
    if isinstance(value, list | tuple):
        if not all(isinstance(item, str) for item in value):
            raise ValidationFailed("company_aliases must be strings.", field="company_aliases")
        value = "\n".join(value)
    if not isinstance(value, str):
        raise ValidationFailed("company_aliases must be text or a list.", field="company_aliases")
    names = [name.strip() for name in re.split(r"[\n,;]", value) if name.strip()]
    text = "\n".join(dict.fromkeys(names))
    if len(text) > COMPANY_ALIASES_MAX:
        raise ValidationFailed(
            f"company_aliases is longer than {COMPANY_ALIASES_MAX} characters.",
            field="company_aliases",
        )
    return text


def company_names_changed(job: Job) -> None:
    """After a job's company name or aliases changed: its links' cached copies (which carry the
    names) are dropped, and its stored clicks' ``from_company_network`` recomputed."""
    for tracking_id in job.links.values_list("tracking_id", flat=True):
        invalidate_cached_link(tracking_id)
    company.refresh_job_clicks(job)


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
        before = (job.company_name, job.company_aliases)
        _apply_job_changes(job, changes)
        job.save()
        if (job.company_name, job.company_aliases) != before:
            company_names_changed(job)
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
    allowed = {"status", "submitted_at", "uses_decoy_link", *_APPLICATION_TEXT_FIELDS}
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
    if "uses_decoy_link" in changes:
        if not isinstance(changes["uses_decoy_link"], bool):
            raise ValidationFailed(
                "uses_decoy_link must be true or false.", field="uses_decoy_link"
            )
        application.uses_decoy_link = changes["uses_decoy_link"]
    if "submitted_at" in changes:
        submitted_at = changes["submitted_at"]
        if submitted_at is not None and not isinstance(submitted_at, dt.datetime):
            raise ValidationFailed("submitted_at must be a date and time.", field="submitted_at")
        if submitted_at is not None and timezone.is_naive(submitted_at):
            submitted_at = submitted_at.replace(tzinfo=dt.UTC)
        application.submitted_at = submitted_at


def create_application(
    *, job_id: str | uuid.UUID, changed_by: str = "", **fields: Any
) -> JobApplication:
    """Create an application to a job (status, submitted_at, contact_name/email, notes).

    Its first status is the first row of its status history (from no status), written in the
    same transaction; ``changed_by`` names who created it.
    """
    job_uuid = parse_uuid(job_id, field="job_id")
    if job_uuid is None or not Job.objects.filter(pk=job_uuid).exists():
        raise ValidationFailed("No job has this job_id.", field="job_id")
    application = JobApplication(job_id=job_uuid)
    _apply_application_changes(application, fields)
    with transaction.atomic():
        application.save(force_insert=True)
        record_initial_status(application=application, changed_by=changed_by)
    return application


def record_initial_status(*, application: JobApplication, changed_by: str = "") -> None:
    """The history row of a new application's first status (for callers that saved it
    themselves, such as the admin's forms); call it in the transaction that created the row."""
    now = timezone.now()
    changed_at = application.created_at or now
    submitted_at = application.submitted_at
    if application.status != ApplicationStatus.PENDING and submitted_at and submitted_at < now:
        # Entered after it was sent: its first status dates from the sending.
        changed_at = submitted_at
    ApplicationStatusHistory.objects.create(
        application=application,
        from_status="",
        to_status=application.status,
        changed_at=changed_at,
        changed_by=_changed_by(changed_by),
    )


def get_application(*, application_id: str | uuid.UUID) -> JobApplication:
    app_uuid = parse_uuid(application_id, field="application_id")
    application = JobApplication.objects.filter(pk=app_uuid).first() if app_uuid else None
    if application is None:
        raise NotFound("No application has this id.", field="application_id")
    return application


def update_application(
    *, application_id: str | uuid.UUID, changed_by: str = "", **changes: Any
) -> JobApplication:
    """Change an application's fields; a new ``status`` is recorded in its history, now."""
    with transaction.atomic():
        application = _locked_application(application_id)
        previous = application.status
        _apply_application_changes(application, changes)
        now = timezone.now()
        if application.status != previous:
            _mark_sent(application, now)
        application.save()
        if application.status != previous:
            _write_status_change(application, previous, changed_at=now, changed_by=changed_by)
    return application


def change_application_status(
    *,
    application_id: str | uuid.UUID,
    status: str,
    changed_at: dt.datetime | None = None,
    note: str = "",
    changed_by: str = "",
) -> ApplicationStatusHistory:
    """Move an application to ``status`` and record it, possibly back-dated.

    ``changed_at`` (default now) is when the change happened. It may lie in the past, but not
    before the application's last recorded change (the history is a chain: each row's
    ``from_status`` is the status the one before it set) nor in the future.
    """
    if status not in ApplicationStatus.values:
        raise ValidationFailed(
            f"status must be one of {', '.join(ApplicationStatus.values)}.", field="status"
        )
    note = required_text(note, field="note", max_length=NOTES_MAX)
    now = timezone.now()
    if changed_at is None:
        changed_at = now
    elif not isinstance(changed_at, dt.datetime):
        raise ValidationFailed("changed_at must be a date and time.", field="changed_at")
    elif timezone.is_naive(changed_at):
        changed_at = changed_at.replace(tzinfo=dt.UTC)
    if changed_at > now + _CLOCK_SKEW:
        raise ValidationFailed("changed_at cannot be in the future.", field="changed_at")
    if changed_at < periods.local_midnight(periods.EARLIEST_DATE):
        raise ValidationFailed(
            f"changed_at must be on or after {periods.EARLIEST_DATE.isoformat()}.",
            field="changed_at",
        )
    with transaction.atomic():
        application = _locked_application(application_id)
        if status == application.status:
            raise ValidationFailed(f"The application is already {status}.", field="status")
        last = application.status_history.order_by("-changed_at", "-id").first()
        if last is not None and changed_at < last.changed_at:
            raise ValidationFailed(
                "changed_at cannot be before the last recorded change "
                f"({last.changed_at.isoformat()}).",
                field="changed_at",
            )
        previous = application.status
        application.status = status
        _mark_sent(application, changed_at)
        application.save(update_fields=["status", "submitted_at", "updated_at"])
        return _write_status_change(
            application, previous, changed_at=changed_at, note=note, changed_by=changed_by
        )


def status_history(*, application_id: str | uuid.UUID) -> list[ApplicationStatusHistory]:
    """An application's status changes, oldest first."""
    application = get_application(application_id=application_id)
    return list(application.status_history.order_by("changed_at", "id"))


def _locked_application(application_id: str | uuid.UUID) -> JobApplication:
    """The application, locked until the transaction ends so that two changes chain in order."""
    app_uuid = parse_uuid(application_id, field="application_id")
    application = (
        JobApplication.objects.select_for_update().filter(pk=app_uuid).first() if app_uuid else None
    )
    if application is None:
        raise NotFound("No application has this id.", field="application_id")
    return application


def _mark_sent(application: JobApplication, when: dt.datetime) -> None:
    """An application moved to submitted without a sending time was sent then: outcomes count
    from ``submitted_at`` (else the creation), and a click before it is not a recruiter's."""
    if application.status == ApplicationStatus.SUBMITTED and application.submitted_at is None:
        application.submitted_at = when


def _changed_by(value: str) -> str:
    return required_text(value or "", field="changed_by", max_length=CHANGED_BY_MAX)


def _write_status_change(
    application: JobApplication,
    previous: str,
    *,
    changed_at: dt.datetime,
    note: str = "",
    changed_by: str = "",
) -> ApplicationStatusHistory:
    return ApplicationStatusHistory.objects.create(
        application=application,
        from_status=previous,
        to_status=application.status,
        changed_at=changed_at,
        note=note,
        changed_by=_changed_by(changed_by),
    )


def delete_application(*, application_id: str | uuid.UUID) -> None:
    """Delete an application; its links stay, detached (seed: ON DELETE SET NULL)."""
    with transaction.atomic():
        _delete_keeping_links(get_application(application_id=application_id))
