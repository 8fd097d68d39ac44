"""The right to erasure: delete every click (and optionally link) tied to a person or a job."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracking import services
from tracking.clicks import setaside
from tracking.management.batching import add_batch_arguments, checked_batch_size, progress_printer


class Command(BaseCommand):
    help = (
        "Erase the clicks tied to a job, an application, an IP address or a session (any of "
        "them; several options add up), and with --include-links the job's or application's "
        "links too. Prints the counts. Jobs and applications themselves are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--job", metavar="UUID", help="A job's id: clicks on its links.")
        parser.add_argument(
            "--application", metavar="UUID", help="An application's id: clicks on its links."
        )
        parser.add_argument("--ip", metavar="ADDRESS", help="Clicks from this IP address.")
        parser.add_argument("--session", metavar="ID", help="Clicks of this session id.")
        parser.add_argument(
            "--include-links",
            action="store_true",
            help="Also delete the links of --job / --application.",
        )
        add_batch_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = checked_batch_size(options["batch_size"])
        try:
            request = services.ErasureRequest.parse(
                job_id=options["job"],
                application_id=options["application"],
                ip_address=options["ip"],
                session_id=options["session"],
                include_links=options["include_links"],
            )
        except services.ValidationFailed as exc:
            option = {
                "job_id": "--job",
                "application_id": "--application",
                "ip_address": "--ip",
                "session_id": "--session",
                "include_links": "--include-links",
            }.get(exc.field or "", "")
            raise CommandError(f"{option}: {exc.message}" if option else exc.message) from None

        planned = services.count_erasure(request)
        if options["dry_run"]:
            self.stdout.write(
                f"Would delete {planned.clicks} clicks and {planned.links} links. Nothing changed."
            )
            self._erase_set_aside(request, dry_run=True)
            return
        # Before the links go: the set-aside clicks of a job or application are found by them.
        self._erase_set_aside(request, dry_run=False)
        reports: list[str] = []
        done = services.erase_personal_data(
            request,
            batch_size=batch_size,
            progress=progress_printer(
                self,
                verb="deleted clicks",
                total=planned.clicks,
                batch_size=batch_size,
                verbosity=options["verbosity"],
            ),
            # Apps keeping copies of the erased clicks (the analytics rollups) say what they
            # brought up to date; printed after the deletion's own line.
            report=reports.append,
        )
        self.stdout.write(
            self.style.SUCCESS(f"Deleted {done.clicks} clicks and {done.links} links.")
        )
        for line in reports:
            self.stdout.write(self.style.SUCCESS(line))

    def _erase_set_aside(self, request: services.ErasureRequest, *, dry_run: bool) -> None:
        """The clicks the pipeline set aside (dead-letter stream, rejected spool lines)."""
        try:
            counts = setaside.erase(request, dry_run=dry_run)
        except setaside.SetAsideUnavailable as exc:
            self.stderr.write(f"Set-aside clicks not erased: {exc}")
            return
        line = counts.summary(dry_run=dry_run)
        if line:
            self.stdout.write(line)
