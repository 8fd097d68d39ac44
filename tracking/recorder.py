"""How a redirect's click is persisted: the one call the redirect view makes.

The view builds the click and its signals from the request (:mod:`tracking.clickcapture`) and hands
them to :func:`submit_click`; how the click reaches the database is decided here alone.

Direct mode: the click is classified and stored with exactly one INSERT
inside the request. The burst rule, which has to look at other clicks, is returned as a follow-up
that the view runs once the response has been sent (see ``tracking.views``), so it never delays
the visitor; its result is stored well within a second. With a shared cache, a pre-check there
(:func:`burst_possible`) leaves the database alone unless a network opened two links of one
application within seconds.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError

from tracking import classify, services
from tracking.classify import ClickSignals
from tracking.models import LinkClick

logger = logging.getLogger(__name__)

FollowUp = Callable[[], object]


def click_mode() -> str:
    """The mode clicks are recorded in; this version stores every click directly."""
    return "direct"


def classify_into(click: LinkClick, signals: ClickSignals) -> None:
    """Set the classification, reasons and parsed device fields of an unsaved click."""
    verdict = classify.classify_click(
        http_method=click.http_method,
        user_agent=signals.user_agent,
        has_accept_language=signals.has_accept_language,
        client_ip=signals.client_ip,
        clicked_at=click.clicked_at,
        link_created_at=signals.link_created_at,
        scanner_window_seconds=settings.SCANNER_WINDOW_SECONDS,
    )
    click.classification = verdict.classification
    click.classification_reasons = list(verdict.reasons)
    click.device_type = verdict.device_type
    click.browser = verdict.browser
    click.os = verdict.os


# How long the shared cache remembers which links of an application a network opened. Longer
# than the burst window, so that the cache only ever lets through too many checks, never too few.
BURST_MEMORY_SECONDS = 10
_LOCAL_CACHES = ("LocMemCache", "DummyCache")


def burst_possible(*, application_id: str, network: str, tracking_id: str) -> bool:
    """Whether this network opened another link of this application in the last seconds.

    A pre-check in the shared cache that spares the burst rule its SELECT for nearly every click:
    atomic ``add``/``incr`` count the distinct links per (application, network), so of two
    simultaneous clicks on two links one always sees the other. A per-process cache cannot see
    other workers, and a cache error proves nothing: both answer "possible" and the database
    decides.
    """
    if settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1] in _LOCAL_CACHES:
        return True
    key = f"burst:v1:{application_id}:{network}"
    try:
        if cache.add(f"{key}:{tracking_id}", 1, BURST_MEMORY_SECONDS):
            links = 1 if cache.add(key, 1, BURST_MEMORY_SECONDS) else cache.incr(key)
        else:
            links = cache.get(key)
    except Exception:  # includes incr on a key that just expired
        return True
    return links is None or links >= 2


def _burst_check(
    click: LinkClick, *, application_id: str, network: str, clicked_at: dt.datetime
) -> int:
    if not burst_possible(
        application_id=application_id, network=network, tracking_id=click.tracking_id
    ):
        return 0
    return services.apply_burst_rule(
        click_id=click.click_id,
        tracking_id=click.tracking_id,
        application_id=application_id,
        network=network,
        clicked_at=clicked_at,
    )


def burst_follow_up(click: LinkClick, signals: ClickSignals) -> FollowUp | None:
    """The burst rule for a stored click, or None when it cannot apply (no application, no IP)."""
    network = classify.burst_network(signals.client_ip)
    if not signals.application_id or network is None or click.clicked_at is None:
        return None
    return partial(
        _burst_check,
        click,
        application_id=signals.application_id,
        network=network,
        clicked_at=click.clicked_at,
    )


def submit_click(click: LinkClick, *, signals: ClickSignals) -> FollowUp | None:
    """Persist one redirect click; never raises, so the visitor is always redirected.

    Returns work to run after the response has been sent (or None). Storing a click that is
    already stored (same ``click_id``) is a no-op.
    """
    classify_into(click, signals)
    try:
        services.store_clicks([click])
    except DatabaseError:
        # The database is down: the visitor still gets the destination; the click is logged
        # with everything needed to replay it by hand.
        logger.exception(
            "click not stored: tracking_id=%s click_id=%s clicked_at=%s",
            click.tracking_id,
            click.click_id,
            click.clicked_at,
        )
        return None
    return burst_follow_up(click, signals)
