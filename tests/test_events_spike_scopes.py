"""The spike rule's counts on PostgreSQL: a job's count adds its links outside the batch to the
batch's, and a link whose spike of the hour is announced still counts for its job."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.factories import make_sent_link
from tests.test_events_from_batch import click, written
from tracking import services
from tracking.clicks import events
from tracking.models import Event, Job, LinkClick, TrackedLink

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the SQL path is PostgreSQL's (DATABASE_URL)"
    ),
]


def _spikes() -> dict[str, int]:
    rows = Event.objects.filter(type="clicks.spike").values_list("dedupe_key", "payload")
    return {key: payload["person_clicks_in_hour"] for key, payload in rows}


def _sql_and_orm(batch: list[LinkClick]) -> tuple[list[Any], list[Any]]:
    """The events the SQL path writes for a stored batch, and the ORM path's (the reference),
    each from the same events on record before."""
    persons = sorted((c for c in batch if events._is_person(c)), key=events._clicked_at)
    with transaction.atomic():
        events._record_orm(persons)
        from_orm = written()
        transaction.set_rollback(True)
    events.record_batch_events(batch)
    return written(), from_orm


def test_a_job_counts_its_links_outside_the_batch(settings: Any) -> None:
    settings.CLICK_SPIKE_PER_HOUR = 3
    job = Job.objects.create(title="Busy", company_name="Fabrikam")
    in_batch, quiet, other = (make_sent_link(job_id=job.id) for _ in range(3))
    lone = make_sent_link()
    TrackedLink.objects.update(created_at=timezone.now() - dt.timedelta(days=30))
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=3)
    # Stored before the batch, in its hour: two person clicks on another link of the job, a bot
    # and the owner's on a third (not counted), one in the hour before (not counted either).
    services.insert_clicks(
        [
            click(other, hour + dt.timedelta(minutes=1)),
            click(other, hour + dt.timedelta(minutes=2)),
            click(quiet, hour + dt.timedelta(minutes=3), classification="bot"),
            click(quiet, hour + dt.timedelta(minutes=4), click_source="dashboard"),
            click(quiet, hour - dt.timedelta(minutes=1)),
        ]
    )
    batch = [click(in_batch, hour + dt.timedelta(minutes=10 + n)) for n in range(2)]
    batch.append(click(lone, hour + dt.timedelta(minutes=20)))
    with transaction.atomic():
        services.insert_clicks(batch)
        from_sql, from_orm = _sql_and_orm(batch)
    assert from_sql == from_orm
    # 2 in the batch + 2 on the other link: over 3 for the job, not for any link.
    assert _spikes() == {f"clicks.spike:job:{job.id}:{hour:%Y%m%d%H}": 4}


def test_a_link_announced_in_the_hour_still_counts_for_its_job(settings: Any) -> None:
    settings.CLICK_SPIKE_PER_HOUR = 3
    job = Job.objects.create(title="Busy", company_name="Fabrikam")
    busy, other = make_sent_link(job_id=job.id), make_sent_link(job_id=job.id)
    TrackedLink.objects.update(created_at=timezone.now() - dt.timedelta(days=30))
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=3)
    key = f"{hour:%Y%m%d%H}"
    first = [click(busy, hour + dt.timedelta(minutes=1, seconds=n)) for n in range(4)]
    with transaction.atomic():
        services.insert_clicks(first)
        events.record_batch_events(first)
    assert _spikes() == {
        f"clicks.spike:link:{busy}:{key}": 4,
        f"clicks.spike:job:{job.id}:{key}": 4,
    }
    # The job's spike is no longer on record; the link's is: the next batch (within the hour)
    # announces the job's again, counting the busy link's clicks too, and not the link's.
    Event.objects.filter(dedupe_key__contains=":job:").delete()
    second = [
        click(busy, hour + dt.timedelta(minutes=5)),
        click(other, hour + dt.timedelta(minutes=6)),
    ]
    with transaction.atomic():
        services.insert_clicks(second)
        from_sql, from_orm = _sql_and_orm(second)
    assert from_sql == from_orm
    assert _spikes() == {
        f"clicks.spike:link:{busy}:{key}": 4,
        f"clicks.spike:job:{job.id}:{key}": 6,
    }


def test_a_batch_over_two_hours_counts_each_hour_apart(settings: Any) -> None:
    settings.CLICK_SPIKE_PER_HOUR = 2
    job = Job.objects.create(title="Busy", company_name="Fabrikam")
    first, second = make_sent_link(job_id=job.id), make_sent_link(job_id=job.id)
    TrackedLink.objects.update(created_at=timezone.now() - dt.timedelta(days=30))
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=4)
    services.insert_clicks([click(second, hour + dt.timedelta(minutes=70 + n)) for n in range(2)])
    batch = [click(first, hour + dt.timedelta(minutes=50 + n * 5)) for n in range(4)]
    with transaction.atomic():
        services.insert_clicks(batch)
        from_sql, from_orm = _sql_and_orm(batch)
    assert from_sql == from_orm
    later = hour + dt.timedelta(hours=1)
    # First hour: 2 clicks (not over 2). Next hour: 2 on the first link, 4 on the job.
    assert _spikes() == {f"clicks.spike:job:{job.id}:{later:%Y%m%d%H}": 4}
