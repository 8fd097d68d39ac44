"""Where a redirect's click goes: the one call the redirect view makes, :func:`submit`.

The view captures the click's fields and signals from the request (:mod:`tracking.clicks.capture`)
and hands them to :func:`submit`, which picks the target; how the click reaches the database is
decided here alone.

Direct mode: the click is validated (:func:`tracking.services.build_click`), classified and
stored with exactly one INSERT inside the request (:func:`insert_or_spool`). The burst rule, which
has to look at other clicks, is returned as a follow-up that the view runs once the response has
been sent (see ``tracking.views``), so it never delays the visitor; its result is stored well
within a second (:mod:`tracking.clicks.burst`).

Buffered mode: the fields and signals are appended to the Redis click stream unvalidated
(:mod:`tracking.clicks.stream`) and the request is done; the click writer validates, classifies
and stores them (:mod:`tracking.clicks.writer`), burst rule included. When Redis does not take the
click, it is stored directly as above; when the database fails too (in either mode), it is
appended to the local spool (:mod:`tracking.clicks.spool`), which the writer replays. The visitor
is always redirected.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import logging
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError

from tracking import classify, company, geo, services
from tracking.classify import ClickSignals, classification_fields, classify_into
from tracking.clicks import burst, decoy, spool, stream
from tracking.clicks.burst import FollowUp
from tracking.clicks.capture import client_bucket
from tracking.models import LinkClick

logger = logging.getLogger(__name__)


def click_mode() -> str:
    """The mode clicks are recorded in: ``direct`` or ``buffered`` (``CLICK_MODE``)."""
    return str(settings.CLICK_MODE)


def queued_signals(*, ip_address: str | None, signals: ClickSignals) -> ClickSignals:
    """The signals that may leave the process with a click (to the stream or the spool).

    A Do-Not-Track click keeps no IP or user agent in its row (``ip_address`` is None while the
    signals still hold them); they must not sit in Redis or in a file either. Such a click travels
    with only its network, which is all the burst rule compares, and must therefore be classified
    before it is queued. Any other click's signals are returned as they are.
    """
    if ip_address is not None or (signals.client_ip is None and signals.user_agent is None):
        return signals
    network = classify.burst_network(signals.client_ip)
    return dataclasses.replace(
        signals, user_agent=None, client_ip=network.split("/", 1)[0] if network else None
    )


def insert_or_spool(click: LinkClick, signals: ClickSignals) -> FollowUp | None:
    """Classify and INSERT one new click in the request; spool it when the database fails.

    Returns the follow-up for a stored click (the burst and decoy rules), or None.
    """
    if click.classification is None:
        classify_into(click, signals)
    geo.locate_click(click, signals)
    company.mark_click(click, signals.company_keys)
    try:
        services.insert_new_click(click)
    except DatabaseError as exc:
        logger.error(
            "database unavailable, spooling click %s: %s",
            click.click_id,
            services.describe_database_error(exc),
        )
        queued = queued_signals(ip_address=click.ip_address, signals=signals)
        payload = stream.encode_click(click, signals=queued.as_dict())
        try:
            spool.append(payload)
        except OSError as spool_error:
            # Nowhere left to put it. The payload is not logged: it holds the visitor's IP
            # address and user agent, and logs are kept and shipped beyond any retention rule.
            logger.error(
                "click %s on %s at %s lost: not stored and not spooled (%s)",
                click.click_id,
                click.tracking_id,
                click.clicked_at,
                spool_error,
            )
        return None
    return _both(burst.follow_up(click, signals), decoy.follow_up(click, signals))


def _both(first: FollowUp | None, second: FollowUp | None) -> FollowUp | None:
    """One follow-up running the burst rule, then the decoy rule (each when it applies)."""
    if first is None or second is None:
        return first or second

    def run() -> None:
        try:
            first()
        finally:  # the view logs a failure; the decoy rule still gets its turn
            second()

    return run


def rate_key(client_ip: str | None) -> str:
    """Who the click rate limit counts a buffered click against: a keyed hash of the client's
    bucket (:func:`~tracking.clicks.capture.client_bucket`: IPv6 per /64, no address in one shared
    bucket), so that the stream never holds a Do-Not-Track visitor's address."""
    return _rate_key(settings.SECRET_KEY, client_ip)


# The HMAC and the bucket cost more than the rest of queueing a click; a visitor's repeated clicks
# and a proxy's address hit this instead. Bounded, like the address cache of the capture.
@functools.lru_cache(maxsize=4096)
def _rate_key(secret: str, client_ip: str | None) -> str:
    bucket = client_bucket(client_ip)
    return hmac.new(secret.encode(), bucket.encode(), hashlib.sha256).hexdigest()[:24]


def submit(fields: dict[str, Any], *, signals: ClickSignals) -> FollowUp | None:
    """Persist one redirect click given as request fields
    (:class:`tracking.clicks.capture.CapturedRequest`); never raises but for invalid fields.

    Buffered mode appends the fields unvalidated (the writer validates them, see
    :func:`tracking.clicks.stream.decode_click`): the request neither builds a ``LinkClick`` nor
    runs the service layer's checks, which cost more than the append itself. Direct mode, and
    buffered mode when Redis does not take the click, validate at once and go through
    :func:`insert_or_spool`; invalid fields raise :class:`tracking.services.ServiceError` there.
    Returns work to run after the response has been sent, or None.
    """
    if settings.CLICK_MODE != "buffered":
        return insert_or_spool(services.build_click(**fields), signals)
    click_id = services.new_click_id()
    clicked_at_us = time.time_ns() // 1000
    if fields["click_source"] is None:  # cheap, and the queued entry says where it came from
        fields = {**fields, "click_source": services.detect_click_source(fields["referrer_url"])}
    queued = queued_signals(ip_address=fields["ip_address"], signals=signals)
    verdict: dict[str, Any] = {}
    if queued is not signals:
        # Do Not Track: the IP and user agent stay here, so the click is classified here.
        verdict = classification_fields(
            http_method=fields["http_method"],
            clicked_at=_datetime(clicked_at_us),
            signals=signals,
            referrer=fields["referrer_url"],
        )
    try:
        stream.append(
            stream.encode_raw(
                {**fields, **verdict} if verdict else fields,
                click_id=click_id,
                clicked_at_us=clicked_at_us,
                signals={**queued.as_dict(), "rate_key": rate_key(signals.client_ip)},
            )
        )
        return None
    except stream.StreamUnavailable as exc:
        # One warning per outage, not one per click (see StreamSkipped).
        if not isinstance(exc, stream.StreamSkipped):
            logger.warning("click stream unavailable, storing clicks directly: %s", exc)
    click = services.build_click(**fields, click_id=click_id, clicked_at=_datetime(clicked_at_us))
    for name, value in verdict.items():
        setattr(click, name, value)
    return insert_or_spool(click, queued)


def _datetime(microseconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(microseconds / 1_000_000, tz=dt.UTC)
