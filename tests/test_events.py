"""The events outbox: written with the click, once per fact, only for people."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests.factories import CHROME, human_signals, make_sent_link
from tracking import services
from tracking.clicks import events
from tracking.clicks.writer import write_clicks
from tracking.models import Event, Job, JobApplication, LinkClick, TrackedLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def application() -> JobApplication:
    job = Job.objects.create(title="Data Analyst", company_name="Fabrikam")
    return JobApplication.objects.create(job=job)


def write(
    tracking_id: str,
    *,
    application: JobApplication | None = None,
    ip: str = "198.51.100.23",
    clicked_at: dt.datetime | None = None,
    **fields: Any,
) -> LinkClick:
    fields.setdefault("user_agent", CHROME)
    click = services.build_click(
        tracking_id=tracking_id, ip_address=ip, clicked_at=clicked_at, **fields
    )
    signals = human_signals(ip, application_id=str(application.id) if application else None)
    # Links in these tests were sent long ago: the "right after creation" rule stays out.
    signals = dataclasses.replace(
        signals,
        user_agent=fields["user_agent"],
        link_created_at=timezone.now() - dt.timedelta(days=30),
    )
    write_clicks([(click, signals.as_dict())])
    return LinkClick.objects.get(pk=click.click_id)


def sent_long_ago(tracking_id: str) -> str:
    TrackedLink.objects.filter(pk=tracking_id).update(
        created_at=timezone.now() - dt.timedelta(days=30)
    )
    return tracking_id


def types() -> list[str]:
    return sorted(Event.objects.values_list("type", flat=True))


def test_a_first_person_click_writes_three_events_with_the_click_payload(
    application: JobApplication,
) -> None:
    tracking_id = make_sent_link(application_id=application.id, link_function="Portfolio")
    click = write(tracking_id, application=application, referrer_url="https://mail.google.com/")
    assert types() == [
        "application.first_person_click",
        "click.person",
        "link.first_person_click",
    ]
    event = Event.objects.get(type="click.person")
    assert event.click_id == click.click_id
    assert event.application_id == application.id
    assert click.clicked_at is not None
    assert event.due_at >= click.clicked_at + dt.timedelta(seconds=2)
    payload = event.payload
    assert payload["job"] == {
        "id": str(application.job_id),
        "title": "Data Analyst",
        "company": "Fabrikam",
    }
    assert payload["application"]["id"] == str(application.id)
    assert payload["link_function"] == "Portfolio"
    assert payload["tracking_id"] == tracking_id
    assert payload["source"] == "email"
    assert payload["device"]["type"] == "desktop"
    assert payload["classification"] == "human"
    assert payload["judged_person_because"]
    assert not {"ip", "ip_address", "user_agent"} & set(keys_of(payload))
    assert "198.51.100" not in str(payload)  # no address anywhere, under any name


def keys_of(value: object) -> list[str]:
    """Every key at any depth of a JSON value."""
    if isinstance(value, dict):
        return [k for key, item in value.items() for k in [str(key), *keys_of(item)]]
    if isinstance(value, list):
        return [k for item in value for k in keys_of(item)]
    return []


def test_a_second_person_click_writes_click_person_only(application: JobApplication) -> None:
    tracking_id = make_sent_link(application_id=application.id)
    write(tracking_id, application=application, ip="198.51.100.23")
    Event.objects.all().delete()
    write(tracking_id, application=application, ip="192.0.2.44")
    assert types() == ["click.person"]


def test_automated_and_owner_clicks_write_no_event(application: JobApplication) -> None:
    tracking_id = make_sent_link(application_id=application.id)
    write(tracking_id, user_agent="curl/8.0")
    write(tracking_id, user_agent="Googlebot/2.1 (+http://www.google.com/bot.html)")
    write(tracking_id, click_source="dashboard")
    write(tracking_id, http_method="HEAD")
    assert LinkClick.objects.count() == 4
    assert types() == []


def test_writing_the_same_clicks_twice_produces_each_event_once(
    application: JobApplication,
) -> None:
    tracking_id = make_sent_link(application_id=application.id)
    click = write(tracking_id, application=application)
    assert events.record_events([click.click_id]) == 3  # handed to the INSERT, all conflicts
    assert Event.objects.count() == 3


def test_a_person_coming_back_after_the_silence_reopens_the_application(
    application: JobApplication, settings: Any
) -> None:
    settings.APPLICATION_REOPENED_AFTER_DAYS = 7
    tracking_id = sent_long_ago(make_sent_link(application_id=application.id))
    write(tracking_id, clicked_at=timezone.now() - dt.timedelta(days=8))
    write(tracking_id, ip="192.0.2.44", clicked_at=timezone.now() - dt.timedelta(days=3))
    assert "application.reopened" not in types()
    Event.objects.all().delete()
    write(tracking_id, ip="192.0.2.45")
    assert "application.reopened" not in types()  # 3 days after the last one
    LinkClick.objects.filter(ip_address__in=["192.0.2.44", "192.0.2.45"]).delete()
    Event.objects.all().delete()
    click = write(tracking_id, ip="192.0.2.46")
    assert types() == ["application.reopened", "click.person"]
    reopened = Event.objects.get(type="application.reopened")
    assert reopened.click_id == click.click_id


def test_a_spike_is_announced_once_per_link_and_hour(settings: Any) -> None:
    settings.CLICK_SPIKE_PER_HOUR = 2
    tracking_id = sent_long_ago(make_sent_link())
    hour = timezone.now().replace(minute=5, second=0, microsecond=0) - dt.timedelta(hours=1)
    for minute in range(4):
        write(
            tracking_id, ip=f"192.0.2.{minute + 1}", clicked_at=hour + dt.timedelta(minutes=minute)
        )
    spikes = Event.objects.filter(type="clicks.spike")
    assert spikes.count() == 1
    assert spikes.get().payload["person_clicks_in_hour"] == 3


def test_the_catch_up_pass_writes_events_for_direct_clicks_once_the_window_has_passed(
    application: JobApplication,
) -> None:
    tracking_id = make_sent_link(application_id=application.id)
    click = services.build_click(tracking_id=tracking_id, ip_address="198.51.100.23")
    click.classification = "human"
    click.classification_reasons = []
    services.insert_new_click(click)
    assert click.clicked_at is not None
    assert events.record_missed_events(now=click.clicked_at + dt.timedelta(seconds=1)) == 0
    later = click.clicked_at + dt.timedelta(seconds=5)
    assert events.record_missed_events(now=later) == 3
    assert events.record_missed_events(now=later) == 0
    assert Event.objects.count() == 3


def test_an_event_whose_click_became_a_scanner_no_longer_holds(
    application: JobApplication,
) -> None:
    tracking_id = make_sent_link(application_id=application.id)
    click = write(tracking_id, application=application)
    event = Event.objects.get(type="application.first_person_click")
    assert events.still_true(event) is None
    LinkClick.objects.filter(pk=click.pk).update(classification="scanner")
    assert events.still_true(event) == "the click is now classified as scanner"


def test_a_batch_gets_the_events_each_click_would_get_alone(
    application: JobApplication, settings: Any
) -> None:
    settings.APPLICATION_REOPENED_AFTER_DAYS = 7
    first_link = sent_long_ago(make_sent_link(application_id=application.id))
    second_link = sent_long_ago(make_sent_link(application_id=application.id))
    now = timezone.now()
    batch = []
    for tracking_id, ip, days_ago in [
        (first_link, "192.0.2.1", 10),
        (second_link, "192.0.2.2", 2),  # eight days after the first: the application reopens
        (first_link, "192.0.2.3", 1),
    ]:
        click = services.build_click(
            tracking_id=tracking_id,
            ip_address=ip,
            user_agent=CHROME,
            clicked_at=now - dt.timedelta(days=days_ago),
        )
        signals = human_signals(ip, application_id=str(application.id))
        signals = dataclasses.replace(signals, link_created_at=now - dt.timedelta(days=30))
        batch.append((click, signals.as_dict()))

    write_clicks(batch)

    by_click = {
        click.click_id: sorted(
            Event.objects.filter(click_id=click.click_id).values_list("type", flat=True)
        )
        for click, _signals in batch
    }
    assert list(by_click.values()) == [
        ["application.first_person_click", "click.person", "link.first_person_click"],
        ["application.reopened", "click.person", "link.first_person_click"],
        ["click.person"],
    ]
