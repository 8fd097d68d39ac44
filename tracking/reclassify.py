"""Judge stored clicks again with today's rules (``manage.py reclassify_clicks``).

When the classifier learns (a new bot list, a new scanner signal), the clicks already stored keep
their old verdict unless they are judged again. Everything a click's verdict needs is stored with
it (user agent, method, address, referrer, time, ``has_accept_language``) or with its link (its
creation and its application's submission time), except two signals that cannot be recomputed
from the row, which are carried over from the verdict the click already has:

- ``owner_cookie``: the cookie was seen in the request only;
- ``burst`` and ``decoy_hit``: the burst and decoy rules compared the click with others when it
  was stored (a click on the decoy link itself gets ``decoy_hit`` again from its link).

A click the job seeker corrected keeps the correction (:mod:`tracking.verdicts`): its reasons
are judged again, its classification stays the corrected one.

A click stored before ``has_accept_language`` was kept reads it from its old reasons
(``no_accept_language`` present or not). Clicks without a user agent (Do-Not-Track, or never
sent one) are left as they are: their row cannot tell their story again.

Batched by primary key, one transaction per batch; only clicks whose verdict changes are written,
so a second run changes nothing. When clicks changed, :data:`tracking.signals.clicks_reclassified`
tells the apps that keep copies (the analytics rollups) to refresh those days.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from tracking import classify, signals, verdicts
from tracking.models import LinkClick

# Reasons that only the moment of the click could see: kept from the click's current verdict.
CARRIED_REASONS = ("owner_cookie", "burst", "decoy_hit")
_FIELDS = ("classification", "classification_reasons", "device_type", "browser", "os")


@dataclass(frozen=True)
class ReclassifyResult:
    examined: int
    changed: int
    # Clicks whose classification moved, by "old → new", e.g. {"human → bot": 12}; the other
    # changed clicks kept their class and changed reasons or parsed device fields.
    moves: dict[str, int]

    def summary(self, *, dry_run: bool) -> str:
        verb = "would change" if dry_run else "changed"
        moved = ", ".join(f"{move}: {count}" for move, count in sorted(self.moves.items()))
        return f"{self.examined} clicks judged again, {verb} {self.changed}" + (
            f" ({moved})" if moved else ""
        )


def clicks_to_reclassify(*, since: dt.datetime | None = None) -> QuerySet[LinkClick]:
    """Clicks whose row still holds a user agent, made at or after ``since`` when given."""
    clicks = LinkClick.objects.filter(user_agent__isnull=False).exclude(user_agent="")
    if since is not None:
        clicks = clicks.filter(clicked_at__gte=since)
    return clicks


def verdict_for(click: LinkClick) -> dict[str, Any]:
    """The classification fields today's rules give a stored click (see the module)."""
    old_reasons = list(click.classification_reasons or [])
    has_accept_language = click.has_accept_language
    if has_accept_language is None:
        has_accept_language = "no_accept_language" not in old_reasons
    link = click.tracking
    application = link.application if link.application_id else None
    verdict = classify.classify_click(
        http_method=click.http_method,
        user_agent=click.user_agent,
        has_accept_language=has_accept_language,
        client_ip=click.ip_address,
        clicked_at=click.clicked_at,
        link_created_at=link.created_at,
        scanner_window_seconds=settings.SCANNER_WINDOW_SECONDS,
        referrer=click.referrer_url,
        application_submitted_at=application.submitted_at if application else None,
        owner_cookie="owner_cookie" in old_reasons,
        decoy=bool(link.is_decoy),
    )
    reasons = list(verdict.reasons)
    # The rules that compared the click with others: kept as they fired.
    reasons.extend(
        code for code in ("burst", "decoy_hit") if code in old_reasons and code not in reasons
    )
    return {
        # A correction by the job seeker wins over today's rules too (tracking.verdicts).
        "classification": verdicts.effective_classification(
            click.classification_correction, classify.classification_for(reasons)
        ),
        "classification_reasons": reasons,
        "device_type": verdict.device_type,
        "browser": verdict.browser,
        "os": verdict.os,
    }


def reclassify_clicks(
    *,
    since: dt.datetime | None = None,
    dry_run: bool = False,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    report: signals.Report | None = None,
) -> ReclassifyResult:
    """Judge the matching clicks again; write (unless ``dry_run``) those whose verdict changed."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    examined = changed = 0
    moves: dict[str, int] = {}
    oldest: dt.datetime | None = None
    newest: dt.datetime | None = None
    last_pk: uuid.UUID | None = None
    matching = clicks_to_reclassify(since=since).select_related("tracking__application")
    while True:
        page = matching.order_by("pk")
        if last_pk is not None:
            page = page.filter(pk__gt=last_pk)
        with transaction.atomic():
            batch = list(page.select_for_update(of=("self",))[:batch_size])
            updated = []
            for click in batch:
                fields = verdict_for(click)
                if all(getattr(click, name) == fields[name] for name in _FIELDS):
                    continue
                if click.classification != fields["classification"]:
                    move = f"{click.classification or 'unclassified'} → {fields['classification']}"
                    moves[move] = moves.get(move, 0) + 1
                for name, value in fields.items():
                    setattr(click, name, value)
                updated.append(click)
                if click.clicked_at is not None:
                    oldest = min(oldest, click.clicked_at) if oldest else click.clicked_at
                    newest = max(newest, click.clicked_at) if newest else click.clicked_at
            if updated and not dry_run:
                LinkClick.objects.bulk_update(updated, list(_FIELDS))
        examined += len(batch)
        changed += len(updated)
        if progress is not None and batch:
            progress(examined)
        if len(batch) < batch_size:
            break
        last_pk = batch[-1].pk
    if not dry_run:
        signals.announce(
            signals.clicks_reclassified, count=changed, span=(oldest, newest), report=report
        )
    return ReclassifyResult(examined=examined, changed=changed, moves=moves)
