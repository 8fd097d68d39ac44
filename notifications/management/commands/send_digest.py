"""``manage.py send_digest``: e-mail the day's person clicks, per application."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from notifications.alerts import send_digest


class Command(BaseCommand):
    help = (
        "E-mail the digest of one day's person clicks, per application (default: yesterday, in "
        "TIME_ZONE). The worker sends yesterday's digest by itself when the digest is switched "
        "on; a day already sent is skipped unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="the day to summarise, YYYY-MM-DD (default: yesterday)")
        parser.add_argument("--force", action="store_true", help="send again a day already sent")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(f"--date must be YYYY-MM-DD, got {options['date']!r}") from None
        else:
            day = timezone.localdate() - dt.timedelta(days=1)
        count = send_digest(day=day, force=options["force"])
        if count is None:
            self.stdout.write(f"The digest of {day} was sent already (--force sends it again).")
        elif count == 0:
            self.stdout.write(f"No person clicks on {day}: nothing to send.")
        else:
            self.stdout.write(f"Digest of {day} sent: {count} application(s).")
