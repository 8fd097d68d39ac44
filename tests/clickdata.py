"""Links and clicks of a given age, and a command runner, for the privacy and retention tests."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from tracking import services
from tracking.models import Job, JobApplication, LinkClick, TrackedLink


def make_link(
    *, job: Job | None = None, application: JobApplication | None = None, **fields: Any
) -> TrackedLink:
    created = services.create_tracked_link(
        original_url=fields.pop("original_url", "https://linkedin.com/in/steve-glen"),
        link_function=fields.pop("link_function", "LinkedIn"),
        link_type=fields.pop("link_type", "profile"),
        job_id=str(job.id) if job else None,
        application_id=str(application.id) if application else None,
        **fields,
    )
    return TrackedLink.objects.get(pk=created["tracking_id"])


def make_click(
    link: TrackedLink,
    *,
    days_ago: float = 0,
    ip_address: str | None = "203.0.113.7",
    session_id: str | None = "sess_abc123",
    visitor_hash: str | None = "f" * 64,
    user_agent: str | None = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
) -> LinkClick:
    click = services.build_click(
        tracking_id=link.tracking_id,
        clicked_at=timezone.now() - dt.timedelta(days=days_ago),
        ip_address=ip_address,
        user_agent=user_agent,
        referrer_url="https://mail.google.com/",
        session_id=session_id,
    )
    click.visitor_hash = visitor_hash
    services.insert_clicks([click])
    return LinkClick.objects.get(pk=click.pk)


def run_command(name: str, *args: str) -> str:
    """Run a management command and return what it printed."""
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()
