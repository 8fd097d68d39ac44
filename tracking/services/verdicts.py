"""Correcting a click's verdict (see :mod:`tracking.verdicts` for what a correction means)."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone

from tracking import signals, verdicts
from tracking.models import LinkClick
from tracking.services.errors import NotFound, ValidationFailed


def correct_click_verdict(
    *, click_id: uuid.UUID | str, verdict: str, corrected_by: str
) -> LinkClick:
    """Record the job seeker's word on one click: ``person``, ``machine`` or ``automatic``
    (withdraw the correction). Returns the click as stored.

    The analytics rollups refresh the click's day through
    :data:`tracking.signals.clicks_reclassified`, sent after the commit.
    """
    if verdict not in verdicts.CHOICES:
        raise ValidationFailed(
            f"verdict must be one of {', '.join(verdicts.CHOICES)}, not {verdict!r}.",
            field="verdict",
        )
    try:
        key = click_id if isinstance(click_id, uuid.UUID) else uuid.UUID(str(click_id))
    except ValueError:
        raise ValidationFailed("Not a click id.", field="click_id") from None
    with transaction.atomic():
        click = LinkClick.objects.select_for_update().filter(pk=key).first()
        if click is None:
            raise NotFound("No click has this id.", field="click_id")
        correction = None if verdict == verdicts.AUTOMATIC else verdict
        automatic = verdicts.automatic_classification(click.classification_reasons)
        if click.classification_correction is None and click.classification_reasons is None:
            automatic = click.classification  # set by a system that gave no reasons
        classification = verdicts.effective_classification(correction, automatic)
        changed = (
            classification != click.classification or correction != click.classification_correction
        )
        click.classification = classification
        click.classification_correction = correction
        click.corrected_by = corrected_by[:150] if correction else None
        click.corrected_at = timezone.now() if correction else None
        click.save(
            update_fields=[
                "classification",
                "classification_correction",
                "corrected_by",
                "corrected_at",
            ]
        )
        if changed:
            span = (click.clicked_at, click.clicked_at)
            transaction.on_commit(
                lambda: signals.announce(signals.clicks_reclassified, count=1, span=span)
            )
    return click
