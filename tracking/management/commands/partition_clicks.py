"""Opt-in monthly partitioning of link_clicks on PostgreSQL (see tracking.partitions)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracking import partitions


class Command(BaseCommand):
    help = (
        "PostgreSQL only, opt-in: --convert rebuilds link_clicks as a table partitioned by month "
        "of clicked_at (primary key (click_id, clicked_at); data, seed index names, foreign key, "
        "views and grants kept) in one transaction; --ensure-future N creates the partitions of "
        "this month and the N next ones (run_maintenance does it too). Without an option it lists "
        "the partitions. Once partitioned, purge_clicks drops whole months past the retention. "
        "See docs/scaling.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        action = parser.add_mutually_exclusive_group()
        action.add_argument(
            "--convert", action="store_true", help="Convert link_clicks to monthly partitions."
        )
        action.add_argument(
            "--ensure-future",
            type=int,
            metavar="N",
            help="Create the partitions of this month and the next N months where missing.",
        )
        parser.add_argument(
            "--months-ahead",
            type=int,
            default=3,
            help="With --convert: future months to create besides those holding clicks (3).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        months_ahead = options["ensure_future"]
        if months_ahead is None:
            months_ahead = options["months_ahead"]
        if not 0 <= months_ahead <= 120:
            raise CommandError("The number of future months must be between 0 and 120.")
        try:
            if options["convert"]:
                result = partitions.convert(months_ahead=months_ahead, report=self.stdout.write)
                self.stdout.write(
                    self.style.SUCCESS(
                        f"link_clicks is partitioned by month: {result.rows} clicks in "
                        f"{len(result.partitions)} partitions."
                    )
                )
            elif options["ensure_future"] is not None:
                created = partitions.ensure_future(months_ahead)
                self.stdout.write(
                    f"Created {', '.join(created)}." if created else "Every partition exists."
                )
            else:
                self._list()
        except partitions.PartitioningError as exc:
            raise CommandError(str(exc)) from None

    def _list(self) -> None:
        partitions.require_postgresql()
        if not partitions.is_partitioned():
            self.stdout.write(
                "link_clicks is one table (the seed's schema); --convert partitions it."
            )
            return
        for partition in partitions.partitions():
            span = (
                f"{partition.start:%Y-%m-%d} to {partition.end:%Y-%m-%d}"
                if partition.start and partition.end
                else "default (clicks outside every month)"
            )
            self.stdout.write(f"{partition.name}: {span}")
