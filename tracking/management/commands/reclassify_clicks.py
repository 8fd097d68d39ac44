"""Judge stored clicks again with today's classification rules (see :mod:`tracking.reclassify`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracking import periods, reclassify
from tracking.management.batching import checked_batch_size, progress_printer


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since must be a date (YYYY-MM-DD), got {value!r}.") from None


class Command(BaseCommand):
    help = (
        "Classify stored clicks again with the current rules (clicks that still have their user "
        "agent), writing only the verdicts that change, then refresh the analytics rollups. "
        "Signals seen only when the click was made (the owner cookie, the burst rule) are kept. "
        "Idempotent; runs in batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since",
            type=_date,
            default=None,
            help="Only clicks made on or after this local day (YYYY-MM-DD); default all.",
        )
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Clicks per transaction (default 1000)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change and change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = checked_batch_size(options["batch_size"])
        since_day: dt.date | None = options["since"]
        since = None
        if since_day is not None:
            try:
                periods.check_dates(since_day, since_day)
            except periods.RangeError as exc:
                raise CommandError(exc.message) from None
            since = periods.local_midnight(since_day)
        total = reclassify.clicks_to_reclassify(since=since).count()
        verbosity = options["verbosity"]
        if verbosity >= 1:
            self.stdout.write(f"{total} stored clicks to judge again")
        result = reclassify.reclassify_clicks(
            since=since,
            dry_run=options["dry_run"],
            batch_size=batch_size,
            progress=progress_printer(
                self, verb="judged", total=total, batch_size=batch_size, verbosity=verbosity
            ),
            report=self.stdout.write if verbosity >= 1 else None,
        )
        self.stdout.write(result.summary(dry_run=options["dry_run"]))
