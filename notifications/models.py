"""Webhook endpoints, their deliveries and every attempt, and which events have been handled."""

from __future__ import annotations

import base64
import secrets
import uuid

from django.db import models

from tracking.models import Event, EventType, Job, JobApplication, LinkFunction

SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


class Webhook(models.Model):
    """An endpoint that receives signed events (seed 002's ``webhooks`` table, plus filters)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    url = models.CharField(max_length=1000)
    description = models.CharField(max_length=200, blank=True, default="")
    event_types = models.JSONField(
        default=list, help_text="Event types sent to this endpoint; empty: every type."
    )
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(
        JobApplication, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    link_function = models.CharField(
        max_length=50, blank=True, default="", choices=LinkFunction.choices
    )
    # Kept as it is: signing needs the secret itself. It is shown once, when created.
    secret = models.CharField(max_length=100, default=new_webhook_secret, editable=False)
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "webhooks"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event: Event) -> bool:
        """Whether this endpoint subscribes to ``event`` (type and filters)."""
        if self.event_types and event.type not in self.event_types:
            return False
        if self.job_id is not None and event.job_id != self.job_id:
            return False
        if self.application_id is not None and event.application_id != self.application_id:
            return False
        return not self.link_function or event.payload.get("link_function") == self.link_function


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One message to one endpoint; its id is the message's ``webhook-id``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    # None for a test message sent from the admin.
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    event_type = models.CharField(max_length=40)
    body = models.JSONField()
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "webhook_deliveries"
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            # One delivery per event and endpoint: dispatching twice sends nothing twice.
            models.UniqueConstraint(fields=["webhook", "event"], name="uniq_delivery_event"),
        ]
        indexes = [
            # The send pass: pending deliveries whose (next) attempt is due.
            models.Index(fields=["status", "next_attempt_at"], name="idx_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.webhook}"

    @property
    def message_id(self) -> str:
        return f"msg_{self.id.hex}"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery, kept whatever its outcome."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_set")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "webhook_attempts"
        ordering = ["-attempted_at"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error} at {self.attempted_at}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class EventOutcome(models.TextChoices):
    DISPATCHED = "dispatched", "Dispatched"
    SUPPRESSED = "suppressed", "Suppressed"


class EventReceipt(models.Model):
    """That an event has been handled: deliveries created, or suppressed because it no longer
    holds (its click turned out to be a scanner). Tracking's events table stays append-only."""

    event = models.OneToOneField(
        Event, primary_key=True, on_delete=models.CASCADE, related_name="receipt"
    )
    handled_at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=EventOutcome.choices)
    note = models.TextField(blank=True, default="")

    class Meta:
        db_table = "event_receipts"

    def __str__(self) -> str:
        return f"{self.event_id}: {self.outcome}"


EVENT_TYPES = [value for value, _label in EventType.choices]
TEST_EVENT_TYPE = "webhook.test"


def default_alert_kinds() -> dict[str, bool]:
    # The one alert most job seekers want: someone at the company looked at the application.
    return {kind: kind == EventType.APPLICATION_FIRST_PERSON_CLICK for kind in EVENT_TYPES}


class AlertSettings(models.Model):
    """Which e-mail alerts are sent (one row, edited on the dashboard's alerts page)."""

    kinds = models.JSONField(default=default_alert_kinds)
    daily_digest = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "alert_settings"
        verbose_name_plural = "alert settings"

    def __str__(self) -> str:
        return "E-mail alerts"

    @classmethod
    def current(cls) -> AlertSettings:
        found = cls.objects.order_by("pk").first()
        return found if found is not None else cls.objects.create()

    def wants(self, kind: str) -> bool:
        return bool({**default_alert_kinds(), **(self.kinds or {})}.get(kind, False))


class EmailAlert(models.Model):
    """One e-mail alert about one event; written with the event's receipt, sent by the worker."""

    event = models.OneToOneField(
        Event, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "email_alerts"

    def __str__(self) -> str:
        return f"alert {self.event_id}: {self.status}"


class DigestRun(models.Model):
    """That the digest of one day was sent, so that running ``send_digest`` twice sends once."""

    day = models.DateField(primary_key=True)
    sent_at = models.DateTimeField()
    applications = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "digest_runs"

    def __str__(self) -> str:
        return str(self.day)
