from __future__ import annotations

import os
import signal
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tracking import classify
from tracking.clicks.writer import (
    PAUSE_STAGES,
    ClickWriter,
    default_consumer_name,
    settle_garbage_collector,
)
from tracking.management.batching import checked_batch_size


class Command(BaseCommand):
    help = (
        "Write buffered clicks: read the Redis click stream with a consumer group, store the "
        "clicks in batches (idempotently), acknowledge them after commit, take over clicks a dead "
        "writer left pending, trim the stream, and replay the local spool. Several writers may "
        "run at once under different consumer names. SIGTERM or Ctrl-C finishes the current batch "
        "and exits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--consumer",
            default=default_consumer_name(),
            help="Consumer name in the writers' group (default: host-pid).",
        )
        parser.add_argument(
            "--batch-size", type=int, default=None, help="Clicks per INSERT (default: setting)."
        )
        parser.add_argument(
            "--claim-idle-ms",
            type=int,
            default=None,
            help="Take over entries another writer left unacknowledged this long.",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--once", action="store_true", help="Write one batch, then exit.")
        mode.add_argument(
            "--drain",
            action="store_true",
            help="Exit once the stream and the spool hold no unwritten click.",
        )
        parser.add_argument(
            "--nice",
            type=int,
            default=0,
            help="Lower the writer's CPU priority by this much (os.nice): on a busy host the web "
            "workers come first and the writer catches up in the gaps (watch /track/health).",
        )
        parser.add_argument(
            "--read-ahead",
            action="store_true",
            help="Read and prepare (decode, classify, locate) the next batch on a thread while the "
            "database stores the current one: for a host with a core to spare (on a busy one it "
            "only competes with the database for the CPU).",
        )
        parser.add_argument(
            "--pause-at",
            choices=PAUSE_STAGES,
            help="Fault drills: stop inside the first batch at this stage until killed.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["nice"]:
            os.nice(options["nice"])

        def report(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        if options["batch_size"] is not None:
            checked_batch_size(options["batch_size"])
        if options["claim_idle_ms"] is not None and options["claim_idle_ms"] < 1:
            raise CommandError("--claim-idle-ms must be at least 1.")
        writer = ClickWriter(
            consumer=options["consumer"],
            batch_size=options["batch_size"],
            claim_idle_ms=options["claim_idle_ms"],
            pause_at=options["pause_at"],
            report=report,
            read_ahead=options["read_ahead"],
        )

        def stop(signum: int, _frame: FrameType | None) -> None:
            if writer.stopping:
                raise KeyboardInterrupt  # a second signal: stop now, the batch stays pending
            report(f"{signal.Signals(signum).name}: finishing the current batch")
            writer.stopping = True

        signal.signal(signal.SIGTERM, stop)
        # Started in the background of a script (make run), SIGINT is ignored on purpose: the
        # script stops the writer with SIGTERM once the web server has exited.
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, stop)
        if not options["once"]:  # one batch has nothing to tune (and may run in a caller's process)
            classify.warm_up()  # the agent rules loaded before the collector freezes the set-up
            settle_garbage_collector()
        writer.run(once=options["once"], drain=options["drain"])
