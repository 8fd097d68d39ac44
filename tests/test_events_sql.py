"""On PostgreSQL the events of a batch are read and built in SQL; they are the ORM's, row for row."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.factories import make_sent_link
from tests.test_events_from_batch import click, written
from tracking import services
from tracking.clicks import events
from tracking.models import Event, Job, JobApplication, LinkClick, TrackedLink

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the SQL path is PostgreSQL's (DATABASE_URL)"
    ),
]


def links_of_three_applications() -> list[str]:
    links = []
    for number in range(3):
        job = Job.objects.create(title=f"Role {number}", company_name=f"Company {number}")
        application = JobApplication.objects.create(job=job)
        for function in ("Resume", "Portfolio", "GitHub"):
            links.append(
                make_sent_link(application_id=application.id, job_id=job.id, link_function=function)
            )
    job = Job.objects.create(title="Job only", company_name="Fabrikam")
    links.append(make_sent_link(job_id=job.id))
    links += [make_sent_link(), make_sent_link()]
    TrackedLink.objects.update(created_at=timezone.now() - dt.timedelta(days=30))
    return links


def test_the_sql_path_writes_the_events_of_the_orm_path(settings: Any) -> None:
    settings.APPLICATION_REOPENED_AFTER_DAYS = 2
    settings.CLICK_SPIKE_PER_HOUR = 3
    rng = random.Random(3)
    links = links_of_three_applications()
    start = timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=4)
    # Older clicks: some applications quiet for days (they reopen), one never clicked (its first).
    older = [click(links[i], start - dt.timedelta(days=days)) for i, days in ((0, 5), (4, 1))]
    older += [click(links[9], start - dt.timedelta(days=3), click_source="dashboard")]
    services.insert_clicks(older)
    minutes = sorted(rng.randrange(0, 180) for _ in range(80))  # several clicks share a moment
    moments = [start + dt.timedelta(minutes=m, microseconds=m * 7919 % 10**6) for m in minutes]
    batch = [
        click(
            rng.choice(links),
            at,
            classification=rng.choice(["human"] * 5 + ["bot"]),
            click_source=rng.choice(["email", "linkedin", None, None, "test"]),
        )
        for at in moments
    ]
    between = click(links[3], moments[40] + dt.timedelta(seconds=1))  # another writer's
    # What the payload writes as it is: a whole second, microseconds with trailing zeros, an
    # instance in another time zone, an empty region, reasons that are not a list.
    batch[1].clicked_at = moments[1].replace(second=0, microsecond=0)
    batch[2].clicked_at = moments[2].replace(microsecond=120000)
    batch[3].clicked_at = moments[3].astimezone(dt.timezone(dt.timedelta(hours=2)))
    batch[4].region, batch[4].country_code, batch[4].classification_reasons = "", "", None
    batch[5].from_company_network, batch[5].browser = True, None
    with transaction.atomic():
        services.insert_clicks([between, *batch])
        LinkClick.objects.filter(pk=batch[7].click_id).update(classification="scanner")
        persons = sorted((c for c in batch if events._is_person(c)), key=events._clicked_at)
        by_orm = events._record_orm(persons)
        from_orm = written()
        Event.objects.all().delete()
        by_sql = events.record_batch_events(batch)
        from_sql = written()
    assert from_sql == from_orm
    assert by_sql == by_orm
    kinds = {row[0] for row in from_sql}
    assert kinds == {
        "click.person",
        "link.first_person_click",
        "application.first_person_click",
        "application.reopened",
        "clicks.spike",
    }


def test_a_batch_on_a_deleted_link_writes_nothing(settings: Any) -> None:
    link = make_sent_link()
    lone = click(link, timezone.now() - dt.timedelta(minutes=5))
    TrackedLink.objects.filter(pk=link).delete()
    with transaction.atomic():
        assert events.record_batch_events([lone]) == 0
    assert not Event.objects.exists()


def test_a_spike_is_announced_once_an_hour_and_again_once_its_event_is_gone(
    settings: Any,
) -> None:
    settings.CLICK_SPIKE_PER_HOUR = 3
    job = Job.objects.create(title="Busy", company_name="Fabrikam")
    link = make_sent_link(job_id=job.id)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=2)

    def batch(minute: int, count: int) -> int:
        """The events the batch added."""
        before = Event.objects.count()
        clicks = [click(link, hour + dt.timedelta(minutes=minute, seconds=n)) for n in range(count)]
        with transaction.atomic():
            services.insert_clicks(clicks)
            events.record_batch_events(clicks)
        return Event.objects.count() - before

    def spikes() -> list[tuple[str, Any]]:
        rows = Event.objects.filter(type="clicks.spike").values_list("dedupe_key", "payload")
        return sorted((key, payload["person_clicks_in_hour"]) for key, payload in rows)

    key = f"{hour:%Y%m%d%H}"
    assert batch(1, 5) == 5 + 2 + 1  # click.person each, the two spikes, the link's first
    assert spikes() == [
        (f"clicks.spike:job:{job.id}:{key}", 5),
        (f"clicks.spike:link:{link}:{key}", 5),
    ]
    assert batch(10, 2) == 2  # the hour's spikes are announced: only the clicks
    assert spikes()[1][1] == 5
    Event.objects.filter(type="clicks.spike", dedupe_key__contains=":link:").delete()
    assert batch(20, 1) == 2  # a spike no longer on record is announced again, with the count
    assert spikes() == [
        (f"clicks.spike:job:{job.id}:{key}", 5),
        (f"clicks.spike:link:{link}:{key}", 8),
    ]
