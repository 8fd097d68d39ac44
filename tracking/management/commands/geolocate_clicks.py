"""Fill country, region, city and network for stored clicks that still have their IP."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracking import geo
from tracking.management.batching import checked_batch_size, progress_printer
from tracking.services.clicks import clicks_to_geolocate, geolocate_clicks


def _since(value: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since must be a date (YYYY-MM-DD), got {value!r}.") from None
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


class Command(BaseCommand):
    help = (
        "Look up country, region, city and network (GEOIP_CITY_PATH, GEOIP_ASN_PATH) for stored "
        "clicks that still hold their IP address and have no geo fields yet. Idempotent; runs in "
        "batches. Anonymized clicks have no IP left and are passed over."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since", type=_since, default=None, help="Only clicks made on or after this UTC day."
        )
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Clicks per batch (default 1000)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Print how many clicks would be looked up."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        city, asn, _demo = geo.configured_paths()
        if city is None and asn is None:
            raise CommandError(
                "No geodata configured: set GEOIP_CITY_PATH and/or GEOIP_ASN_PATH (docs/geo.md)."
            )
        batch_size = checked_batch_size(options["batch_size"])
        pending = clicks_to_geolocate(since=options["since"]).count()
        if options["dry_run"]:
            self.stdout.write(f"Would look up {pending} clicks.")
            return
        progress = progress_printer(
            self,
            verb="looked up",
            total=pending,
            batch_size=batch_size,
            verbosity=options["verbosity"],
        )
        located = geolocate_clicks(
            since=options["since"],
            batch_size=batch_size,
            progress=progress,
            report=self.stdout.write,
        )
        self.stdout.write(
            self.style.SUCCESS(f"Located {located} of {pending} clicks with an IP and no place.")
        )
