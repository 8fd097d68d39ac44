"""Webhook deliveries: turn due events into deliveries, and send deliveries with retries.

- :func:`dispatch_due_events`: every event whose burst window has closed is re-checked against
  the clicks as stored (:func:`tracking.clicks.events.still_true`), then gets one delivery per
  subscribed endpoint, an e-mail alert when its kind is switched on, and a receipt, in one
  transaction.
- :func:`send_due_deliveries`: one attempt per due delivery, signed per the Standard Webhooks
  specification. A failed attempt is retried after :data:`RETRY_DELAYS`; when they are used up
  the delivery is failed, and ``WEBHOOK_DISABLE_AFTER_FAILURES`` failed deliveries in a row
  disable the endpoint with the reason shown in the admin.

Both run in the worker (:mod:`notifications.tasks`), never in a request or in the click writer.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from http.client import HTTPException
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook as Signer

from notifications import http
from notifications.models import (
    TEST_EVENT_TYPE,
    AlertSettings,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    EmailAlert,
    EventOutcome,
    EventReceipt,
    Webhook,
)
from tracking.clicks.events import still_true
from tracking.hosts import DestinationRefused
from tracking.models import Event

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
# After the first attempt: 5 s, 1 min, 10 min, 1 h, 6 h; then the delivery has failed.
RETRY_DELAYS = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=10),
    dt.timedelta(hours=1),
    dt.timedelta(hours=6),
)
BATCH = 100


def message_body(event: Event) -> dict[str, Any]:
    """The JSON body of an event (the Standard Webhooks shape: type, timestamp, data)."""
    return {
        "type": event.type,
        "timestamp": event.occurred_at.isoformat(),
        "data": {"event_id": str(event.id), **event.payload},
    }


def test_body(webhook: Webhook, *, now: dt.datetime) -> dict[str, Any]:
    return {
        "type": TEST_EVENT_TYPE,
        "timestamp": now.isoformat(),
        "data": {"webhook_id": str(webhook.id), "message": "A test event from linktrack."},
    }


def dispatch_due_events(*, now: dt.datetime | None = None) -> int:
    """Create the deliveries of due, unhandled events; returns the number of events handled."""
    now = now or timezone.now()
    due = list(
        Event.objects.filter(due_at__lte=now, receipt__isnull=True).order_by("due_at")[:BATCH]
    )
    if not due:
        return 0
    webhooks = list(Webhook.objects.filter(is_active=True))
    alerts = AlertSettings.current()
    for event in due:
        reason = still_true(event)
        with transaction.atomic():
            _, created = EventReceipt.objects.get_or_create(
                event=event,
                defaults={
                    "handled_at": now,
                    "outcome": EventOutcome.SUPPRESSED if reason else EventOutcome.DISPATCHED,
                    "note": reason or "",
                },
            )
            if not created or reason:
                continue
            if alerts.wants(event.type):
                EmailAlert.objects.get_or_create(event=event)
            body = message_body(event)
            for webhook in webhooks:
                if webhook.wants(event):
                    Delivery.objects.get_or_create(
                        webhook=webhook,
                        event=event,
                        defaults={"event_type": event.type, "body": body, "next_attempt_at": now},
                    )
    return len(due)


def queue_test_delivery(webhook: Webhook, *, now: dt.datetime | None = None) -> Delivery:
    now = now or timezone.now()
    return Delivery.objects.create(
        webhook=webhook,
        event=None,
        event_type=TEST_EVENT_TYPE,
        body=test_body(webhook, now=now),
        next_attempt_at=now,
    )


def redeliver(delivery: Delivery, *, now: dt.datetime | None = None) -> None:
    """Send a delivery again from the start (its earlier attempts stay in the history)."""
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now or timezone.now()
    )


def signed_headers(
    webhook: Webhook, delivery: Delivery, body: bytes, now: dt.datetime
) -> dict[str, str]:
    signature = Signer(webhook.secret).sign(
        msg_id=delivery.message_id, timestamp=now, data=body.decode()
    )
    return {
        "Content-Type": "application/json",
        "User-Agent": f"linktrack-webhooks/{settings.LINKTRACK_VERSION}",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


def attempt(delivery: Delivery, *, now: dt.datetime | None = None) -> DeliveryAttempt:
    """Make one attempt at ``delivery`` and record it (never raises for the receiver's faults)."""
    now = now or timezone.now()
    webhook = delivery.webhook
    body = json.dumps(delivery.body, separators=(",", ":"), ensure_ascii=False).encode()
    record = DeliveryAttempt(delivery=delivery, attempted_at=now)
    started = time.monotonic()
    try:
        response = http.post(
            webhook.url, body, signed_headers(webhook, delivery, body, now), timeout=TIMEOUT_SECONDS
        )
    except DestinationRefused as exc:
        record.error = f"destination refused: {exc.message}"
    except (OSError, HTTPException) as exc:
        record.error = f"{type(exc).__name__}: {exc}"[:1000]
    else:
        record.status_code = response.status
        record.duration_ms = response.duration_ms
        record.response_excerpt = response.excerpt
    if not record.duration_ms:
        record.duration_ms = int((time.monotonic() - started) * 1000)
    with transaction.atomic():
        record.save()
        _settle(delivery, record, now=now)
    return record


def _settle(delivery: Delivery, record: DeliveryAttempt, *, now: dt.datetime) -> None:
    webhook = delivery.webhook
    delivery.attempts += 1
    if record.succeeded:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.next_attempt_at = None
        if webhook.consecutive_failures:
            Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=0)
    elif delivery.attempts <= len(RETRY_DELAYS):
        delivery.next_attempt_at = now + RETRY_DELAYS[delivery.attempts - 1]
    else:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        webhook.consecutive_failures += 1
        fields = ["consecutive_failures"]
        if webhook.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES:
            webhook.is_active = False
            webhook.disabled_reason = (
                f"Disabled on {now:%Y-%m-%d %H:%M} UTC after {webhook.consecutive_failures} "
                f"failed deliveries in a row; the last: {record.error or record.status_code}."
            )
            fields += ["is_active", "disabled_reason"]
            logger.warning("webhook %s disabled: %s", webhook.pk, webhook.disabled_reason)
        webhook.save(update_fields=fields)
    delivery.save(update_fields=["attempts", "status", "next_attempt_at"])


def send_due_deliveries(*, now: dt.datetime | None = None) -> int:
    """Make one attempt at every due delivery; returns the number of attempts."""
    now = now or timezone.now()
    due = Delivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lte=now, webhook__is_active=True
    ).select_related("webhook")
    sent = 0
    for delivery in due.order_by("next_attempt_at")[:BATCH]:
        # Another worker may have taken it meanwhile: claim it by moving its next attempt.
        claimed = Delivery.objects.filter(
            pk=delivery.pk, status=DeliveryStatus.PENDING, next_attempt_at=delivery.next_attempt_at
        ).update(next_attempt_at=now + dt.timedelta(seconds=TIMEOUT_SECONDS * 6))
        if not claimed:
            continue
        attempt(delivery, now=now)
        sent += 1
    return sent
