"""The write path of webhook endpoints (admin and API): URL rules, filters, the secret."""

from __future__ import annotations

import uuid
from typing import Any

from notifications.destinations import check_webhook_url
from notifications.models import EVENT_TYPES, Webhook
from tracking.hosts import DestinationRefused
from tracking.models import Job, JobApplication, LinkFunction
from tracking.services.errors import NotFound, ValidationFailed

URL_MAX = 1000


def clean_webhook_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationFailed("A URL is required.", field="url")
    if len(url) > URL_MAX:
        raise ValidationFailed(f"The URL is longer than {URL_MAX} characters.", field="url")
    try:
        check_webhook_url(url)
    except DestinationRefused as exc:
        raise ValidationFailed(exc.message, field="url") from None
    return url


def clean_event_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise ValidationFailed(
            f"Unknown event types: {', '.join(unknown)}. Known: {', '.join(EVENT_TYPES)}.",
            field="event_types",
        )
    return sorted(set(event_types))


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(fields)
    if "url" in cleaned:
        cleaned["url"] = clean_webhook_url(cleaned["url"])
    if "event_types" in cleaned:
        cleaned["event_types"] = clean_event_types(list(cleaned["event_types"] or []))
    if cleaned.get("job_id") and not Job.objects.filter(pk=cleaned["job_id"]).exists():
        raise NotFound("No job has this id.", field="job_id")
    application_id = cleaned.get("application_id")
    if application_id and not JobApplication.objects.filter(pk=application_id).exists():
        raise NotFound("No application has this id.", field="application_id")
    function = cleaned.get("link_function")
    if function and function not in LinkFunction.values:
        raise ValidationFailed(
            f"Unknown link function; one of {', '.join(LinkFunction.values)}.",
            field="link_function",
        )
    return cleaned


def create_webhook(
    *,
    url: str,
    event_types: list[str] | None = None,
    description: str = "",
    job_id: uuid.UUID | None = None,
    application_id: uuid.UUID | None = None,
    link_function: str = "",
) -> Webhook:
    """Create an endpoint; its ``secret`` is readable on the returned object (show it once)."""
    fields = _clean(
        {
            "url": url,
            "event_types": event_types or [],
            "description": description,
            "job_id": job_id,
            "application_id": application_id,
            "link_function": link_function or "",
        }
    )
    return Webhook.objects.create(**fields)


def get_webhook(*, webhook_id: str | uuid.UUID) -> Webhook:
    try:
        webhook = Webhook.objects.filter(pk=uuid.UUID(str(webhook_id))).first()
    except ValueError:
        webhook = None
    if webhook is None:
        raise NotFound("No webhook has this id.", field="id")
    return webhook


def update_webhook(*, webhook_id: str | uuid.UUID, **fields: Any) -> Webhook:
    """Change an endpoint. Re-activating it clears the failure count and the reason."""
    webhook = get_webhook(webhook_id=webhook_id)
    for name, value in _clean(fields).items():
        setattr(webhook, name, value if value is not None or name.endswith("_id") else "")
    if fields.get("is_active") is True:
        webhook.consecutive_failures = 0
        webhook.disabled_reason = ""
    webhook.save()
    return webhook


def delete_webhook(*, webhook_id: str | uuid.UUID) -> None:
    get_webhook(webhook_id=webhook_id).delete()
