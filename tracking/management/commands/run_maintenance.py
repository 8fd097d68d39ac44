"""The periodic jobs in one command, for cron or a systemd timer."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection


class Command(BaseCommand):
    help = (
        "Run the periodic privacy jobs in order: anonymize_clicks, purge_clicks (the analytics "
        "rollups follow the clicks they change), then ANALYZE on PostgreSQL. Safe to run as "
        "often as you like."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would change and change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        verbosity: int = options["verbosity"]
        common = {"stdout": self.stdout, "stderr": self.stderr, "verbosity": verbosity}

        # Apps keeping copies of clicks (the analytics rollups, with their session ids) bring
        # them up to date when these send tracking.signals.clicks_anonymized / clicks_removed.
        self.stdout.write("anonymize_clicks")
        call_command("anonymize_clicks", dry_run=dry_run, **common)

        self.stdout.write("purge_clicks")
        call_command("purge_clicks", dry_run=dry_run, **common)

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
        self.stdout.write(
            self.style.SUCCESS("Maintenance done." if not dry_run else "Dry run done.")
        )
