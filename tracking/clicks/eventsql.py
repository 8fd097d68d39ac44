"""The events of a written batch on PostgreSQL: what :mod:`tracking.clicks.events` reads through
the ORM (the reference, used on SQLite), reduced in SQL to the rows that can produce an event.

Why: the click writer has a CPU budget per click. Through the ORM, building the ``__in`` lists,
compiling the querysets and turning ~1,500 rows per batch of 500 clicks into Python objects cost
most of the events step. Here the batch's links, applications, jobs and time bounds go in as one
parameter each, PostgreSQL returns only each link's first person click when it is in the batch,
the application moments that open or reopen it and the hours over the spike threshold, and the
INSERT builds the payloads from the links it joins (one JSON parameter of per-click values).

Every statement reaches ``link_clicks`` through a LATERAL per link on its
``(tracking_id, clicked_at)`` index (``LIMIT`` or ``OFFSET 0`` keeps the planner from flattening
it), whatever the statistics say: on freshly loaded ones the ORM's "each application's latest
person click before the batch" once took a plan of 12 s.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from tracking.models import Classification, EventType, LinkClick

# Each link of the batch (a JSON array of tracking ids): its job, application, whether it has a
# person click, and its first one when that is not before the batch (when it is, the link's
# first was announced before).
_SQL_LINKS = """
SELECT l.tracking_id, l.job_id::text, l.application_id::text, f.at IS NOT NULL,
       CASE WHEN f.at >= %(earliest)s THEN f.at END
FROM (SELECT DISTINCT json_array_elements_text(%(links)s::json) AS id) b
JOIN link_tracking l ON l.tracking_id = b.id
LEFT JOIN LATERAL (
  SELECT c.clicked_at AS at FROM link_clicks c
  WHERE c.tracking_id = l.tracking_id AND c.classification = %(human)s
    AND c.clicked_at IS NOT NULL AND (c.click_source IS NULL OR c.click_source <> ALL (%(owner)s))
  ORDER BY c.clicked_at LIMIT 1) f ON true
"""
# Each application's latest person click before the batch: the latest of its links'.
_SQL_BEFORE = """
SELECT l.application_id::text, max(p.at) FROM link_tracking l
CROSS JOIN LATERAL (
  SELECT c.clicked_at AS at FROM link_clicks c
  WHERE c.tracking_id = l.tracking_id AND c.classification = %(human)s
    AND c.clicked_at < %(earliest)s
    AND (c.click_source IS NULL OR c.click_source <> ALL (%(owner)s))
  ORDER BY c.clicked_at DESC LIMIT 1) p
WHERE l.application_id = ANY (%(apps)s::uuid[]) GROUP BY 1
"""
# An application's person-click moments in the batch's span with the one before each: only the
# first (whose previous is the one before the batch) and those after a long enough silence.
_SQL_SPAN = """
SELECT s.app, s.at, s.previous FROM (
  SELECT d.app, d.at, lag(d.at) OVER (PARTITION BY d.app ORDER BY d.at) AS previous
  FROM (SELECT DISTINCT l.application_id::text AS app, p.at FROM link_tracking l
        CROSS JOIN LATERAL (
          SELECT c.clicked_at AS at FROM link_clicks c
          WHERE c.tracking_id = l.tracking_id AND c.classification = %(human)s
            AND c.clicked_at >= %(earliest)s AND c.clicked_at <= %(latest)s
            AND (c.click_source IS NULL OR c.click_source <> ALL (%(owner)s))
          OFFSET 0) p
        WHERE l.application_id = ANY (%(apps)s::uuid[])) d) s
WHERE s.previous IS NULL OR s.at - s.previous >= %(reopened)s
"""
# The person clicks per link, and per job, in each clock hour the batch touches: only the counts
# over the threshold (the others announce nothing).
_SQL_LINK_HOURS = """
SELECT b.id, p.hour, count(*)
FROM (SELECT DISTINCT json_array_elements_text(%(links)s::json) AS id) b
CROSS JOIN LATERAL (
  SELECT date_trunc('hour', c.clicked_at) AS hour FROM link_clicks c
  WHERE c.tracking_id = b.id AND c.classification = %(human)s
    AND c.clicked_at >= %(start)s AND c.clicked_at < %(end)s
    AND (c.click_source IS NULL OR c.click_source <> ALL (%(owner)s))
  OFFSET 0) p
GROUP BY 1, 2 HAVING count(*) > %(threshold)s
"""
_SQL_JOB_HOURS = """
SELECT l.job_id::text, p.hour, count(*) FROM link_tracking l
CROSS JOIN LATERAL (
  SELECT date_trunc('hour', c.clicked_at) AS hour FROM link_clicks c
  WHERE c.tracking_id = l.tracking_id AND c.classification = %(human)s
    AND c.clicked_at >= %(start)s AND c.clicked_at < %(end)s
    AND (c.click_source IS NULL OR c.click_source <> ALL (%(owner)s))
  OFFSET 0) p
WHERE l.job_id = ANY (%(jobs)s::uuid[]) GROUP BY 1, 2 HAVING count(*) > %(threshold)s
"""
# The rows: one JSON array of clicks (:func:`_event_rows`), each with its events as [type,
# dedupe key or null for the click id, what the payload adds]. The join keeps only the clicks
# still stored as a person's; ORDER BY keeps the first of two events with one dedupe key (a
# spike) the one that wins, as in a multi-row VALUES. The id and created_at come from here.
_INSERT_EVENTS = """
INSERT INTO events (id, type, dedupe_key, occurred_at, due_at, click_id, tracking_id, job_id,
                    application_id, payload, created_at)
SELECT gen_random_uuid(), e.ev->>0, (e.ev->>0) || ':' || coalesce(e.ev->>1, k.r->>0),
       (k.r->>1)::timestamptz, (k.r->>1)::timestamptz + %(due)s, c.click_id, l.tracking_id,
       l.job_id, l.application_id,
       jsonb_build_object(
         'click_id', k.r->0, 'clicked_at', k.r->1, 'tracking_id', l.tracking_id,
         'link_function', l.link_function,
         'job', CASE WHEN l.job_id IS NOT NULL THEN jsonb_build_object(
                  'id', l.job_id, 'title', j.title, 'company', j.company_name) END,
         'application', CASE WHEN l.application_id IS NOT NULL THEN jsonb_build_object(
                          'id', l.application_id, 'status', a.status) END,
         'source', k.r->2,
         'device', jsonb_build_object('type', k.r->3, 'browser', k.r->4, 'os', k.r->5),
         'country', k.r->6, 'region', k.r->7, 'network_kind', k.r->8,
         'from_company_network', k.r->9, 'classification', %(human)s::text, 'reasons', k.r->10,
         'judged_person_because', %(because)s::jsonb) || (e.ev->2)::jsonb,
       %(now)s
FROM json_array_elements(%(rows)s::json) WITH ORDINALITY AS k(r, n)
CROSS JOIN LATERAL json_array_elements(k.r->12) WITH ORDINALITY AS e(ev, m)
JOIN link_clicks c ON c.click_id = (k.r->>0)::uuid AND c.classification = %(human)s
JOIN link_tracking l ON l.tracking_id = k.r->>11
LEFT JOIN jobs j ON j.id = l.job_id
LEFT JOIN job_applications a ON a.id = l.application_id
ORDER BY k.n, e.m
ON CONFLICT DO NOTHING
"""
_NOTHING: Any = object()
_BEFORE_ALL = dt.datetime.min.replace(tzinfo=dt.UTC)  # a first person click before the batch
# The events of most clicks, shared (the JSON encoder writes it; nothing is built per click).
_PERSON_EVENT = [EventType.CLICK_PERSON.value, None, {}]
_PERSON_ONLY = [_PERSON_EVENT]
_Link = tuple[str | None, str | None, dt.datetime | None]  # job, application, first person click


def hour_of(moment: dt.datetime) -> dt.datetime:
    """The UTC clock hour of a moment (the spike rule's unit)."""
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _naive(moment: dt.datetime) -> dt.datetime:
    """A moment as the UTC ``timestamp`` link_clicks stores (compared without a conversion)."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _array(values: Iterable[str]) -> str:
    return "{" + ",".join(sorted(values)) + "}"  # UUIDs: nothing to quote


def record_postgresql(
    persons: list[LinkClick],
    *,
    owner_sources: Iterable[str],
    person_checks: Iterable[str],
    due_after: dt.timedelta,
) -> int:
    """Write the events of a batch's person clicks (sorted by time) as
    :func:`tracking.clicks.events.record_batch_events` does; returns the events handed to the
    INSERT."""
    utc = dt.UTC
    params: dict[str, Any] = {
        "human": Classification.HUMAN.value,
        "owner": sorted(owner_sources),
        "earliest": _naive(persons[0].clicked_at),  # type: ignore[arg-type]
        "links": json.dumps(list({click.tracking_id for click in persons})),
    }
    with connection.cursor() as cursor:
        cursor.execute(_SQL_LINKS, params)
        links: dict[str, _Link] = {
            tracking_id: (
                job,
                app,
                first.replace(tzinfo=utc) if first else (_BEFORE_ALL if has else None),
            )
            for tracking_id, job, app, has, first in cursor.fetchall()
        }
        persons = [click for click in persons if click.tracking_id in links]  # a deleted link
        if not persons:
            return 0
        earliest, latest = persons[0].clicked_at, persons[-1].clicked_at
        assert earliest is not None and latest is not None
        params.update(earliest=_naive(earliest), latest=_naive(latest))
        # (application, moment) -> its previous person click, where that makes an event.
        returns: dict[tuple[str, dt.datetime], dt.datetime | None] = {}
        applications = {app for _job, app, _first in links.values() if app}
        if applications:
            gap = dt.timedelta(days=settings.APPLICATION_REOPENED_AFTER_DAYS)
            params.update(apps=_array(applications), reopened=gap)
            cursor.execute(_SQL_BEFORE, params)
            before = {app: moment.replace(tzinfo=utc) for app, moment in cursor.fetchall()}
            cursor.execute(_SQL_SPAN, params)
            for app, moment, previous in cursor.fetchall():
                moment = moment.replace(tzinfo=utc)
                if previous is not None:
                    returns[(app, moment)] = previous.replace(tzinfo=utc)
                    continue
                previous = before.get(app)
                if previous is None or moment - previous >= gap:
                    returns[(app, moment)] = previous
        threshold = settings.CLICK_SPIKE_PER_HOUR
        spikes: dict[tuple[str, str, dt.datetime], int] = {}
        if threshold > 0:
            params.update(
                start=_naive(hour_of(earliest)),
                end=_naive(hour_of(latest) + dt.timedelta(hours=1)),
                threshold=threshold,
            )
            cursor.execute(_SQL_LINK_HOURS, params)
            for tracking_id, hour, count in cursor.fetchall():
                spikes[("link", tracking_id, hour.replace(tzinfo=utc))] = count
            jobs = {job for job, _app, _first in links.values() if job}
            if jobs:
                cursor.execute(_SQL_JOB_HOURS, {**params, "jobs": _array(jobs)})
                for job, hour, count in cursor.fetchall():
                    spikes[("job", job, hour.replace(tzinfo=utc))] = count
        rows, written = _event_rows(persons, links, returns, spikes, threshold)
        params.update(
            due=due_after,
            now=timezone.now(),
            because=json.dumps(list(person_checks)),
            rows=json.dumps(rows),
        )
        cursor.execute(_INSERT_EVENTS, params)
    return written


def _event_rows(
    persons: list[LinkClick],
    links: dict[str, _Link],
    returns: dict[tuple[str, dt.datetime], dt.datetime | None],
    spikes: dict[tuple[str, str, dt.datetime], int],
    threshold: int,
) -> tuple[list[list[Any]], int]:
    """The rows of :data:`_INSERT_EVENTS` by the rules of ``events._events_for``, and how many
    events they hold. Only what differs between clicks is built per click."""
    spiky = {scope_id for _scope, scope_id, _hour in spikes}
    rows: list[list[Any]] = []
    written = 0
    for click in persons:
        at: dt.datetime = click.clicked_at  # type: ignore[assignment]
        tracking_id = click.tracking_id
        job, app, first = links[tracking_id]
        events = _PERSON_ONLY
        if first is None or first >= at:  # no earlier person click on the link
            events = [_PERSON_EVENT, [EventType.LINK_FIRST_PERSON_CLICK.value, None, {}]]
        if returns and app is not None:
            previous = returns.get((app, at), _NOTHING)
            if previous is None:
                events = [*events, [EventType.APPLICATION_FIRST_PERSON_CLICK.value, None, {}]]
            elif previous is not _NOTHING:
                added = {"previous_person_click_at": previous.isoformat()}
                events = [*events, [EventType.APPLICATION_REOPENED.value, None, added]]
        if tracking_id in spiky or job in spiky:
            events = [*events, *_spike_events(at, tracking_id, job, spikes, threshold)]
        written += len(events)
        rows.append(
            [
                str(click.click_id),
                at.isoformat(),
                click.click_source,
                click.device_type,
                click.browser,
                click.os,
                click.country_code or None,
                click.region or None,
                click.network_kind or None,
                click.from_company_network is True,
                click.classification_reasons or [],
                tracking_id,
                events,
            ]
        )
    return rows, written


def _spike_events(
    at: dt.datetime,
    tracking_id: str,
    job: str | None,
    spikes: dict[tuple[str, str, dt.datetime], int],
    threshold: int,
) -> list[list[Any]]:
    """One ``clicks.spike`` per link (and per job) and clock hour, once over the threshold."""
    hour = hour_of(at)
    events: list[list[Any]] = []
    for scope, scope_id in (("link", tracking_id), ("job", job)):
        count = spikes.get((scope, scope_id, hour), 0) if scope_id else 0
        if count > threshold:
            added = {
                "scope": scope,
                "person_clicks_in_hour": count,
                "threshold": threshold,
                "hour": hour.isoformat(),
            }
            key = f"{scope}:{scope_id}:{hour:%Y%m%d%H}"
            events.append([EventType.CLICKS_SPIKE.value, key, added])
    return events
