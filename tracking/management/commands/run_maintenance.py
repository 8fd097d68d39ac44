"""The periodic jobs in one command, for cron or a systemd timer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from tracking import health, partitions
from tracking.clicks.unclassified import classify_unclassified
from tracking.models import LinkClick

# With link_clicks partitioned by month: how far ahead the monthly partitions are kept ready.
FUTURE_MONTHS = 3


class Command(BaseCommand):
    help = (
        "Run the periodic jobs in order: classify clicks stored by plain SQL without a "
        "classification (a bounded batch, UNCLASSIFIED_PASS_LIMIT), anonymize_clicks, "
        "purge_clicks (the analytics rollups follow the clicks they change; a partitioned "
        "link_clicks loses whole months), the next months' partitions where link_clicks is "
        "partitioned, then ANALYZE on PostgreSQL; warn about clicks and links dated in the future "
        "(written in local time). Safe to run as often as you like."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change and change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        verbosity: int = options["verbosity"]
        common = {"stdout": self.stdout, "stderr": self.stderr, "verbosity": verbosity}

        # Before anonymization: the classifier reads the address (scanner networks, geodata).
        self.stdout.write("classify unclassified clicks")
        waiting = LinkClick.objects.filter(classification__isnull=True).count()
        if dry_run:
            self.stdout.write(
                f"Would classify {min(waiting, settings.UNCLASSIFIED_PASS_LIMIT)} "
                f"of {waiting} clicks stored without a classification."
            )
        else:
            classified = classify_unclassified(report=self.stdout.write)
            self.stdout.write(
                f"Classified {classified} of {waiting} clicks stored without a classification."
            )

        # Apps keeping copies of clicks (the analytics rollups, with their session ids) bring
        # them up to date when these send tracking.signals.clicks_anonymized / clicks_removed.
        self.stdout.write("anonymize_clicks")
        call_command("anonymize_clicks", dry_run=dry_run, **common)

        self.stdout.write("purge_clicks")
        call_command("purge_clicks", dry_run=dry_run, **common)

        if partitions.is_partitioned():
            # Months ahead exist before their first click, so none lands in the default partition.
            self.stdout.write("partitions")
            if dry_run:
                self.stdout.write(
                    f"Would create the missing partitions up to {FUTURE_MONTHS} months ahead."
                )
            else:
                created = partitions.ensure_future(FUTURE_MONTHS)
                self.stdout.write(f"Created {', '.join(created)}." if created else "All present.")

        if connection.vendor == "postgresql":
            # Fresh planner statistics after large updates and deletes (seed 000, "Regular
            # Maintenance"). The seed's REINDEX is left out on purpose: it blocks writes to the
            # table while it runs; use REINDEX ... CONCURRENTLY by hand if an index bloats.
            self.stdout.write("analyze")
            if dry_run:
                self.stdout.write("Would run ANALYZE on link_tracking and link_clicks.")
            else:
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE link_tracking")
                    cursor.execute("ANALYZE link_clicks")
        self._report_future_rows()
        self.stdout.write(
            self.style.SUCCESS("Maintenance done." if not dry_run else "Dry run done.")
        )

    def _report_future_rows(self) -> None:
        counts = health.future_rows()
        if counts["future_clicks"] or counts["future_links"]:
            self.stdout.write(
                self.style.WARNING(
                    f"{counts['future_clicks']} clicks and {counts['future_links']} links are "
                    f"dated more than {settings.CLICK_FUTURE_SKEW_SECONDS} s in the future: "
                    f"{health.FUTURE_ROWS_WARNING}."
                )
            )
