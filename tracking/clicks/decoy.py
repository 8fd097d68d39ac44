"""The decoy rule: a hit on an application's hidden decoy link gives its network away.

The copy-ready e-mail of an application carries one link that a person can neither see nor click
(``tracking/email_body.html``; :func:`tracking.services.application_decoy_link`). Whatever opens
it is a machine that opens every link of the message: a mail gateway's scanner. So a click on the
decoy is ``scanner`` (reason ``decoy_hit``, set by the classifier from the link), and so is every
click on the same application's links within :data:`DECOY_WINDOW` before or after it from the same
network — the same /24 (IPv4) or /64 (IPv6), or the same autonomous system when geodata gives one.

Like the burst rule it compares clicks, so it runs after a click is stored:

- :func:`follow_up`: the direct path's version, run after the response has been sent;
- :func:`apply_to_batch`: the click writer's, in the transaction that inserts the batch;
- only clicks on the links of an application that has a decoy are looked at (the link cache
  knows, so a decoy created meanwhile counts for the later clicks once the cached link expires,
  ``LINK_CACHE_SECONDS``; the hit itself marks the earlier clicks at once);
- a decoy hit marks the clicks already stored (:func:`mark_around_hit`) and leaves a note in the
  shared cache, so that a click arriving later asks the database (:func:`hit_nearby`) only while a
  hit on its application is recent. With a per-process cache the note cannot be seen by other
  workers, so every click of an application asks (one indexed query after the response).

A click the job seeker corrected keeps its verdict (:mod:`tracking.verdicts`); it gets the reason.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import uuid
from collections.abc import Callable, Iterable
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from tracking import classify
from tracking.classify import ClickSignals
from tracking.models import LinkClick

logger = logging.getLogger(__name__)

DECOY_WINDOW = dt.timedelta(seconds=30)
REASON = "decoy_hit"
# The shared-cache note outlives the window, so that it only ever lets through too many checks.
_NOTE_SECONDS = 2 * int(DECOY_WINDOW.total_seconds())
_LOCAL_CACHES = ("LocMemCache", "DummyCache")

FollowUp = Callable[[], object]


def network_of(ip: str | None) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) of an address, or None without a usable one."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _same_network(
    ip: str | None, asn: int | None, *, network: str | None, hit_asn: int | None
) -> bool:
    return (network is not None and network_of(ip) == network) or (
        hit_asn is not None and asn == hit_asn
    )


def _note_key(application_id: str) -> str:
    return f"decoy:v1:{application_id}"


def _shared_cache() -> bool:
    return str(settings.CACHES["default"]["BACKEND"]).rsplit(".", 1)[-1] not in _LOCAL_CACHES


def _remember_hit(application_id: str) -> None:
    if _shared_cache():
        try:
            cache.set(_note_key(application_id), 1, _NOTE_SECONDS)
        except Exception:  # a cache error costs later clicks a query, nothing else
            logger.warning("shared cache unavailable for the decoy note", exc_info=True)


def hit_possible(application_id: str) -> bool:
    """Whether the application's decoy may have been hit lately (True when the cache cannot say)."""
    if not _shared_cache():
        return True
    try:
        return cache.get(_note_key(application_id)) is not None
    except Exception:
        return True


def _in_window(application_id: str, clicked_at: dt.datetime) -> Q:
    return Q(
        tracking__application_id=uuid.UUID(application_id),
        clicked_at__range=(clicked_at - DECOY_WINDOW, clicked_at + DECOY_WINDOW),
    )


def mark_around_hit(
    *,
    application_id: str,
    network: str | None,
    asn: int | None,
    clicked_at: dt.datetime,
    only: uuid.UUID | None = None,
) -> int:
    """Give the clicks of ``application_id`` within the window of a decoy hit, from its network,
    the reason ``decoy_hit`` (and, unless corrected, the verdict it implies); ``only`` narrows
    that to one click. Returns how many changed."""
    if network is None and asn is None:
        return 0
    in_window = LinkClick.objects.filter(_in_window(application_id, clicked_at))
    if only is not None:
        in_window = in_window.filter(click_id=only)
    rows = in_window.values_list(
        "click_id",
        "ip_address",
        "asn",
        "classification",
        "classification_reasons",
        "classification_correction",
    )[:500]
    changed = []
    for click_id, ip, row_asn, classification, reasons, correction in rows:
        reasons = list(reasons or [])
        if REASON in reasons or not _same_network(ip, row_asn, network=network, hit_asn=asn):
            continue
        reasons.append(REASON)
        if correction is None:
            classification = classify.classification_for(reasons)
        changed.append(
            LinkClick(
                click_id=click_id, classification=classification, classification_reasons=reasons
            )
        )
    if changed:
        LinkClick.objects.bulk_update(changed, ["classification", "classification_reasons"])
    return len(changed)


def hit_nearby(
    *, application_id: str, network: str | None, asn: int | None, clicked_at: dt.datetime
) -> bool:
    """Whether the application's decoy was hit from this network within the window."""
    if network is None and asn is None:
        return False
    hits = LinkClick.objects.filter(
        _in_window(application_id, clicked_at), tracking__is_decoy=True
    ).values_list("ip_address", "asn")[:50]
    return any(_same_network(ip, hit_asn, network=network, hit_asn=asn) for ip, hit_asn in hits)


def _hit_network(click: LinkClick, signals: ClickSignals) -> tuple[str | None, int | None]:
    # A Do-Not-Track click keeps no address in its row; its signals still have it (or its /24).
    return network_of(click.ip_address or signals.client_ip), click.asn


def _check(click: LinkClick, signals: ClickSignals, *, application_id: str) -> int:
    assert click.clicked_at is not None
    network, asn = _hit_network(click, signals)
    if signals.decoy:
        if click.classification == "owner":
            return 0  # the job seeker trying the hidden link says nothing about scanners
        _remember_hit(application_id)
        return mark_around_hit(
            application_id=application_id, network=network, asn=asn, clicked_at=click.clicked_at
        )
    if not hit_possible(application_id) or not hit_nearby(
        application_id=application_id, network=network, asn=asn, clicked_at=click.clicked_at
    ):
        return 0
    # A later click near a hit: only this one is marked (the hit marked those before it).
    return mark_around_hit(
        application_id=application_id,
        network=network,
        asn=asn,
        clicked_at=click.clicked_at,
        only=click.click_id,
    )


def follow_up(click: LinkClick, signals: ClickSignals) -> FollowUp | None:
    """The decoy rule for a stored click, or None when it cannot apply (no application, or an
    application without a decoy link when the link was read into the link cache)."""
    if not signals.application_id or click.clicked_at is None:
        return None
    if not (signals.decoy or signals.application_has_decoy):
        return None
    return partial(_check, click, signals, application_id=signals.application_id)


def apply_to_batch(clicks: Iterable[tuple[LinkClick, ClickSignals]]) -> int:
    """The decoy rule for the click writer's batch (stored in the current transaction): the hits
    first, then the other clicks. Returns how many stored clicks changed; when any did, the
    batch's instances are read back so that they match what is stored."""
    batch = list(clicks)
    members = [
        (click, signals)
        for click, signals in batch
        if signals.application_id
        and click.clicked_at is not None
        and (signals.decoy or signals.application_has_decoy)
    ]
    changed = 0
    for click, signals in sorted(members, key=lambda pair: not pair[1].decoy):
        assert signals.application_id is not None
        changed += _check(click, signals, application_id=signals.application_id)
    if changed:
        instances = {click.click_id: click for click, _signals in batch}
        stored = LinkClick.objects.filter(click_id__in=instances).values_list(
            "click_id", "classification", "classification_reasons"
        )
        for click_id, classification, reasons in stored:
            instances[click_id].classification = classification
            instances[click_id].classification_reasons = reasons
    return changed
