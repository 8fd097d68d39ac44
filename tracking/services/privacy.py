"""Privacy: anonymization, retention and erasure of click data.

Click rows are personal data: an IP address, a visitor hash and a session cookie can single out
the recruiter who opened a link. These functions decide *what* is anonymized or deleted; the
management commands only parse arguments, print progress and call them.

Every change runs in short batches, each its own transaction, walking the primary key (keyset
pagination), so no statement holds row locks on more than ``batch_size`` clicks and a run over
millions of rows neither blocks the redirect's INSERTs nor rescans rows it has already handled.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.utils import timezone

from tracking import partitions, signals
from tracking.models import LinkClick, TrackedLink
from tracking.services.errors import ValidationFailed
from tracking.services.links import invalidate_cached_link
from tracking.services.validation import (
    SESSION_ID_MAX,
    clean_ip,
    clean_text,
    parse_uuid,
    stored_forms_of_ip,
)

PRIVACY_BATCH_SIZE = 1000

# When a click's IP retention ends, the IP address (the seed's own rule) and the visitor hash derived
# from it are set to NULL, and the session id is replaced by a pseudonym. The session id is our
# one-year cookie: kept as it is, it would tie the old click to the same browser's recent clicks,
# which still carry an IP address. The pseudonym is an HMAC under a key made for one run and never
# stored, so clicks anonymized together keep their grouping ("unique sessions", an application's
# journey) while nothing, not even this database, can tie them to a live cookie again. Clicks of
# one session anonymized on different days get different pseudonyms. Kept as they are: the user
# agent and its parsed device, browser and OS (they describe software; classification and device
# figures read them) and the referrer (the site the link was opened from). Of the geo fields the
# city and the network (ASN and its organisation, which can name the visitor's employer) go with
# the IP; the country, the region and the network's kind (cloud, mobile, …) stay for the figures.
ANONYMIZED_CLICK_FIELDS = ("ip_address", "visitor_hash", "city", "asn", "as_org")
SESSION_PSEUDONYM_PREFIX = "anon-"

ProgressCallback = Callable[[int], None]


def retention_cutoff(*, days: int, now: dt.datetime | None = None) -> dt.datetime:
    """The instant before which a retention period of ``days`` has ended."""
    return (now or timezone.now()) - dt.timedelta(days=days)


def _apply_in_batches(
    queryset: QuerySet[LinkClick],
    apply: Callable[[QuerySet[LinkClick]], int],
    *,
    batch_size: int,
    progress: ProgressCallback | None,
) -> int:
    """Run ``apply`` on ``queryset`` ``batch_size`` rows at a time; returns the rows changed."""
    if batch_size < 1:
        raise ValidationFailed("batch_size must be at least 1.", field="batch_size")
    done = 0
    last_pk: uuid.UUID | None = None
    while True:
        page = queryset.order_by("pk")
        if last_pk is not None:
            page = page.filter(pk__gt=last_pk)
        ids = list(page.values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        with transaction.atomic():
            done += apply(LinkClick.objects.filter(pk__in=ids))
        last_pk = ids[-1]
        if progress is not None:
            progress(done)
        if len(ids) < batch_size:
            break
    return done


def _delete(queryset: QuerySet[LinkClick]) -> int:
    return queryset.delete()[0]


def clicks_to_anonymize(*, older_than: dt.datetime) -> QuerySet[LinkClick]:
    """Clicks past their IP retention that still hold an identifying value."""
    still_identifying = Q(session_id__isnull=False) & ~Q(
        session_id__startswith=SESSION_PSEUDONYM_PREFIX
    )
    for field in ANONYMIZED_CLICK_FIELDS:
        still_identifying |= Q(**{f"{field}__isnull": False})
    return LinkClick.objects.filter(still_identifying, clicked_at__lt=older_than)


def session_pseudonym(session_id: str, *, key: bytes) -> str:
    digest = hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()
    return SESSION_PSEUDONYM_PREFIX + digest[:32]


def _anonymize_batch(batch: QuerySet[LinkClick], *, key: bytes) -> int:
    changes: dict[str, Any] = dict.fromkeys(ANONYMIZED_CLICK_FIELDS)
    sessions: set[str] = {
        session
        for session in batch.exclude(session_id__startswith=SESSION_PSEUDONYM_PREFIX).values_list(
            "session_id", flat=True
        )
        if session
    }
    if sessions:
        changes["session_id"] = Case(
            *[
                When(session_id=session, then=Value(session_pseudonym(session, key=key)))
                for session in sorted(sessions)
            ],
            default=F("session_id"),
            output_field=CharField(),
        )
    return batch.update(**changes)


def anonymize_clicks(
    *,
    older_than: dt.datetime,
    batch_size: int = PRIVACY_BATCH_SIZE,
    progress: ProgressCallback | None = None,
) -> int:
    """Anonymize the clicks made before ``older_than`` (see above); returns how many.

    Idempotent: anonymized rows no longer match, so a second run changes nothing.
    """
    key = secrets.token_bytes(32)  # this run's pseudonym key, forgotten when it ends
    span = signals.time_span(clicks_to_anonymize(older_than=older_than))
    done = _apply_in_batches(
        clicks_to_anonymize(older_than=older_than),
        lambda batch: _anonymize_batch(batch, key=key),
        batch_size=batch_size,
        progress=progress,
    )
    signals.announce(signals.clicks_anonymized, count=done, span=span)
    return done


def clicks_to_purge(*, older_than: dt.datetime) -> QuerySet[LinkClick]:
    """Clicks past the click retention period. Clicks without a time are kept (age unknown)."""
    return LinkClick.objects.filter(clicked_at__lt=older_than)


def purge_clicks(
    *,
    older_than: dt.datetime,
    batch_size: int = PRIVACY_BATCH_SIZE,
    progress: ProgressCallback | None = None,
) -> int:
    """Delete clicks made before ``older_than``; returns how many.

    When ``link_clicks`` is partitioned by month (:mod:`tracking.partitions`), the months wholly
    before ``older_than`` are dropped whole first; the batches then delete the rest.
    """
    span = signals.time_span(clicks_to_purge(older_than=older_than))
    dropped = partitions.drop_partitions_before(older_than).clicks
    if dropped and progress is not None:
        progress(dropped)
    done = dropped + _apply_in_batches(
        clicks_to_purge(older_than=older_than),
        _delete,
        batch_size=batch_size,
        progress=None if progress is None else (lambda batches: progress(dropped + batches)),
    )
    signals.announce(signals.clicks_removed, count=done, span=span)
    return done


@dataclass(frozen=True)
class ErasureRequest:
    """Whose data to erase: any click or link matching one of the given values."""

    job_id: uuid.UUID | None = None
    application_id: uuid.UUID | None = None
    ip_address: str | None = None
    session_id: str | None = None
    include_links: bool = False

    @classmethod
    def parse(
        cls,
        *,
        job_id: Any = None,
        application_id: Any = None,
        ip_address: Any = None,
        session_id: Any = None,
        include_links: bool = False,
    ) -> ErasureRequest:
        """Validate raw values (from a command line or an API) into a request."""
        request = cls(
            job_id=parse_uuid(job_id, field="job_id"),
            application_id=parse_uuid(application_id, field="application_id"),
            ip_address=clean_ip(ip_address),
            session_id=clean_text(session_id, field="session_id", max_length=SESSION_ID_MAX),
            include_links=include_links,
        )
        if not any(
            (request.job_id, request.application_id, request.ip_address, request.session_id)
        ):
            raise ValidationFailed(
                "Name a job, an application, an IP address or a session to erase."
            )
        if include_links and not (request.job_id or request.application_id):
            raise ValidationFailed(
                "include_links applies to a job or an application; links have no IP or session.",
                field="include_links",
            )
        return request

    def links(self) -> QuerySet[TrackedLink]:
        """Links tied to the job or application: directly, or through an application of the job."""
        match = Q(pk__in=[])
        if self.job_id:
            match |= Q(job_id=self.job_id) | Q(application__job_id=self.job_id)
        if self.application_id:
            match |= Q(application_id=self.application_id)
        return TrackedLink.objects.filter(match)

    def clicks(self) -> QuerySet[LinkClick]:
        match = Q(pk__in=[])
        if self.job_id or self.application_id:
            match |= Q(tracking__in=self.links().values("pk"))
        if self.ip_address:
            # Normalised by parse(); rows stored before normalisation may hold the mapped form.
            match |= Q(ip_address__in=stored_forms_of_ip(self.ip_address))
        if self.session_id:
            match |= Q(session_id=self.session_id)
        return LinkClick.objects.filter(match)


@dataclass(frozen=True)
class ErasureCounts:
    clicks: int
    links: int


def count_erasure(request: ErasureRequest) -> ErasureCounts:
    """What :func:`erase_personal_data` would delete, without deleting anything."""
    links = request.links().count() if request.include_links else 0
    return ErasureCounts(clicks=request.clicks().count(), links=links)


def erase_personal_data(
    request: ErasureRequest,
    *,
    batch_size: int = PRIVACY_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    report: signals.Report | None = None,
) -> ErasureCounts:
    """Delete every click tied to the request, then (``include_links``) the links themselves.

    Clicks go first, in batches, so that deleting a link never cascades into one long statement.
    Jobs and applications stay: they are the job seeker's own records. ``report`` is handed to
    the receivers of :data:`tracking.signals.clicks_removed`.
    """
    span = signals.time_span(request.clicks())
    clicks = _apply_in_batches(request.clicks(), _delete, batch_size=batch_size, progress=progress)
    links = 0
    if request.include_links:
        tracking_ids = list(request.links().values_list("pk", flat=True))
        for start in range(0, len(tracking_ids), batch_size):
            chunk = tracking_ids[start : start + batch_size]
            with transaction.atomic():
                # Clicks recorded since the batches above are removed with their link.
                clicks += LinkClick.objects.filter(tracking_id__in=chunk).delete()[0]
                deleted = TrackedLink.objects.filter(pk__in=chunk).delete()[1]
                links += deleted.get(TrackedLink._meta.label, 0)
                for tracking_id in chunk:
                    invalidate_cached_link(tracking_id)
    signals.announce(signals.clicks_removed, count=clicks, span=span, report=report)
    return ErasureCounts(clicks=clicks, links=links)
