"""Shared options, progress output and the retention-command skeleton of the privacy commands."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from tracking import periods, services
from tracking.clicks import setaside
from tracking.models import LinkClick
from tracking.services import PRIVACY_BATCH_SIZE, ProgressCallback


def checked_days(days: int, *, field: str, minimum: int = 1) -> int:
    """A day count given to a command, within :mod:`tracking.periods`' bounds (else CommandError)."""
    try:
        return periods.check_days(days, field=field, minimum=minimum)
    except periods.RangeError as exc:
        raise CommandError(exc.message) from None


# One batch is one transaction: more rows than this would hold locks for long, and a number past
# the database's integer range would fail inside the query instead of here.
BATCH_SIZE_MAX = 100_000


def checked_batch_size(batch_size: int) -> int:
    if not 1 <= batch_size <= BATCH_SIZE_MAX:
        raise CommandError(f"--batch-size must be at least 1 and at most {BATCH_SIZE_MAX}.")
    return batch_size


def add_batch_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--batch-size",
        type=int,
        default=PRIVACY_BATCH_SIZE,
        help=f"Rows changed per transaction (default {PRIVACY_BATCH_SIZE}).",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="Print what would change and change nothing."
    )


def progress_printer(
    command: BaseCommand, *, verb: str, total: int, batch_size: int, verbosity: int
) -> ProgressCallback | None:
    """A callback printing ``verb done/total`` after each batch, when a run spans several."""
    if verbosity < 1 or total <= batch_size:
        return None

    def report(done: int) -> None:
        command.stdout.write(f"  {verb} {done}/{total}")

    return report


class RetentionCommand(BaseCommand):
    """A command applying one retention rule to the clicks older than a number of days."""

    setting_name: str  # the setting holding the default number of days
    verb: str  # past tense, as printed: "anonymized", "deleted"
    dry_run_verb: str  # "anonymize", "delete"

    def matching(self, *, older_than: dt.datetime) -> QuerySet[LinkClick]:
        raise NotImplementedError

    def apply(
        self, *, older_than: dt.datetime, batch_size: int, progress: ProgressCallback | None
    ) -> int:
        raise NotImplementedError

    def set_aside(self, *, older_than: dt.datetime, dry_run: bool) -> setaside.SetAsideCounts:
        """Apply the rule to the clicks the pipeline set aside (see
        :mod:`tracking.clicks.setaside`)."""
        raise NotImplementedError

    def _set_aside_report(self, *, older_than: dt.datetime, dry_run: bool) -> None:
        try:
            counts = self.set_aside(older_than=older_than, dry_run=dry_run)
        except setaside.SetAsideUnavailable as exc:
            # Loud, but the database's own rule has run: the next run catches up.
            self.stderr.write(f"Set-aside clicks not {self.verb}: {exc}")
            return
        line = counts.summary(dry_run=dry_run)
        if line:
            self.stdout.write(line)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=None, help=f"Override {self.setting_name} for this run."
        )
        add_batch_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        days, source = options["days"], "--days"
        if days is None:
            days, source = getattr(settings, self.setting_name), self.setting_name
        checked_days(days, field=source)
        batch_size = checked_batch_size(options["batch_size"])
        cutoff = services.retention_cutoff(days=days)
        pending = self.matching(older_than=cutoff).count()
        which = f"clicks made before {cutoff:%Y-%m-%d %H:%M} UTC ({days} days ago)"
        if options["dry_run"]:
            self.stdout.write(f"Would {self.dry_run_verb} {pending} {which}.")
            self._set_aside_report(older_than=cutoff, dry_run=True)
            return
        progress = progress_printer(
            self,
            verb=self.verb,
            total=pending,
            batch_size=batch_size,
            verbosity=options["verbosity"],
        )
        done = self.apply(older_than=cutoff, batch_size=batch_size, progress=progress)
        self.stdout.write(self.style.SUCCESS(f"{self.verb.capitalize()} {done} {which}."))
        self._set_aside_report(older_than=cutoff, dry_run=False)
