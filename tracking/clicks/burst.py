"""The burst rule: several links of one application opened within seconds from one network.

Email scanners open every link of a message at once; a person does not. This is the one
classification rule that looks at other clicks, so it runs after a click is stored, never before
the visitor is redirected:

- :data:`BURST_WINDOW`: how close in time the clicks must be;
- :func:`burst_possible`: a pre-check in the shared cache that spares the database nearly every
  time;
- :func:`follow_up`: the rule for one click of the redirect's direct path, run after the response
  has been sent (``tracking.views.TrackedRedirect``);
- :func:`apply_to_batch`: the click writer's version, one pre-check per link, application and
  network of a batch;
- :func:`reclassify_burst`: the UPDATE that marks a burst's clicks.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection
from django.db.models import Q

from tracking import classify
from tracking.classify import ClickSignals
from tracking.clicks import burstmemory, luascript
from tracking.models import LinkClick

if TYPE_CHECKING:
    from redis import Redis

FollowUp = Callable[[], object]

BURST_WINDOW = dt.timedelta(seconds=2)
# How long the shared cache remembers which links of an application a network opened. Longer
# than the burst window, so that the cache only ever lets through too many checks, never too few.
BURST_MEMORY_SECONDS = 10
_LOCAL_CACHES = ("LocMemCache", "DummyCache")


def burst_possible(
    *, application_id: str, network: str, tracking_id: str, clicked_at: dt.datetime | None = None
) -> bool:
    """Whether this network opened another link of this application in the last seconds.

    A pre-check in the shared cache that spares the burst rule its SELECT for nearly every click:
    atomic ``add``/``incr`` count the distinct links per (application, network), so of two
    simultaneous clicks on two links one always sees the other. A per-process cache cannot see
    other workers, and a cache error proves nothing: both answer "possible" and the database
    decides.

    With a per-process cache and a SQLite database, a table in a file beside the database plays
    the shared cache's part (:mod:`tracking.clicks.burstmemory`); ``clicked_at`` is the click's
    time (now when not given). With Redis as the cache, the steps run as one script call
    (``_PRECHECK_LUA``, the click writer's, for one link).
    """
    if str(settings.CACHES["default"]["BACKEND"]).rsplit(".", 1)[-1] in _LOCAL_CACHES:
        try:
            path = burstmemory.table_path()
            if path is None:
                return True
            return burstmemory.possible(
                path,
                application_id=application_id,
                network=network,
                tracking_id=tracking_id,
                at=(clicked_at.timestamp() if clicked_at is not None else time.time()),
                memory=BURST_MEMORY_SECONDS,
            )
        except Exception:  # an unusable table proves nothing: the database decides
            return True
    key = f"burst:v1:{application_id}:{network}"
    try:
        client = luascript.redis_client(caches["default"])
        if client is not None:  # the steps below in one call
            return bool(_precheck(client, {(application_id, network): [tracking_id]})[0])
        if cache.add(f"{key}:{tracking_id}", 1, BURST_MEMORY_SECONDS):
            links = 1 if cache.add(key, 1, BURST_MEMORY_SECONDS) else cache.incr(key)
        else:
            links = cache.get(key)
    except Exception:  # includes incr on a key that just expired
        return True
    return links is None or links >= 2


_Row = tuple[uuid.UUID, str, str | None, str | None, list[str] | None, str | None]
_ROW_FIELDS = (
    "click_id",
    "tracking_id",
    "ip_address",
    "classification",
    "classification_reasons",
    "classification_correction",
)
# How many stored clicks one click's check looks at, at most (a flood on one application in two
# seconds costs a bounded read).
_ROWS_PER_CHECK = 200

Changes = dict[uuid.UUID, tuple[str | None, list[str]]]


def _marked(
    rows: Iterable[_Row], *, click_id: uuid.UUID, tracking_id: str, network: str
) -> list[_Row]:
    """The rows a burst around ``click_id`` marks: none unless another link of the application
    was opened from ``network``; then those, and the clicks of the same link from the network
    (``click_id`` itself always: a Do-Not-Track click stores no address)."""
    rows = list(rows)
    others = [
        row for row in rows if row[1] != tracking_id and classify.burst_network(row[2]) == network
    ]
    if not others:
        return []
    same_link = [
        row
        for row in rows
        if row[1] == tracking_id
        and (row[0] == click_id or classify.burst_network(row[2]) == network)
    ]
    return others + same_link


def _mark(rows: Iterable[_Row]) -> Changes:
    """Give the rows the ``burst`` reason (and, unless corrected, the verdict it implies); store
    the changed ones and return them."""
    changes: Changes = {}
    for row_id, _tracking_id, _ip, classification, reasons, correction in rows:
        reasons = list(reasons or [])
        if "burst" in reasons or row_id in changes:
            continue
        reasons.append("burst")
        # The job seeker's correction stands (tracking.verdicts): only the reasons change.
        if correction is None and classification in (None, "human"):
            classification = classify.classification_for(reasons)
        changes[row_id] = (classification, reasons)
    if changes:
        _store(changes)
    return changes


def _store(changes: Changes) -> None:
    """One UPDATE for the changed rows (PostgreSQL: from a VALUES list, without the CASE per row
    that ``bulk_update`` builds)."""
    if connection.vendor != "postgresql":
        LinkClick.objects.bulk_update(
            [
                LinkClick(click_id=row_id, classification=verdict, classification_reasons=reasons)
                for row_id, (verdict, reasons) in changes.items()
            ],
            ["classification", "classification_reasons"],
        )
        return
    table = connection.ops.quote_name(LinkClick._meta.db_table)
    with connection.cursor() as cursor:
        mogrify = cursor.cursor.mogrify
        values = ", ".join(
            mogrify(
                "(%s::uuid, %s, %s::jsonb)", (str(row_id), verdict, json.dumps(reasons))
            ).decode()
            for row_id, (verdict, reasons) in changes.items()
        )
        cursor.execute(
            f"UPDATE {table} AS c SET classification = v.classification, "  # noqa: S608 - quoted
            "classification_reasons = v.reasons "
            f"FROM (VALUES {values}) AS v (click_id, classification, reasons) "
            "WHERE c.click_id = v.click_id"
        )


def reclassify_burst(
    *,
    click_id: uuid.UUID,
    tracking_id: str,
    application_id: str,
    network: str,
    clicked_at: dt.datetime,
) -> int:
    """Reclassify the clicks of one application opened from one network within two seconds.

    When, within ``BURST_WINDOW`` of the stored click ``click_id``, another link of
    ``application_id`` was clicked from the same ``network`` (the /24 or /48 of
    :func:`tracking.classify.burst_network`), every click of that group gets the ``burst`` reason
    and those that looked human become ``scanner`` (earlier ones included). Returns the number of
    rows changed.

    The network of ``click_id`` itself is passed in because a Do-Not-Track click stores no IP;
    earlier Do-Not-Track clicks cannot be matched for the same reason.
    """
    window = (clicked_at - BURST_WINDOW, clicked_at + BURST_WINDOW)
    in_window = LinkClick.objects.filter(
        tracking__application_id=uuid.UUID(application_id), clicked_at__range=window
    )
    # First the cheap question, other links only (the common answer is "none").
    others = [
        row
        for row in in_window.exclude(tracking_id=tracking_id).values_list(*_ROW_FIELDS)[
            :_ROWS_PER_CHECK
        ]
        if classify.burst_network(row[2]) == network
    ]
    if not others:
        return 0
    same_link = in_window.filter(tracking_id=tracking_id).values_list(*_ROW_FIELDS)
    rows = _marked(
        others + list(same_link[:_ROWS_PER_CHECK]),
        click_id=click_id,
        tracking_id=tracking_id,
        network=network,
    )
    return len(_mark(rows))


def _check(click: LinkClick, *, application_id: str, network: str, clicked_at: dt.datetime) -> int:
    if not burst_possible(
        application_id=application_id,
        network=network,
        tracking_id=click.tracking_id,
        clicked_at=clicked_at,
    ):
        return 0
    return reclassify_burst(
        click_id=click.click_id,
        tracking_id=click.tracking_id,
        application_id=application_id,
        network=network,
        clicked_at=clicked_at,
    )


def follow_up(click: LinkClick, signals: ClickSignals) -> FollowUp | None:
    """The burst rule for a stored click, or None when it cannot apply (no application, no IP)."""
    network = classify.burst_network(signals.client_ip)
    if not signals.application_id or network is None or click.clicked_at is None:
        return None
    return partial(
        _check,
        click,
        application_id=signals.application_id,
        network=network,
        clicked_at=click.clicked_at,
    )


# burst_possible's steps for every (application, network) group of a batch and every link of
# each, run atomically by Redis in one call. KEYS holds, group after group, the key counting the
# group's distinct links, then one key per link; ARGV[1] is the memory in seconds and ARGV[i + 1]
# the number of links of group i. Returns, per group, 1 when any step would have answered
# "possible", else 0.
_PRECHECK_LUA = luascript.Script(
    """
local answers = {}
local k = 1
for g = 2, #ARGV do
  local counter = KEYS[k]
  local possible = 0
  for i = 1, tonumber(ARGV[g]) do
    local links
    if redis.call('SET', KEYS[k + i], 1, 'NX', 'EX', ARGV[1]) then
      if redis.call('SET', counter, 1, 'NX', 'EX', ARGV[1]) then
        links = 1
      else
        links = redis.call('INCR', counter)
      end
    else
      links = tonumber(redis.call('GET', counter))
    end
    if links == nil or links >= 2 then possible = 1 end
  end
  answers[g - 1] = possible
  k = k + 1 + tonumber(ARGV[g])
end
return answers
"""
)


def _precheck(client: Redis, groups: dict[tuple[str, str], list[str]]) -> list[int]:
    """``_PRECHECK_LUA``'s answers for ``groups`` (application and network: tracking ids), in
    their order; raises what the Redis client raises."""
    keys: list[str] = []
    counts: list[int] = []
    make_key = cache.make_key
    for (application_id, network), links in groups.items():
        key = f"burst:v1:{application_id}:{network}"
        keys.append(make_key(key))
        keys.extend(make_key(f"{key}:{t}") for t in links)
        counts.append(len(links))
    answers: list[int] = _PRECHECK_LUA(client, keys, [BURST_MEMORY_SECONDS, *counts])
    return answers


def _possible_groups(groups: dict[tuple[str, str], list[str]]) -> set[tuple[str, str]]:
    """Which (application, network) groups of a batch the pre-check lets through: the steps of
    :func:`burst_possible` for each of their links, in one Redis call for the whole batch (one
    per step and link cost more CPU than the rest of the writer's work on a click)."""
    backend = str(settings.CACHES["default"]["BACKEND"])
    if backend.rsplit(".", 1)[-1] in _LOCAL_CACHES:
        return set(groups)
    if not backend.startswith("django_redis."):
        return {
            (application_id, network)
            for (application_id, network), links in groups.items()
            if any(
                [
                    burst_possible(application_id=application_id, network=network, tracking_id=t)
                    for t in links
                ]
            )
        }
    if not groups:
        return set()
    from django_redis import get_redis_connection

    try:
        answers = _precheck(get_redis_connection("default"), groups)
    except Exception:  # a cache error proves nothing: the database decides
        return set(groups)
    return {group for group, answer in zip(groups, answers, strict=True) if answer}


def batch_groups(
    batch: Iterable[tuple[LinkClick, ClickSignals]],
) -> dict[tuple[str, str], list[LinkClick]]:
    """The clicks of a batch the burst rule can apply to, by (application, network)."""
    groups: dict[tuple[str, str], list[LinkClick]] = {}
    for click, signals in batch:
        network = classify.burst_network(signals.client_ip)
        if signals.application_id and network and click.clicked_at is not None:
            groups.setdefault((signals.application_id, network), []).append(click)
    return groups


def apply_to_batch(clicks: Iterable[tuple[LinkClick, ClickSignals]]) -> Changes:
    """The burst rule for a batch (stored in the current transaction); returns the clicks it
    changed, stored ones included, as ``{click_id: (classification, reasons)}``, and sets the
    batch's own instances to match.

    The shared-cache pre-check runs once per link, application and network (not once per click);
    the clicks of the applications it lets through are read with one query for the whole batch
    (their clicks within the burst window of any of the batch's clicks) and the rule is decided
    for each click from those rows, exactly as :func:`reclassify_burst` decides it from its own.
    """
    batch = list(clicks)
    groups = batch_groups(batch)
    possible = _possible_groups(
        {
            group: list(dict.fromkeys(c.tracking_id for c in members))
            for group, members in groups.items()
        }
    )
    checked = [
        (application_id, network, click)
        for (application_id, network), members in groups.items()
        if (application_id, network) in possible
        for click in members
    ]
    if not checked:
        return {}
    rows_by_application = _rows_around(checked)
    marked: list[_Row] = []
    for application_id, network, click in checked:
        assert click.clicked_at is not None
        low, high = click.clicked_at - BURST_WINDOW, click.clicked_at + BURST_WINDOW
        moments, rows = rows_by_application.get(application_id, ([], []))
        window = rows[bisect.bisect_left(moments, low) : bisect.bisect_right(moments, high)]
        marked.extend(
            _marked(window, click_id=click.click_id, tracking_id=click.tracking_id, network=network)
        )
    changes = _mark(marked)
    for click, _signals in batch:
        if click.click_id in changes:
            click.classification, click.classification_reasons = changes[click.click_id]
    return changes


def _rows_around(
    checked: list[tuple[str, str, LinkClick]],
) -> dict[str, tuple[list[dt.datetime], list[_Row]]]:
    """The stored clicks of the checked clicks' applications within the burst window of any of
    them: one query, its time ranges merged; per application, sorted by time. At most
    ``_ROWS_PER_CHECK`` rows per checked click are read."""
    spans = sorted(
        (click.clicked_at - BURST_WINDOW, click.clicked_at + BURST_WINDOW)
        for _application_id, _network, click in checked
        if click.clicked_at is not None
    )
    merged: list[list[dt.datetime]] = []
    for low, high in spans:
        if merged and low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    applications = {uuid.UUID(application_id) for application_id, _n, _c in checked}
    limit = _ROWS_PER_CHECK * len(checked)
    rows: Iterable[tuple[Any, ...]]
    if connection.vendor == "postgresql":
        rows = _rows_in_spans_sql(merged, applications, limit)
    else:
        in_spans = Q()
        for low, high in merged:
            in_spans |= Q(clicked_at__range=(low, high))
        rows = (
            LinkClick.objects.filter(in_spans, tracking__application_id__in=applications)
            .order_by()
            .values_list("tracking__application_id", "clicked_at", *_ROW_FIELDS)[:limit]
        )
    found: dict[str, list[tuple[dt.datetime, _Row]]] = {}
    for application_id, clicked_at, *row in rows:
        found.setdefault(str(application_id), []).append((clicked_at, tuple(row)))  # type: ignore[arg-type]
    by_application = {}
    for application_id, timed in found.items():
        timed.sort(key=lambda pair: pair[0])
        by_application[application_id] = ([t for t, _row in timed], [row for _t, row in timed])
    return by_application


# _rows_around's query on PostgreSQL, the ORM's statement written directly: through the ORM, a
# batch's few hundred OR'd spans were compiled anew each batch, most of the burst rule's CPU per
# click. (The same spans as an array joined LATERAL read an index range per span, and took
# several times as long as the OR'd ranges' one bitmap scan.)
_SQL_ROWS_IN_SPANS = (
    "SELECT l.application_id, c.clicked_at, c.click_id, c.tracking_id, c.ip_address, "
    "c.classification, c.classification_reasons, c.classification_correction "
    "FROM link_clicks c JOIN link_tracking l ON l.tracking_id = c.tracking_id "
    "WHERE ({spans}) AND l.application_id = ANY (%s::uuid[]) LIMIT %s"
)
_SPAN = "c.clicked_at BETWEEN %s AND %s"


def _rows_in_spans_sql(
    spans: list[list[dt.datetime]], applications: set[uuid.UUID], limit: int
) -> list[tuple[Any, ...]]:
    """The rows of ``_rows_around``'s ORM query, as the ORM returns them (aware UTC times, the
    reasons decoded); the spans do not overlap (merged), so no row comes twice."""
    utc = dt.UTC
    params: list[Any] = [
        moment.astimezone(utc).replace(tzinfo=None) for span in spans for moment in span
    ]
    params += [[str(application) for application in applications], limit]
    sql = _SQL_ROWS_IN_SPANS.format(spans=" OR ".join([_SPAN] * len(spans)))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        fetched = cursor.fetchall()
    loads = json.loads
    return [
        (
            application_id,
            clicked_at.replace(tzinfo=utc) if clicked_at is not None else None,
            click_id,
            tracking_id,
            ip,
            classification,
            None if reasons is None else loads(reasons),
            correction,
        )
        for application_id, clicked_at, click_id, tracking_id, ip, classification, reasons, correction in fetched
    ]
