"""Events: the facts about person clicks that the job seeker is told about (the outbox).

A person click produces ``click.person`` and, when it applies, ``link.first_person_click``,
``application.first_person_click``, ``application.reopened`` (a person came back after
``APPLICATION_REOPENED_AFTER_DAYS`` of silence) and ``clicks.spike`` (more than
``CLICK_SPIKE_PER_HOUR`` person clicks on a link or a job within one clock hour). Bots, scanners,
previews and the owner's own clicks (source ``dashboard`` or ``test``) produce nothing.

When they are written (:func:`record_events`):

- buffered mode: by the click writer, in the transaction that inserts the batch, after the burst
  rule has run on it (:func:`tracking.clicks.writer.write_clicks`);
- direct mode: the redirect makes exactly one INSERT and nothing after the response for a lone
  click, so its events are written by a catch-up pass (:func:`record_missed_events`, run by the
  notifications worker every few seconds) over recent person clicks that have none yet.

Why events wait: the burst rule can still turn a click into ``scanner`` for
:data:`~tracking.clicks.burst.BURST_WINDOW` after it was made (a later click of the same scan may
arrive in the next batch). Every event is therefore *due* only once that window, plus a margin,
has passed, and :func:`still_true` re-checks it against the clicks as stored before it is
delivered. Each event's ``dedupe_key`` is unique, so running either path twice over the same
clicks writes nothing new.
"""

from __future__ import annotations

import bisect
import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncHour
from django.utils import timezone

from tracking import dbinsert
from tracking.clicks.burst import BURST_WINDOW
from tracking.dbfields import AsUTC
from tracking.models import Classification, Event, EventType, LinkClick, TrackedLink

# Writers and the database clock may differ a little; the margin keeps the due time safely after
# the last moment the burst rule could still change the click.
DUE_MARGIN = dt.timedelta(seconds=1)
# How far back the catch-up pass looks for person clicks without events. A click stored later
# than this (a spool replayed after a long outage) is old news and is not announced.
CATCH_UP_WINDOW = dt.timedelta(hours=6)
OWNER_SOURCES = frozenset({"dashboard", "test"})
# What a click judged a person has passed (the classifier records only the signals that fired).
PERSON_CHECKS = (
    "a browser user agent that is not a crawler or link preview",
    "sent Accept-Language",
    "not from a known e-mail security network",
    "not within seconds of the link's creation",
    "not part of a burst of clicks on several links of the application",
)


def person_clicks(clicks: QuerySet[LinkClick]) -> QuerySet[LinkClick]:
    """The clicks that are people other than the owner."""
    return clicks.filter(classification=Classification.HUMAN).exclude(
        click_source__in=OWNER_SOURCES
    )


def _earlier_person_clicks(clicks: QuerySet[LinkClick], click: LinkClick) -> QuerySet[LinkClick]:
    assert click.clicked_at is not None
    return person_clicks(clicks).filter(clicked_at__lt=click.clicked_at)


def country_of(click: LinkClick) -> str | None:
    """The visitor's country (ISO 3166-1 alpha-2) when the geo lookup found one."""
    return click.country_code or None


def click_payload(click: LinkClick, link: TrackedLink) -> dict[str, Any]:
    """What an event says about its click: JSON-ready, no IP address or user agent."""
    job = link.job
    application = link.application
    return {
        "click_id": str(click.click_id),
        "clicked_at": click.clicked_at.isoformat() if click.clicked_at else None,
        "tracking_id": link.tracking_id,
        "link_function": link.link_function,
        "job": {"id": str(job.id), "title": job.title, "company": job.company_name}
        if job
        else None,
        "application": (
            {"id": str(application.id), "status": application.status} if application else None
        ),
        "source": click.click_source,
        "device": {"type": click.device_type, "browser": click.browser, "os": click.os},
        "country": country_of(click),
        # The region survives anonymisation; the city does not, so events (kept for good) do
        # not hold it: alerts read it from the click while it is there.
        "region": click.region or None,
        "network_kind": click.network_kind or None,
        "from_company_network": click.from_company_network is True,
        "classification": click.classification,
        "reasons": list(click.classification_reasons or []),
        "judged_person_because": list(PERSON_CHECKS),
    }


def _hour(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _event(
    kind: str, key: str, click: LinkClick, link: TrackedLink, payload: dict[str, Any]
) -> Event:
    assert click.clicked_at is not None
    return Event(
        type=kind,
        dedupe_key=f"{kind}:{key}",
        occurred_at=click.clicked_at,
        due_at=click.clicked_at + BURST_WINDOW + DUE_MARGIN,
        click_id=click.click_id,
        tracking_id=link.tracking_id,
        job_id=link.job_id,
        application_id=link.application_id,
        payload=payload,
    )


@dataclass
class _History:
    """What the events of a batch of person clicks need to know about the clicks stored around
    them, read with a fixed number of queries for the whole batch (one query per click and rule
    made a batch of 500 clicks cost 2,000 queries, each scanning an application's clicks).

    Read after the batch was inserted, so it includes the batch itself, exactly as the per-click
    queries it replaces did: ``first_on_link`` is each link's earliest person click;
    ``before_batch`` each application's latest person click before the batch's earliest click,
    ``in_batch_span`` its person clicks from then to the batch's latest click (sorted); the spike
    counts are the person clicks per link, and per job, in each clock hour the batch touches.
    """

    first_on_link: dict[str, dt.datetime | None]
    before_batch: dict[uuid.UUID, dt.datetime]
    in_batch_span: dict[uuid.UUID, list[dt.datetime]]
    per_link_hour: dict[tuple[str, dt.datetime], int]
    per_job_hour: dict[tuple[uuid.UUID, dt.datetime], int]

    def previous_on_application(
        self, application_id: uuid.UUID, before: dt.datetime
    ) -> dt.datetime | None:
        """The application's latest person click before ``before`` (a batch click's time)."""
        span = self.in_batch_span.get(application_id, [])
        index = bisect.bisect_left(span, before)
        if index:
            return span[index - 1]
        return self.before_batch.get(application_id)


def _clicked_at(click: LinkClick) -> dt.datetime:
    assert click.clicked_at is not None
    return click.clicked_at


def _load_history(clicks: list[LinkClick]) -> _History:
    stored = person_clicks(LinkClick.objects.all()).exclude(clicked_at=None)
    links = {click.tracking_id for click in clicks}
    applications = {c.tracking.application_id for c in clicks if c.tracking.application_id}
    jobs = {c.tracking.job_id for c in clicks if c.tracking.job_id}
    earliest = min(_clicked_at(click) for click in clicks)
    latest = max(_clicked_at(click) for click in clicks)

    first = stored.filter(tracking_id=OuterRef("tracking_id")).order_by("clicked_at")
    first_on_link = dict(
        TrackedLink.objects.filter(tracking_id__in=links)
        .annotate(first=Subquery(first.values("clicked_at")[:1]))
        .order_by()
        .values_list("tracking_id", "first")
    )
    before_batch: dict[uuid.UUID, dt.datetime] = {}
    in_batch_span: dict[uuid.UUID, list[dt.datetime]] = {}
    if applications:
        # Each link's latest before the batch (an index scan per link that stops at the first
        # person click), then the latest of an application's links.
        last = stored.filter(tracking_id=OuterRef("tracking_id"), clicked_at__lt=earliest)
        rows = (
            TrackedLink.objects.filter(application_id__in=applications)
            .annotate(last=Subquery(last.order_by("-clicked_at").values("clicked_at")[:1]))
            .order_by()
            .values_list("application_id", "last")
        )
        for application_id, moment in rows:
            if moment is None:
                continue
            if application_id not in before_batch or moment > before_batch[application_id]:
                before_batch[application_id] = moment
        span = stored.filter(
            tracking__application_id__in=applications,
            clicked_at__gte=earliest,
            clicked_at__lt=latest,
        ).values_list("tracking__application_id", "clicked_at")
        for application_id, moment in span:
            if moment is not None:  # never: the range excludes NULL
                in_batch_span.setdefault(application_id, []).append(moment)
        for moments in in_batch_span.values():
            moments.sort()
    per_link_hour: dict[tuple[str, dt.datetime], int] = {}
    per_job_hour: dict[tuple[uuid.UUID, dt.datetime], int] = {}
    if settings.CLICK_SPIKE_PER_HOUR > 0:
        hours = stored.filter(
            clicked_at__gte=_hour(earliest), clicked_at__lt=_hour(latest) + dt.timedelta(hours=1)
        ).annotate(hour=TruncHour(AsUTC("clicked_at"), tzinfo=dt.UTC))
        by_link = hours.filter(tracking_id__in=links).values_list("tracking_id", "hour")
        for tracking_id, hour, count in by_link.annotate(n=Count("click_id")):
            per_link_hour[(tracking_id, _hour(hour))] = count
        if jobs:
            by_job = hours.filter(tracking__job_id__in=jobs).values_list("tracking__job_id", "hour")
            for job_id, hour, count in by_job.annotate(n=Count("click_id")):
                per_job_hour[(job_id, _hour(hour))] = count
    return _History(first_on_link, before_batch, in_batch_span, per_link_hour, per_job_hour)


def _events_for(click: LinkClick, link: TrackedLink, history: _History) -> list[Event]:
    clicked_at = _clicked_at(click)
    base = click_payload(click, link)
    events = [_event(EventType.CLICK_PERSON, str(click.click_id), click, link, base)]
    first = history.first_on_link.get(link.tracking_id)
    if first is None or first >= clicked_at:  # no earlier person click on the link
        events.append(
            _event(EventType.LINK_FIRST_PERSON_CLICK, str(click.click_id), click, link, base)
        )
    if link.application_id is not None:
        previous = history.previous_on_application(link.application_id, clicked_at)
        key = str(click.click_id)
        if previous is None:
            events.append(_event(EventType.APPLICATION_FIRST_PERSON_CLICK, key, click, link, base))
        elif clicked_at - previous >= dt.timedelta(days=settings.APPLICATION_REOPENED_AFTER_DAYS):
            payload = {**base, "previous_person_click_at": previous.isoformat()}
            events.append(_event(EventType.APPLICATION_REOPENED, key, click, link, payload))
    events.extend(_spikes(click, link, base, history))
    return events


def _spikes(
    click: LinkClick, link: TrackedLink, base: dict[str, Any], history: _History
) -> list[Event]:
    """One ``clicks.spike`` per link (and per job) and clock hour, once over the threshold."""
    threshold = settings.CLICK_SPIKE_PER_HOUR
    if threshold <= 0:
        return []
    hour = _hour(_clicked_at(click))
    scopes = [("link", link.tracking_id, history.per_link_hour.get((link.tracking_id, hour), 0))]
    if link.job_id is not None:
        scopes.append(("job", str(link.job_id), history.per_job_hour.get((link.job_id, hour), 0)))
    events = []
    for scope, scope_id, count in scopes:
        if count > threshold:
            payload = {
                **base,
                "scope": scope,
                "person_clicks_in_hour": count,
                "threshold": threshold,
                "hour": hour.isoformat(),
            }
            key = f"{scope}:{scope_id}:{hour:%Y%m%d%H}"
            events.append(_event(EventType.CLICKS_SPIKE, key, click, link, payload))
    return events


def record_events(click_ids: Iterable[uuid.UUID]) -> int:
    """Write the events of stored clicks, as they are stored now; returns events written.

    Call it in the transaction that stored the clicks, after the burst rule. Clicks that are not
    a person's produce nothing (and cost one query for the whole batch); person clicks cost a
    few queries per batch, not per click (:class:`_History`).
    """
    ids = list(click_ids)
    if not ids:
        return 0
    clicks = list(
        person_clicks(LinkClick.objects.filter(click_id__in=ids))
        .select_related("tracking__job", "tracking__application")
        .exclude(clicked_at=None)
        .order_by("clicked_at")
    )
    if not clicks:
        return 0
    history = _load_history(clicks)
    events: list[Event] = []
    for click in clicks:
        events.extend(_events_for(click, click.tracking, history))
    dbinsert.insert_ignoring_conflicts(Event, events)
    return len(events)


def record_missed_events(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Write the events of recent person clicks that have none yet (direct-mode clicks).

    Only clicks whose burst window has closed are considered, so the classification read here
    is final. Idempotent; returns the number of events handed to the INSERT.
    """
    now = now or timezone.now()
    settled = now - BURST_WINDOW - DUE_MARGIN
    announced = Event.objects.filter(
        type=EventType.CLICK_PERSON, occurred_at__gte=now - CATCH_UP_WINDOW - BURST_WINDOW
    ).values("click_id")
    missing = (
        person_clicks(LinkClick.objects.all())
        .filter(clicked_at__gte=now - CATCH_UP_WINDOW, clicked_at__lte=settled)
        .exclude(click_id__in=announced)
        .order_by("clicked_at")
        .values_list("click_id", flat=True)[:limit]
    )
    ids = list(missing)
    if not ids:
        return 0
    with transaction.atomic():
        return record_events(ids)


def still_true(event: Event) -> str | None:
    """Re-check an event against the clicks as stored now; returns why it no longer holds, or
    None when it does (the click may have been reclassified after the event was written)."""
    if event.click_id is None:
        return None
    click = LinkClick.objects.filter(click_id=event.click_id).first()
    if click is None:
        return "the click has been deleted"
    if click.classification != Classification.HUMAN:
        return f"the click is now classified as {click.classification}"
    if event.type == EventType.LINK_FIRST_PERSON_CLICK:
        on_link = LinkClick.objects.filter(tracking_id=click.tracking_id)
        if _earlier_person_clicks(on_link, click).exists():
            return "an earlier person click on the link exists"
    if event.type == EventType.APPLICATION_FIRST_PERSON_CLICK and event.application_id:
        on_application = LinkClick.objects.filter(tracking__application_id=event.application_id)
        if _earlier_person_clicks(on_application, click).exists():
            return "an earlier person click on the application exists"
    return None
