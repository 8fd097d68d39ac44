"""Bring the daily click rollups up to date (run it every few minutes, e.g. from cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from analytics import rollups
from tracking.management.batching import checked_days


class Command(BaseCommand):
    help = (
        "Roll up clicks into daily per-link totals for the dashboard: rolls today up to "
        "ANALYTICS_ROLLUP_LAG_SECONDS ago (the links clicked since the last run, or the whole "
        "day when clicks of it changed), rebuilds any earlier day whose raw clicks changed, and "
        "everything after a TIME_ZONE change. "
        "Idempotent; safe to run as often as you like."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--refresh-days",
            type=int,
            default=0,
            help="Always rebuild this many days before today, even when their totals match the "
            "raw clicks (default 0: only days whose totals changed, and today's rolled part).",
        )
        parser.add_argument("--rebuild", action="store_true", help="Rebuild every day.")
        parser.add_argument(
            "--no-verify",
            action="store_true",
            help="Skip comparing older days with the raw clicks (faster on huge tables).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        checked_days(options["refresh_days"], field="--refresh-days", minimum=0)
        verbose = options["verbosity"] > 1
        result = rollups.run(
            refresh_days=options["refresh_days"],
            rebuild=options["rebuild"],
            verify=not options["no_verify"],
            progress=self.stdout.write if verbose else None,
        )
        self.stdout.write(self.style.SUCCESS(result.summary()))
