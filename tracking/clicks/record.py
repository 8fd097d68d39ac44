"""How a redirect's click is persisted: the one call the redirect view makes.

The view builds the click and its signals from the request (:mod:`tracking.clicks.capture`) and hands
them to :func:`submit_click`; how the click reaches the database is decided here alone.

Direct mode: the click is classified and stored with exactly one INSERT
inside the request. The burst rule, which has to look at other clicks, is returned as a follow-up
that the view runs once the response has been sent (see ``tracking.views``), so it never delays
the visitor; its result is stored well within a second. With a shared cache, a pre-check there
(:func:`burst_possible`) leaves the database alone unless a network opened two links of one
application within seconds.

Buffered mode: the click and its signals are appended to the Redis click stream
(:mod:`tracking.clicks.stream`) and the request is done; the click writer classifies and stores it
(:mod:`tracking.clicks.writer`), burst rule included. When Redis does not take the click, it is
stored directly as above; when the database fails too (in either mode), it is appended to the local
spool (:mod:`tracking.clicks.spool`), which the writer replays. The visitor is always redirected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from tracking import classify, services
from tracking.classify import ClickSignals, classification_fields, classify_into
from tracking.clicks import burst, spool, stream
from tracking.clicks.burst import FollowUp
from tracking.models import LinkClick

logger = logging.getLogger(__name__)


def click_mode() -> str:
    """The mode clicks are recorded in: ``direct`` or ``buffered`` (``CLICK_MODE``)."""
    return str(settings.CLICK_MODE)


def _queue_signals(click: LinkClick, signals: ClickSignals) -> ClickSignals:
    """The signals to put in the stream with a click.

    A Do-Not-Track click keeps no IP or user agent in its row; they must not sit in Redis either.
    Such a click is classified here (cheap: user-agent parsing is cached) and travels with only its
    network, which is all the burst rule compares.
    """
    if click.ip_address is not None or (signals.client_ip is None and signals.user_agent is None):
        return signals
    if click.classification is None:
        classify_into(click, signals)
    return _network_only(signals)


def _network_only(signals: ClickSignals) -> ClickSignals:
    """Signals without the user agent and with the client's network instead of its address."""
    network = classify.burst_network(signals.client_ip)
    return ClickSignals(
        user_agent=None,
        client_ip=network.split("/", 1)[0] if network else None,
        has_accept_language=signals.has_accept_language,
        link_created_at=signals.link_created_at,
        application_id=signals.application_id,
    )


def store_click_directly(click: LinkClick, signals: ClickSignals) -> FollowUp | None:
    """Classify and INSERT one click in the request; spool it when the database fails."""
    if click.classification is None:
        classify_into(click, signals)
    try:
        services.insert_new_click(click)
    except DatabaseError as exc:
        logger.error("database unavailable, spooling click %s: %s", click.click_id, exc)
        payload = stream.encode_click(click, signals=_queue_signals(click, signals).as_dict())
        try:
            spool.append(payload)
        except OSError:
            # Nowhere left to put it: log everything needed to replay it by hand.
            logger.exception("click not stored or spooled: %s", payload)
        return None
    return burst.follow_up(click, signals)


def rate_key(client_ip: str | None) -> str | None:
    """Who the click rate limit counts a buffered click against: a keyed hash of the client IP,
    so that the stream never holds a Do-Not-Track visitor's address."""
    if not client_ip:
        return None
    digest = hmac.new(settings.SECRET_KEY.encode(), client_ip.encode(), hashlib.sha256)
    return digest.hexdigest()[:24]


def submit_click(click: LinkClick, *, signals: ClickSignals) -> FollowUp | None:
    """Persist one redirect click; never raises, so the visitor is always redirected.

    ``click`` must be new (a fresh ``click_id``, as :func:`tracking.services.build_click` makes).
    Returns work to run after the response has been sent, or None.
    """
    if settings.CLICK_MODE == "buffered":
        queued = _queue_signals(click, signals)
        try:
            stream.append(
                click,
                signals={**queued.as_dict(), "rate_key": rate_key(signals.client_ip)},
            )
            return None
        except stream.StreamUnavailable as exc:
            # One warning per outage, not one per click (see StreamSkipped).
            if not isinstance(exc, stream.StreamSkipped):
                logger.warning("click stream unavailable, storing clicks directly: %s", exc)
            signals = queued
    return store_click_directly(click, signals)


def submit_request_click(fields: dict[str, Any], *, signals: ClickSignals) -> FollowUp | None:
    """Persist one redirect click given as request fields
    (:class:`tracking.clicks.capture.CapturedRequest`); never raises but for invalid fields.

    Buffered mode queues the fields unvalidated (the writer validates them, see
    :func:`tracking.clicks.stream.decode_click`): the request neither builds a ``LinkClick`` nor runs
    the service layer's checks, which cost more than the append itself. Direct mode, and buffered
    mode when Redis does not take the click, validate at once and go through
    :func:`submit_click`'s paths; invalid fields raise :class:`tracking.services.ServiceError`
    there. Returns work to run after the response has been sent, or None.
    """
    if settings.CLICK_MODE != "buffered":
        return submit_click(services.build_click(**fields), signals=signals)
    click_id = services.new_click_id()
    clicked_at_us = time.time_ns() // 1000
    if fields["click_source"] is None:  # cheap, and the queued entry says where it came from
        fields = {**fields, "click_source": services.detect_click_source(fields["referrer_url"])}
    queued, verdict = signals, {}
    if fields["ip_address"] is None and (
        signals.client_ip is not None or signals.user_agent is not None
    ):
        # Do Not Track: the IP and user agent must not sit in Redis, so classify here.
        verdict = classification_fields(
            http_method=fields["http_method"],
            clicked_at=dt.datetime.fromtimestamp(clicked_at_us / 1_000_000, tz=dt.UTC),
            signals=signals,
        )
        queued = _network_only(signals)
    try:
        stream.append_raw(
            {**fields, **verdict} if verdict else fields,
            click_id=click_id,
            clicked_at_us=clicked_at_us,
            signals={**queued.as_dict(), "rate_key": rate_key(signals.client_ip)},
        )
        return None
    except stream.StreamUnavailable as exc:
        if not isinstance(exc, stream.StreamSkipped):
            logger.warning("click stream unavailable, storing clicks directly: %s", exc)
    click = services.build_click(
        **fields,
        click_id=click_id,
        clicked_at=dt.datetime.fromtimestamp(clicked_at_us / 1_000_000, tz=dt.UTC),
    )
    for name, value in verdict.items():
        setattr(click, name, value)
    return store_click_directly(click, queued)
