"""Delete clicks past the click retention period."""

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
        "Delete clicks older than CLICK_RETENTION_DAYS (default 730). Idempotent; runs in batches."
    )
    setting_name = "CLICK_RETENTION_DAYS"
    verb = "deleted"
    dry_run_verb = "delete"

    def matching(self, *, older_than: dt.datetime) -> QuerySet[LinkClick]:
        return services.clicks_to_purge(older_than=older_than)

    def apply(
        self, *, older_than: dt.datetime, batch_size: int, progress: ProgressCallback | None
    ) -> int:
        return services.purge_clicks(
            older_than=older_than, batch_size=batch_size, progress=progress
        )

    def set_aside(self, *, older_than: dt.datetime, dry_run: bool) -> setaside.SetAsideCounts:
        return setaside.purge(older_than=older_than, dry_run=dry_run)
