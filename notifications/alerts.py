"""E-mail alerts and the daily digest, through Django's e-mail framework (``EMAIL_URL``).

Alerts are rows (:class:`~notifications.models.EmailAlert`) written when an event is dispatched
and the kind is switched on (the dashboard's alerts page); the worker sends them
(:func:`send_pending_alerts`), retrying a failed send on the next passes. Plain-text and HTML
parts, each with a link back to the dashboard.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db.models import Count, Max, Min
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.models import DeliveryStatus, DigestRun, EmailAlert
from tracking import company
from tracking.clicks.events import person_clicks
from tracking.models import EventType, LinkClick

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
SOURCE_WORDS = {
    "email": "e-mail",
    "linkedin": "LinkedIn",
    "indeed": "Indeed",
    "direct": "a direct visit",
}
SUBJECTS = {
    EventType.CLICK_PERSON: "A person opened your {function} link",
    EventType.LINK_FIRST_PERSON_CLICK: "Your {function} link was opened for the first time",
    EventType.APPLICATION_FIRST_PERSON_CLICK: "A person opened your {function} link",
    EventType.APPLICATION_REOPENED: "A person came back to your application",
    EventType.CLICKS_SPIKE: "Many people are opening your {function} link",
}


def recipients() -> list[str]:
    """``ALERT_EMAIL_TO``, else the active superusers' addresses. With the console backend and
    nobody configured, a placeholder, so that ``make run`` shows what would be sent."""
    if settings.ALERT_EMAIL_TO:
        return list(settings.ALERT_EMAIL_TO)
    found = list(
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not found and settings.EMAIL_BACKEND.endswith("console.EmailBackend"):
        return ["you@localhost"]
    return found


def ago(moment: dt.datetime, now: dt.datetime) -> str:
    minutes = max(0, int((now - moment).total_seconds() // 60))
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} days ago"


def dashboard_url(path: str) -> str:
    return settings.TRACKING_BASE_URL.rstrip("/") + path


def alert_context(event: Any, *, now: dt.datetime) -> dict[str, Any]:
    payload = event.payload
    job = payload.get("job") or {}
    function = str(payload.get("link_function") or "tracked")
    where = " at ".join(part for part in (job.get("title"), job.get("company")) if part)
    source = payload.get("source")
    company_name = str(job.get("company") or "")
    from_company = bool(payload.get("from_company_network"))
    application = payload.get("application") or {}
    if application.get("id"):
        path = f"/dashboard/applications/{application['id']}/"
    else:
        path = f"/dashboard/links/{payload.get('tracking_id')}/"
    who = f"Someone at {company_name}" if from_company and company_name else "A person"
    summary = f"{who} opened your {function} link"
    if where:
        summary += f" — {where}"
    if source:
        summary += f", from {SOURCE_WORDS.get(source, source)}"
    summary += f", {ago(event.occurred_at, now)}"
    if event.type == EventType.CLICKS_SPIKE:
        summary = (
            f"{payload.get('person_clicks_in_hour')} person clicks within an hour on your "
            f"{function} link" + (f" — {where}" if where else "")
        )
    subject = SUBJECTS.get(event.type, "linktrack: {function}").format(function=function)
    if who != "A person" and subject.startswith("A person "):
        subject = who + subject.removeprefix("A person")
    return {
        "event": event,
        "payload": payload,
        "subject": subject,
        "summary": summary + ".",
        "device": payload.get("device") or {},
        "country": payload.get("country"),
        "place": company.place_words(
            _city_of(event.click_id), payload.get("region"), payload.get("country")
        ),
        "network": company.network_words(
            network_kind=payload.get("network_kind"),
            from_company=from_company,
            company=company_name,
        ),
        "url": dashboard_url(path),
    }


def _city_of(click_id: Any) -> str | None:
    """The click's city, read from the click while anonymisation has not dropped it (events,
    which are kept, do not hold it)."""
    if click_id is None:
        return None
    return LinkClick.objects.filter(pk=click_id).values_list("city", flat=True).first()


def send_alert(alert: EmailAlert, *, now: dt.datetime) -> None:
    context = alert_context(alert.event, now=now)
    message = EmailMultiAlternatives(
        subject=context["subject"],
        body=render_to_string("notifications/alert.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients(),
    )
    message.attach_alternative(render_to_string("notifications/alert.html", context), "text/html")
    if message.to:
        message.send()


def send_pending_alerts(*, now: dt.datetime | None = None) -> int:
    """Send the pending alerts; returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for alert in EmailAlert.objects.filter(status=DeliveryStatus.PENDING).select_related("event")[
        :100
    ]:
        alert.attempts += 1
        try:
            send_alert(alert, now=now)
        except Exception as exc:  # SMTP, DNS, TLS: all mean "try again on a later pass"
            alert.error = f"{type(exc).__name__}: {exc}"[:1000]
            if alert.attempts >= MAX_ATTEMPTS:
                alert.status = DeliveryStatus.FAILED
            logger.warning("e-mail alert for event %s not sent: %s", alert.event_id, exc)
        else:
            alert.status, alert.sent_at, alert.error = DeliveryStatus.SUCCEEDED, now, ""
            sent += 1
        alert.save()
    return sent


def digest_rows(start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Per application (and per job for links without one): person clicks in [start, end)."""
    clicks = person_clicks(LinkClick.objects.filter(clicked_at__gte=start, clicked_at__lt=end))
    grouped = (
        clicks.values(
            "tracking__application_id",
            "tracking__job__title",
            "tracking__job__company_name",
        )
        .annotate(clicks=Count("click_id"), first=Min("clicked_at"), last=Max("clicked_at"))
        .order_by("-clicks")
    )
    rows = []
    for row in grouped:
        functions = sorted(
            set(
                clicks.filter(tracking__application_id=row["tracking__application_id"]).values_list(
                    "tracking__link_function", flat=True
                )
            )
        )
        application_id = row["tracking__application_id"]
        rows.append(
            {
                "job": " at ".join(
                    part
                    for part in (row["tracking__job__title"], row["tracking__job__company_name"])
                    if part
                )
                or "Links without a job",
                "clicks": row["clicks"],
                "functions": functions,
                "first": row["first"],
                "last": row["last"],
                "url": dashboard_url(f"/dashboard/applications/{application_id}/")
                if application_id
                else dashboard_url("/dashboard/activity/"),
            }
        )
    return rows


def send_digest(*, day: dt.date, force: bool = False) -> int | None:
    """Send the digest of ``day`` (in ``TIME_ZONE``); returns the number of applications in it,
    or None when it had been sent already (``force`` sends it again)."""
    if DigestRun.objects.filter(day=day).exists() and not force:
        return None
    zone = timezone.get_default_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    rows = digest_rows(start, start + dt.timedelta(days=1))
    if rows:
        context = {"day": day, "rows": rows, "url": dashboard_url("/dashboard/activity/")}
        message = EmailMultiAlternatives(
            subject=f"linktrack: {sum(r['clicks'] for r in rows)} person clicks on {day:%d %b %Y}",
            body=render_to_string("notifications/digest.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=recipients(),
        )
        message.attach_alternative(
            render_to_string("notifications/digest.html", context), "text/html"
        )
        if message.to:
            message.send()
    DigestRun.objects.update_or_create(
        day=day, defaults={"sent_at": timezone.now(), "applications": len(rows)}
    )
    return len(rows)
