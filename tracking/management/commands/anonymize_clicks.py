"""Remove what identifies a person (IP, visitor hash, session cookie) from clicks past IP retention."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from tracking import services
from tracking.clicks import setaside
from tracking.management.batching import RetentionCommand
from tracking.models import LinkClick
from tracking.services import ProgressCallback


class Command(RetentionCommand):
    help = (
        "Anonymize clicks older than IP_RETENTION_DAYS (default 90): set the IP address and the "
        "visitor hash to NULL and replace the session id by a pseudonym no one can tie back to "
        "the cookie. Idempotent; runs in batches."
    )
    setting_name = "IP_RETENTION_DAYS"
    verb = "anonymized"
    dry_run_verb = "anonymize"

    def matching(self, *, older_than: dt.datetime) -> QuerySet[LinkClick]:
        return services.clicks_to_anonymize(older_than=older_than)

    def apply(
        self, *, older_than: dt.datetime, batch_size: int, progress: ProgressCallback | None
    ) -> int:
        return services.anonymize_clicks(
            older_than=older_than, batch_size=batch_size, progress=progress
        )

    def set_aside(self, *, older_than: dt.datetime, dry_run: bool) -> setaside.SetAsideCounts:
        return setaside.anonymize(older_than=older_than, dry_run=dry_run)
