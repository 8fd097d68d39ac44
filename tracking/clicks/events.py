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
import operator
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncHour
from django.utils import timezone

from tracking import dbinsert
from tracking.clicks.burst import BURST_WINDOW
from tracking.clicks.eventsql import hour_of, record_postgresql, spike
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


@dataclass(frozen=True, slots=True)
class LinkFacts:
    """What the events of a batch say about one link, read once per batch (:func:`read_links`):
    the application's status changes, so it is never cached across batches."""

    tracking_id: str
    link_function: str
    job_id: uuid.UUID | None
    application_id: uuid.UUID | None
    job: dict[str, str] | None  # the payload's "job"
    application: dict[str, str] | None  # the payload's "application"


def click_payload(click: LinkClick, link: LinkFacts) -> dict[str, Any]:
    """What an event says about its click: JSON-ready, no IP address or user agent."""
    return {
        "click_id": str(click.click_id),
        "clicked_at": click.clicked_at.isoformat() if click.clicked_at else None,
        "tracking_id": link.tracking_id,
        "link_function": link.link_function,
        "job": link.job,
        "application": link.application,
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


def _stored_person_clicks() -> QuerySet[LinkClick]:
    return person_clicks(LinkClick.objects.all()).exclude(clicked_at=None)


def read_links(
    tracking_ids: Iterable[str],
) -> tuple[dict[str, LinkFacts], dict[str, dt.datetime | None]]:
    """The links of a batch, and each one's earliest stored person click, in one query."""
    first = _stored_person_clicks().filter(tracking_id=OuterRef("tracking_id"))
    rows = (
        TrackedLink.objects.filter(tracking_id__in=set(tracking_ids))
        .annotate(first=Subquery(first.order_by("clicked_at").values("clicked_at")[:1]))
        .order_by()
        .values_list(
            "tracking_id",
            "link_function",
            "job_id",
            "job__title",
            "job__company_name",
            "application_id",
            "application__status",
            "first",
        )
    )
    links: dict[str, LinkFacts] = {}
    first_on_link: dict[str, dt.datetime | None] = {}
    for tracking_id, function, job_id, title, company_name, app_id, status, first_at in rows:
        links[tracking_id] = LinkFacts(
            tracking_id=tracking_id,
            link_function=function,
            job_id=job_id,
            application_id=app_id,
            job=None
            if job_id is None
            else {"id": str(job_id), "title": title, "company": company_name},
            application=None if app_id is None else {"id": str(app_id), "status": status},
        )
        first_on_link[tracking_id] = first_at
    return links, first_on_link


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


def _load_history(
    clicks: list[LinkClick],
    links: dict[str, LinkFacts],
    first_on_link: dict[str, dt.datetime | None],
) -> _History:
    """The rest of :class:`_History` (``first_on_link`` comes with the links)."""
    stored = _stored_person_clicks()
    batch_links = [links[click.tracking_id] for click in clicks]
    applications = {link.application_id for link in batch_links if link.application_id}
    jobs = {link.job_id for link in batch_links if link.job_id}
    earliest = min(_clicked_at(click) for click in clicks)
    latest = max(_clicked_at(click) for click in clicks)
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
        # Only the counts over the threshold: the others announce nothing (and were most rows).
        threshold = settings.CLICK_SPIKE_PER_HOUR
        hours = stored.filter(
            clicked_at__gte=hour_of(earliest),
            clicked_at__lt=hour_of(latest) + dt.timedelta(hours=1),
        ).annotate(hour=TruncHour(AsUTC("clicked_at"), tzinfo=dt.UTC))
        by_link = hours.filter(tracking_id__in=first_on_link.keys()).values_list(
            "tracking_id", "hour"
        )
        for tracking_id, hour, count in by_link.annotate(n=Count("click_id")).filter(
            n__gt=threshold
        ):
            per_link_hour[(tracking_id, hour_of(hour))] = count
        if jobs:
            by_job = hours.filter(tracking__job_id__in=jobs).values_list("tracking__job_id", "hour")
            for job_id, hour, count in by_job.annotate(n=Count("click_id")).filter(n__gt=threshold):
                per_job_hour[(job_id, hour_of(hour))] = count
    return _History(first_on_link, before_batch, in_batch_span, per_link_hour, per_job_hour)


# One event to write: (type, dedupe key, click, link, payload).
_Pending = tuple[str, str, LinkClick, LinkFacts, dict[str, Any]]


def _events_for(click: LinkClick, link: LinkFacts, history: _History) -> list[_Pending]:
    clicked_at = _clicked_at(click)
    base = click_payload(click, link)
    key = base["click_id"]
    events: list[_Pending] = [(EventType.CLICK_PERSON, key, click, link, base)]
    first = history.first_on_link.get(link.tracking_id)
    if first is None or first >= clicked_at:  # no earlier person click on the link
        events.append((EventType.LINK_FIRST_PERSON_CLICK, key, click, link, base))
    if link.application_id is not None:
        previous = history.previous_on_application(link.application_id, clicked_at)
        if previous is None:
            events.append((EventType.APPLICATION_FIRST_PERSON_CLICK, key, click, link, base))
        elif clicked_at - previous >= dt.timedelta(days=settings.APPLICATION_REOPENED_AFTER_DAYS):
            payload = {**base, "previous_person_click_at": previous.isoformat()}
            events.append((EventType.APPLICATION_REOPENED, key, click, link, payload))
    events.extend(_spikes(click, link, base, history))
    return events


def _spikes(
    click: LinkClick, link: LinkFacts, base: dict[str, Any], history: _History
) -> list[_Pending]:
    """One ``clicks.spike`` per link (and per job) and clock hour, once over the threshold."""
    threshold = settings.CLICK_SPIKE_PER_HOUR
    if threshold <= 0:
        return []
    hour = hour_of(_clicked_at(click))
    scopes = [("link", link.tracking_id, history.per_link_hour.get((link.tracking_id, hour), 0))]
    if link.job_id is not None:
        scopes.append(("job", str(link.job_id), history.per_job_hour.get((link.job_id, hour), 0)))
    events: list[_Pending] = []
    for scope, scope_id, count in scopes:
        if count > threshold:
            key, added = spike(scope, scope_id, hour, count)
            events.append((EventType.CLICKS_SPIKE, key, click, link, {**base, **added}))
    return events


def _is_person(click: LinkClick) -> bool:
    return (
        click.classification == Classification.HUMAN
        and click.click_source not in OWNER_SOURCES
        and click.clicked_at is not None
    )


_BY_TIME = operator.attrgetter("clicked_at")


def record_batch_events(clicks: Iterable[LinkClick]) -> int:
    """Write the events of a batch the click writer has just stored, from its clicks in memory
    (with their final classification: call it after the burst and decoy rules, in the same
    transaction); returns the events handed to the INSERT.

    The clicks are not read again: their links and the clicks stored around them come in a few
    queries for the whole batch (:class:`_History`; on PostgreSQL reduced in SQL to what can
    produce an event, :func:`_record_postgresql`). A rule may have changed a stored click without
    its instance (the decoy rule does); the INSERT therefore keeps only the events of clicks
    still stored as a person's, which is what :func:`record_events` would read.
    """
    # attrgetter: a person click has a clicked_at, and a Python key function costs per click.
    persons = sorted((click for click in clicks if _is_person(click)), key=_BY_TIME)
    if not persons:
        return 0
    if connection.vendor == "postgresql":
        return record_postgresql(
            persons,
            owner_sources=OWNER_SOURCES,
            person_checks=PERSON_CHECKS,
            due_after=BURST_WINDOW + DUE_MARGIN,
        )
    return _record_orm(persons)


def _record_orm(persons: list[LinkClick]) -> int:
    """:func:`record_batch_events` through the ORM (SQLite; the reference the SQL one matches)."""
    links, first_on_link = read_links(click.tracking_id for click in persons)
    persons = [click for click in persons if click.tracking_id in links]  # a deleted link
    if not persons:
        return 0
    history = _load_history(persons, links, first_on_link)
    pending: list[_Pending] = []
    for click in persons:
        pending.extend(_events_for(click, links[click.tracking_id], history))
    _insert_other(pending)
    return len(pending)


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
        .exclude(clicked_at=None)
        .order_by("clicked_at")
    )
    return record_batch_events(clicks)


def _insert_other(pending: list[_Pending]) -> None:
    """The same rows through the ORM (SQLite): the clicks still stored as a person's first."""
    click_ids = {click.click_id for _kind, _key, click, _link, _payload in pending}
    still = set(
        person_clicks(LinkClick.objects.filter(click_id__in=click_ids)).values_list(
            "click_id", flat=True
        )
    )
    events = [
        Event(
            type=kind,
            dedupe_key=f"{kind}:{key}",
            occurred_at=_clicked_at(click),
            due_at=_clicked_at(click) + BURST_WINDOW + DUE_MARGIN,
            click_id=click.click_id,
            tracking_id=link.tracking_id,
            job_id=link.job_id,
            application_id=link.application_id,
            payload=payload,
        )
        for kind, key, click, link, payload in pending
        if click.click_id in still
    ]
    dbinsert.insert_ignoring_conflicts(Event, events)


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
