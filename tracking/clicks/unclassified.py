"""The classification pass: clicks stored without a classification get one, within a minute.

Every click the service stores itself is classified before its INSERT (the redirect, the API, the
click writer). A system writing ``link_clicks`` with plain SQL (seed 000's query 2) leaves
``classification`` NULL; until judged, such a click counts as *unclassified* in every figure, never
as a person. :func:`classify_unclassified` judges them as a live click is judged:

- the classifier is the live one, :func:`tracking.classify.classify_into`, fed with what the row
  holds (user agent, method, address, referrer, time) and its link (creation time, the
  application's submission time). Accept-Language is unknown for such a row unless the writer
  filled ``has_accept_language``; unknown counts as sent (as ``reclassify_clicks`` does), so a
  browser's click is not turned into a scanner for a header nobody could report;
- geodata fill the row when it has an address and no location yet, and the network's kind adds
  its reason (:func:`tracking.geo.locate_click`), as in the writer;
- the burst rule (:func:`tracking.clicks.burst.reclassify_burst`) runs for clicks of an
  application, against the clicks already stored.

Batched (``batch_size`` clicks per transaction, oldest first, through the ``(classification,
clicked_at)`` index) and bounded (``limit`` clicks per run, ``UNCLASSIFIED_PASS_LIMIT``): a flood
of plain-SQL rows is worked off over several runs without holding locks long. Rows are locked
with ``SKIP LOCKED`` on PostgreSQL, so two processes running the pass at once (the click writer
and the notifications worker) judge each click once; a classified click no longer matches, so a
second run changes nothing.

Run by the processes that already run: the click writer (every
:data:`PASS_EVERY_SECONDS`), the notifications worker's pass (``manage.py db_worker``, before it
writes the events of person clicks, so a plain-SQL click judged a person is announced like any
other) and ``manage.py run_maintenance``. Afterwards :data:`tracking.signals.clicks_classified`
tells the analytics rollups which days to rebuild.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import connection, transaction

from tracking import classify, geo, signals
from tracking.classify import ClickSignals
from tracking.clicks import burst
from tracking.models import LinkClick

logger = logging.getLogger(__name__)

# How often the click writer runs the pass: "within a minute" with room for a slow run.
PASS_EVERY_SECONDS = 15.0
BATCH_SIZE = 200
_FIELDS = [
    "classification",
    "classification_reasons",
    "device_type",
    "browser",
    "os",
    "country_code",
    "region",
    "city",
    "asn",
    "as_org",
    "network_kind",
]


def signals_of(click: LinkClick) -> ClickSignals:
    """What the classifier would have known at the click, read back from its row and link."""
    link = click.tracking
    application = link.application if link.application_id else None
    return ClickSignals(
        user_agent=click.user_agent or None,
        client_ip=click.ip_address,
        has_accept_language=click.has_accept_language is not False,
        link_created_at=link.created_at,
        application_id=str(link.application_id) if link.application_id else None,
        application_submitted_at=application.submitted_at if application else None,
    )


def _judge(click: LinkClick, click_signals: ClickSignals) -> None:
    known_accept_language = click.has_accept_language
    classify.classify_into(click, click_signals)
    click.has_accept_language = known_accept_language  # not written: unknown stays unknown
    if click.ip_address and click.country_code is None and click.asn is None:
        geo.locate_click(click, click_signals)
    else:
        classify.apply_network_kind(click, click.network_kind)


def _batch(size: int) -> list[tuple[LinkClick, ClickSignals]]:
    """Judge and store up to ``size`` unclassified clicks in one transaction."""
    with transaction.atomic():
        pending = (
            LinkClick.objects.filter(classification__isnull=True)
            .select_related("tracking__application")
            .order_by("clicked_at", "click_id")
        )
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True, of=("self",))
        judged = []
        for click in pending[:size]:
            click_signals = signals_of(click)
            _judge(click, click_signals)
            judged.append((click, click_signals))
        if judged:
            LinkClick.objects.bulk_update([click for click, _ in judged], _FIELDS)
            # After the UPDATE: the rule compares the click with the others as stored now.
            for click, click_signals in judged:
                network = classify.burst_network(click_signals.client_ip)
                if click_signals.application_id and network and click.clicked_at is not None:
                    burst.reclassify_burst(
                        click_id=click.click_id,
                        tracking_id=click.tracking_id,
                        application_id=click_signals.application_id,
                        network=network,
                        clicked_at=click.clicked_at,
                    )
    return judged


def classify_unclassified(
    *,
    limit: int | None = None,
    batch_size: int = BATCH_SIZE,
    report: signals.Report | None = None,
) -> int:
    """Classify up to ``limit`` (default ``UNCLASSIFIED_PASS_LIMIT``) unclassified clicks;
    returns how many were classified. See the module docstring."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    remaining = settings.UNCLASSIFIED_PASS_LIMIT if limit is None else limit
    done = 0
    times: list[dt.datetime] = []
    while remaining > 0:
        judged = _batch(min(batch_size, remaining))
        done += len(judged)
        remaining -= len(judged)
        times += [click.clicked_at for click, _ in judged if click.clicked_at is not None]
        if len(judged) < batch_size:
            break
    if done:
        logger.info("classified %d clicks stored without a classification", done)
        signals.announce(
            signals.clicks_classified,
            count=done,
            span=(min(times, default=None), max(times, default=None)),
            report=report,
            clicked_at=times,
        )
    return done
