"""Facts tracking announces about clicks it changed in bulk, for the apps that keep copies.

``tracking`` imports no other app of the project; an app that derives data from clicks (the
analytics rollups keep counts and session ids per day) connects a receiver in its
``AppConfig.ready()`` and brings its copy up to date.

Every signal here is sent with ``sender=LinkClick`` after the change is committed, only when at least
one click changed, with these keyword arguments:

- ``count``: how many clicks;
- ``oldest`` / ``newest``: the earliest and latest ``clicked_at`` among them (aware datetimes, or
  None when none of them has a time);
- ``report``: a callable taking one line of text for the person who asked for the change (a
  command's output), or None; receivers say what they did through it.

:data:`clicks_classified` also sends ``clicked_at``: the list of the clicks' times, so that a
receiver can rebuild exactly their days (plain-SQL clicks may be dated long ago, and far apart).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import Max, Min, QuerySet
from django.dispatch import Signal

from tracking.models import LinkClick

# Clicks deleted: purged past retention or erased on request.
clicks_removed = Signal()
# Clicks anonymized: their IP address and visitor hash cleared, their session id replaced.
clicks_anonymized = Signal()
# Clicks judged again (reclassify_clicks): their classification changed, their totals did not.
clicks_reclassified = Signal()
# Clicks given a place and network (geolocate_clicks): their country, region, city and company
# network changed, their totals did not.
clicks_geolocated = Signal()
# Clicks stored without a classification (plain SQL) got their first one: they leave the
# unclassified count for people or automated traffic (tracking.clicks.unclassified).
clicks_classified = Signal()

Report = Callable[[str], None]
TimeSpan = tuple[dt.datetime | None, dt.datetime | None]


def time_span(clicks: QuerySet[LinkClick]) -> TimeSpan:
    """The earliest and latest ``clicked_at`` of ``clicks`` (read before they change)."""
    bounds = clicks.aggregate(oldest=Min("clicked_at"), newest=Max("clicked_at"))
    return bounds["oldest"], bounds["newest"]


def announce(
    signal: Signal, *, count: int, span: TimeSpan, report: Report | None = None, **extra: Any
) -> None:
    """Send ``signal`` for ``count`` changed clicks (nothing when none changed); ``extra`` are
    the signal's own arguments."""
    if count:
        oldest, newest = span
        signal.send(LinkClick, count=count, oldest=oldest, newest=newest, report=report, **extra)
