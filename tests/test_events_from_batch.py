"""The click writer's events from its batch in memory are the events of the stored clicks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.factories import CHROME, make_sent_link
from tracking import services
from tracking.clicks import events
from tracking.models import Event, Job, JobApplication, LinkClick, TrackedLink

pytestmark = pytest.mark.django_db


def click(
    tracking_id: str, at: dt.datetime, classification: str = "human", **fields: Any
) -> LinkClick:
    built = services.build_click(
        tracking_id=tracking_id, ip_address="192.0.2.10", user_agent=CHROME, clicked_at=at, **fields
    )
    built.classification = classification
    built.classification_reasons = [] if classification == "human" else ["crawler_user_agent"]
    built.device_type, built.browser, built.os = "desktop", "Chrome", "Windows"
    built.country_code, built.region, built.network_kind = "DE", "Berlin", "residential"
    return built


def written() -> list[tuple[Any, ...]]:
    return sorted(
        Event.objects.values_list(
            "type",
            "dedupe_key",
            "occurred_at",
            "due_at",
            "click_id",
            "tracking_id",
            "job_id",
            "application_id",
            "payload",
        )
    )


def test_the_batch_in_memory_writes_exactly_the_events_of_the_stored_clicks(
    settings: Any, django_assert_num_queries: Any
) -> None:
    settings.APPLICATION_REOPENED_AFTER_DAYS = 7
    settings.CLICK_SPIKE_PER_HOUR = 2
    job = Job.objects.create(title="Data Analyst", company_name="Fabrikam")
    application = JobApplication.objects.create(job=job)
    first_link = make_sent_link(application_id=application.id, link_function="Portfolio")
    second_link = make_sent_link(application_id=application.id, link_function="Resume")
    other_job_link = make_sent_link(job_id=job.id)
    lone_link = make_sent_link()
    TrackedLink.objects.update(created_at=timezone.now() - dt.timedelta(days=30))
    hour = timezone.now().replace(minute=5, second=0, microsecond=0) - dt.timedelta(hours=1)
    older = click(first_link, hour - dt.timedelta(days=9))
    services.insert_clicks([older])
    batch = [
        click(second_link, hour),  # the application reopens; the link's first
        click(first_link, hour + dt.timedelta(minutes=1)),
        click(first_link, hour + dt.timedelta(minutes=2)),
        click(first_link, hour + dt.timedelta(minutes=3)),  # over the threshold: link and job
        click(other_job_link, hour + dt.timedelta(minutes=3)),
        click(first_link, hour + dt.timedelta(minutes=4), classification="bot"),
        click(first_link, hour + dt.timedelta(minutes=5), click_source="dashboard"),
        click(lone_link, hour + dt.timedelta(minutes=6)),
        click(lone_link, hour + dt.timedelta(minutes=7)),  # stored as a scanner meanwhile
    ]
    with transaction.atomic():
        services.insert_clicks(batch)
        LinkClick.objects.filter(pk=batch[-1].click_id).update(classification="scanner")
        # The links with the first click on each, two for the application, the spike counts of
        # links and jobs, and the INSERT (elsewhere than on PostgreSQL, which clicks are still
        # stored as a person's is a query of its own).
        with django_assert_num_queries(6 if connection.vendor == "postgresql" else 7):
            events.record_batch_events(batch)
    from_memory = written()
    Event.objects.all().delete()
    events.record_events(c.click_id for c in batch)
    assert written() == from_memory
    kinds = [row[0] for row in from_memory]
    assert kinds.count("click.person") == 6
    assert kinds.count("application.reopened") == 1
    assert kinds.count("clicks.spike") == 2
    assert "link.first_person_click" in kinds
    assert all(row[4] != batch[-1].click_id for row in from_memory)
