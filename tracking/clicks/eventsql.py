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
person click before the batch" once took a plan of 12 s. For the same reason a click is a person's by a CASE: without
statistics the planner takes a plain ``classification = 'human'`` for selective, ANDs the bitmap
of the ``(classification, clicked_at)`` index (every person click of the table, per link) with
the link's, or reads all of a link's clicks rather than stop at the first; a CASE is no index
condition and is estimated to keep half the rows, so the LIMIT stops early.
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

# A click of ``link_clicks c`` is a person's: as analytics counts people, the owner's own excepted.
_IS_PERSON = (
    "CASE WHEN c.classification = %(human)s "
    "THEN c.click_source IS NULL OR c.click_source <> ALL (%(owner)s) END"
)
# Each link of the batch (a JSON array of tracking ids): its job, application, whether it has a
# person click, and its first one when that is not before the batch (when it is, the link's
# first was announced before).
_SQL_LINKS = f"""
SELECT l.tracking_id, l.job_id::text, l.application_id::text, f.at IS NOT NULL,
       CASE WHEN f.at >= %(earliest)s THEN f.at END
FROM (SELECT DISTINCT json_array_elements_text(%(links)s::json) AS id) b
JOIN link_tracking l ON l.tracking_id = b.id
LEFT JOIN LATERAL (
  SELECT c.clicked_at AS at FROM link_clicks c
  WHERE c.tracking_id = l.tracking_id AND c.clicked_at IS NOT NULL
    AND {_IS_PERSON}
  ORDER BY c.clicked_at LIMIT 1) f ON true
"""  # noqa: S608 (constant fragments)
# Each application's latest person click before the batch: the latest of its links'.
_SQL_BEFORE = f"""
SELECT l.application_id::text, max(p.at) FROM link_tracking l
CROSS JOIN LATERAL (
  SELECT c.clicked_at AS at FROM link_clicks c
  WHERE c.tracking_id = l.tracking_id AND c.clicked_at < %(earliest)s
    AND {_IS_PERSON}
  ORDER BY c.clicked_at DESC LIMIT 1) p
WHERE l.application_id = ANY (%(apps)s::uuid[]) GROUP BY 1
"""  # noqa: S608 (constant fragments)
# An application's person-click moments in the batch's span with the one before each: only the
# first (whose previous is the one before the batch) and those after a long enough silence.
_SQL_SPAN = f"""
SELECT s.app, s.at, s.previous FROM (
  SELECT d.app, d.at, lag(d.at) OVER (PARTITION BY d.app ORDER BY d.at) AS previous
  FROM (SELECT DISTINCT l.application_id::text AS app, p.at FROM link_tracking l
        CROSS JOIN LATERAL (
          SELECT c.clicked_at AS at FROM link_clicks c
          WHERE c.tracking_id = l.tracking_id AND c.clicked_at >= %(earliest)s AND c.clicked_at <= %(latest)s
            AND {_IS_PERSON}
          OFFSET 0) p
        WHERE l.application_id = ANY (%(apps)s::uuid[])) d) s
WHERE s.previous IS NULL OR s.at - s.previous >= %(reopened)s
"""  # noqa: S608 (constant fragments)
# The person clicks per link, and per job, in each clock hour the batch touches: only the counts
# over the threshold announce something. When the batch lies within one hour, links and jobs
# whose spike of that hour is announced already are not counted again: the event could only be
# written once, and counting the hour's clicks on every batch of a busy link made these the
# writer's costliest statements. Each link's clicks are read once: the batch's links give their
# own counts and, summed per job, their part of their jobs' (when the job's spike is still to
# announce); the second statement adds the jobs' other links. (A job's count read all its links
# again, the batch's included, which the link counts had just read.)
_SQL_LINK_HOURS = f"""
WITH k AS MATERIALIZED (
  SELECT l.tracking_id, l.job_id,
         %(hour_key)s::text IS NULL OR NOT EXISTS (
           SELECT 1 FROM events e
           WHERE e.dedupe_key = %(spike)s || ':link:' || l.tracking_id || ':' || %(hour_key)s)
           AS for_link,
         l.job_id IS NOT NULL AND (%(hour_key)s::text IS NULL OR NOT EXISTS (
           SELECT 1 FROM events e
           WHERE e.dedupe_key = %(spike)s || ':job:' || l.job_id::text || ':' || %(hour_key)s))
           AS for_job
  FROM (SELECT DISTINCT json_array_elements_text(%(links)s::json) AS id) b
  JOIN link_tracking l ON l.tracking_id = b.id),
h AS MATERIALIZED (
  SELECT k.tracking_id, k.job_id, k.for_link, k.for_job, p.hour, count(*) AS n
  FROM k CROSS JOIN LATERAL (
    SELECT date_trunc('hour', c.clicked_at) AS hour FROM link_clicks c
    WHERE c.tracking_id = k.tracking_id AND c.clicked_at >= %(start)s AND c.clicked_at < %(end)s
      AND {_IS_PERSON}
    OFFSET 0) p
  WHERE k.for_link OR k.for_job
  GROUP BY 1, 2, 3, 4, 5)
SELECT 'link', tracking_id, hour, n FROM h WHERE for_link AND n > %(threshold)s
UNION ALL
SELECT 'job', job_id::text, hour, sum(n)::bigint FROM h WHERE for_job GROUP BY job_id, hour
"""  # noqa: S608 (constant fragments)
# The other links of the batch's jobs: their person clicks per job and hour, to add to the
# batch's links' (:data:`_SQL_LINK_HOURS`). ``NOT IN`` a subquery is a hashed look-up per link
# (``<> ALL`` an array compared each link with every id of the batch: 3 ms a batch of 500 links).
_SQL_JOB_HOURS = f"""
SELECT l.job_id::text, p.hour, count(*) FROM link_tracking l
CROSS JOIN LATERAL (
  SELECT date_trunc('hour', c.clicked_at) AS hour FROM link_clicks c
  WHERE c.tracking_id = l.tracking_id AND c.clicked_at >= %(start)s AND c.clicked_at < %(end)s
    AND {_IS_PERSON}
  OFFSET 0) p
WHERE l.job_id = ANY (%(jobs)s::uuid[])
  AND l.tracking_id NOT IN (SELECT json_array_elements_text(%(links)s::json))
  AND (%(hour_key)s::text IS NULL OR NOT EXISTS (
  SELECT 1 FROM events e
  WHERE e.dedupe_key = %(spike)s || ':job:' || l.job_id::text || ':' || %(hour_key)s))
GROUP BY 1, 2
"""  # noqa: S608 (constant fragments)
# The events of the batch's person clicks, built from the clicks as stored (the ones still a
# person's: a rule may have changed a stored click without its instance) and their links. The
# rows are one JSON array (:func:`_event_rows`): a click whose only event is click.person is its
# id alone; any other is [id, its events as [type, dedupe key or null for the click id, what
# the payload adds], its clicked_at as written when its instance is not in UTC, else null].
# ORDER BY keeps the first of two events with one dedupe key (a spike) the one that wins, as in
# a multi-row VALUES. The text of clicked_at is what isoformat() writes of a UTC moment. Each
# click is read by its primary key in a LATERAL with LIMIT: as a plain join, on a table whose
# statistics still say it is small, the planner scanned all of link_clicks for every batch.
_INSERT_EVENTS = """
INSERT INTO events (id, type, dedupe_key, occurred_at, due_at, click_id, tracking_id, job_id,
                    application_id, payload, created_at)
SELECT gen_random_uuid(), e.ev->>0, (e.ev->>0) || ':' || coalesce(e.ev->>1, c.click_id::text),
       c.clicked_at AT TIME ZONE 'UTC', (c.clicked_at AT TIME ZONE 'UTC') + %(due)s,
       c.click_id, c.tracking_id, l.job_id, l.application_id,
       jsonb_build_object(
         'click_id', c.click_id::text,
         'clicked_at', coalesce(k.r->>2, to_char(c.clicked_at, 'YYYY-MM-DD"T"HH24:MI:SS')
           || CASE WHEN date_trunc('second', c.clicked_at) = c.clicked_at THEN ''
                   ELSE to_char(c.clicked_at, '.US') END || '+00:00'),
         'tracking_id', c.tracking_id, 'link_function', l.link_function,
         'job', CASE WHEN l.job_id IS NOT NULL THEN jsonb_build_object(
                  'id', l.job_id, 'title', j.title, 'company', j.company_name) END,
         'application', CASE WHEN l.application_id IS NOT NULL THEN jsonb_build_object(
                          'id', l.application_id, 'status', a.status) END,
         'source', c.click_source,
         'device', jsonb_build_object('type', c.device_type, 'browser', c.browser, 'os', c.os),
         'country', nullif(c.country_code, ''), 'region', nullif(c.region, ''),
         'network_kind', nullif(c.network_kind, ''),
         'from_company_network', c.from_company_network IS TRUE,
         'classification', c.classification,
         'reasons', CASE WHEN jsonb_typeof(c.classification_reasons) = 'array'
                         THEN c.classification_reasons ELSE '[]' END,
         'judged_person_because', %(because)s::jsonb) || (e.ev->2)::jsonb,
       %(now)s
FROM json_array_elements(%(rows)s::json) WITH ORDINALITY AS k(r, n)
CROSS JOIN LATERAL json_array_elements(coalesce(k.r->1, %(person_only)s::json))
  WITH ORDINALITY AS e(ev, m)
CROSS JOIN LATERAL (
  SELECT * FROM link_clicks WHERE click_id = coalesce(k.r->>0, k.r#>>'{}')::uuid LIMIT 1
) c
JOIN link_tracking l ON l.tracking_id = c.tracking_id
LEFT JOIN jobs j ON j.id = l.job_id
LEFT JOIN job_applications a ON a.id = l.application_id
WHERE CASE WHEN c.classification = %(human)s THEN true END
ORDER BY k.n, e.m
ON CONFLICT DO NOTHING
"""
_NOTHING: Any = object()
_BEFORE_ALL = dt.datetime.min.replace(tzinfo=dt.UTC)  # a first person click before the batch
_PERSON_EVENT: list[Any] = [EventType.CLICK_PERSON.value, None, {}]
_APPLICATION_FIRST = EventType.APPLICATION_FIRST_PERSON_CLICK.value
_REOPENED = EventType.APPLICATION_REOPENED.value
_Link = tuple[str | None, str | None, dt.datetime | None]  # job, application, first person click


def hour_of(moment: dt.datetime) -> dt.datetime:
    """The UTC clock hour of a moment (the spike rule's unit)."""
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def spike(scope: str, scope_id: str, hour: dt.datetime, count: int) -> tuple[str, dict[str, Any]]:
    """A ``clicks.spike`` event's dedupe key (one per link or job and clock hour) and what its
    payload says besides the click's own fields."""
    added = {
        "scope": scope,
        "person_clicks_in_hour": count,
        "threshold": settings.CLICK_SPIKE_PER_HOUR,
        "hour": hour.isoformat(),
    }
    return f"{scope}:{scope_id}:{hour:%Y%m%d%H}", added


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
    }
    tracking_ids = {click.tracking_id for click in persons}
    params["links"] = json.dumps(list(tracking_ids))
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
        if len(links) < len(tracking_ids):  # a deleted link
            persons = [click for click in persons if click.tracking_id in links]
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
            first_hour = hour_of(earliest)
            params.update(
                start=_naive(first_hour),
                end=_naive(hour_of(latest) + dt.timedelta(hours=1)),
                threshold=threshold,
                spike=EventType.CLICKS_SPIKE.value,
                hour_key=(f"{first_hour:%Y%m%d%H}" if first_hour == hour_of(latest) else None),
            )
            cursor.execute(_SQL_LINK_HOURS, params)
            on_jobs: dict[tuple[str, dt.datetime], int] = {}
            for scope, scope_id, hour, count in cursor.fetchall():
                if scope == "link":
                    spikes[("link", scope_id, hour.replace(tzinfo=utc))] = count
                else:
                    on_jobs[(scope_id, hour)] = count
            jobs = {job for job, _app, _first in links.values() if job}
            if jobs:
                cursor.execute(_SQL_JOB_HOURS, {**params, "jobs": _array(jobs)})
                for job, hour, count in cursor.fetchall():
                    on_jobs[(job, hour)] = on_jobs.get((job, hour), 0) + count
            for (job, hour), count in on_jobs.items():
                if count > threshold:
                    spikes[("job", job, hour.replace(tzinfo=utc))] = count
        rows, written = _event_rows(persons, links, returns, spikes, threshold)
        params.update(
            due=due_after,
            now=timezone.now(),
            because=json.dumps(list(person_checks)),
            rows=json.dumps(rows),
            person_only=json.dumps([_PERSON_EVENT]),
        )
        cursor.execute(_INSERT_EVENTS, params)
    return written


def _event_rows(
    persons: list[LinkClick],
    links: dict[str, _Link],
    returns: dict[tuple[str, dt.datetime], dt.datetime | None],
    spikes: dict[tuple[str, str, dt.datetime], int],
    threshold: int,
) -> tuple[list[Any], int]:
    """The rows of :data:`_INSERT_EVENTS` by the rules of ``events._events_for``, and how many
    events they hold. Most clicks cost their id's hex and a few look-ups."""
    spiky = {scope_id for _scope, scope_id, _hour in spikes}
    utc = dt.UTC
    rows: list[Any] = []
    written = 0
    for click in persons:
        at: dt.datetime = click.clicked_at  # type: ignore[assignment]
        tracking_id = click.tracking_id
        job, app, first = links[tracking_id]
        events = None
        if first is None or first >= at:  # no earlier person click on the link
            events = [_PERSON_EVENT, [EventType.LINK_FIRST_PERSON_CLICK.value, None, {}]]
        if returns and app is not None:
            previous = returns.get((app, at), _NOTHING)
            if previous is None:
                added: dict[str, Any] = {}
                events = [*(events or [_PERSON_EVENT]), [_APPLICATION_FIRST, None, added]]
            elif previous is not _NOTHING:
                added = {"previous_person_click_at": previous.isoformat()}
                events = [*(events or [_PERSON_EVENT]), [_REOPENED, None, added]]
        if tracking_id in spiky or job in spiky:
            more = _spike_events(at, tracking_id, job, spikes, threshold)
            if more:
                events = [*(events or [_PERSON_EVENT]), *more]
        if events is None and at.tzinfo is utc:
            written += 1
            rows.append(click.click_id.hex)
        else:
            events = events or [_PERSON_EVENT]
            written += len(events)
            rows.append([click.click_id.hex, events, None if at.tzinfo is utc else at.isoformat()])
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
            assert scope_id is not None  # a count only for a scope with an id
            events.append([EventType.CLICKS_SPIKE.value, *spike(scope, scope_id, hour, count)])
    return events
