#!/usr/bin/env python
"""What an incremental ``rollup_clicks`` costs, step by step, on a database bench/analytics.py filled.

    .venv/bin/python bench/rollup.py --database-url postgres://postgres@127.0.0.1:5432/NAME_large

Migrates the database, rolls it up in full when it has no rollups yet, runs one incremental run
to settle (after a migration that dropped the outcome summaries it builds them all again), then
times ``--runs`` incremental runs with nothing new, one after ``--trickle`` clicks of the last
minutes (dated after the instant today is rolled up until: the links a live system's next run
finds clicked; deleted again after it), one after ``--new-clicks`` person clicks were
added on random links over the last day and a half, and one after those clicks were deleted again
(the database ends as it started). Each run prints its wall time, how many applications it
summarised again and the time spent in each step (the functions of ``analytics.rollups`` and of
the outcome summaries it calls, timed around each call), and the script ends with one line:

    RESULT rollup clicks=<n> applications=<n> idle_s=<median> trickle_s=<s> new_s=<s> new_apps=<n> removed_s=<s> removed_apps=<n>

The database is the caller's: no name is assumed, and nothing but those clicks is written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import random
import statistics
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import processes  # needs the project root on sys.path (above)

# The steps timed, as (module, function): those a version of the code lacks are left out.
STEPS = [
    ("analytics.rollups", "_mismatched_days"),
    ("analytics.rollups", "_build_range"),
    ("analytics.session_sketches", "rebuild"),  # within _build_range
    ("analytics.rollup_months", "build_sessions"),
    ("analytics.rollup_months", "build_clicks"),
    ("analytics.rollups", "_summarise_outcomes"),
    ("analytics.outcome_click_days", "changed"),
    ("analytics.outcome_click_days", "record"),
    ("analytics.outcome_summaries", "applications_with_clicks"),
    ("analytics.outcome_summaries", "applications_opening"),
    ("analytics.outcome_summaries", "staleness"),
    ("analytics.outcome_summaries", "refresh"),
    ("analytics.outcome_extend", "extendable"),
    ("analytics.outcome_extend", "extend"),
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a postgres:// URL")
    parser.add_argument("--runs", type=int, default=3, help="runs with nothing new (3)")
    parser.add_argument("--new-clicks", type=int, default=1000, help="person clicks added (1000)")
    parser.add_argument(
        "--trickle",
        type=int,
        default=400,
        help="clicks of the last minutes added before a run (400: five minutes at ten million "
        "clicks in 90 days)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if urlsplit(args.database_url).scheme not in {"postgres", "postgresql"}:
        parser.error("give a postgres:// --database-url")
    return args


def configure(url: str) -> None:
    import os

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.pop("REDIS_URL", None)
    os.environ["CLICK_MODE"] = "direct"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linktrack.settings")
    import django

    django.setup()


def instrument() -> dict[str, float]:
    """Wrap each step so that its time adds up in the returned dict (reset by the caller)."""
    import importlib

    spent: dict[str, float] = defaultdict(float)
    for module_name, name in STEPS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        original = getattr(module, name, None)
        if original is None:
            continue

        def timed(*args: Any, _f: Callable[..., Any] = original, _n: str = name, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return _f(*args, **kw)
            finally:
                spent[_n] += time.perf_counter() - started

        setattr(module, name, functools.wraps(original)(timed))
    return spent


def one_run(label: str, spent: dict[str, float]) -> tuple[float, int]:
    from analytics import rollups

    spent.clear()
    started = time.perf_counter()
    result = rollups.run()
    seconds = time.perf_counter() - started
    steps = ", ".join(f"{name} {value:.2f}" for name, value in spent.items())
    kind = "full" if result.full_rebuild else "incremental"
    print(
        f"  {label}: {seconds:.2f} s ({kind}, {result.outcome_applications} application(s) "
        f"summarised, {len(result.rebuilt_days)} day(s)) [{steps}]",
        flush=True,
    )
    return seconds, result.outcome_applications


def add_clicks(rng: random.Random, count: int) -> list[uuid.UUID]:
    """``count`` person clicks on random links, between 36 hours and 10 minutes ago."""
    from django.utils import timezone

    from tracking.models import LinkClick, TrackedLink

    links = list(TrackedLink.objects.filter(application__isnull=False).values_list("pk", flat=True))
    now = timezone.now()
    clicks = [
        LinkClick(
            click_id=uuid.uuid4(),
            tracking_id=rng.choice(links),
            clicked_at=now - dt.timedelta(seconds=rng.uniform(600, 36 * 3600)),
            click_source="email",
            classification="human",
            classification_reasons=[],
            user_agent="Mozilla/5.0 (bench)",
            metadata={},
        )
        for _ in range(count)
    ]
    LinkClick.objects.bulk_create(clicks, batch_size=1000)
    return [click.click_id for click in clicks]


def add_trickle(rng: random.Random, count: int) -> list[uuid.UUID]:
    """``count`` clicks on random links, dated after the instant the rollups hold today until and
    before the next run's (the lag ago): what a live system stores between two runs."""
    from django.conf import settings
    from django.utils import timezone

    from analytics.models import RollupState
    from tracking.models import LinkClick, TrackedLink

    state = RollupState.objects.get(pk=1)
    assert state.partial_until is not None, "today is not rolled up yet"
    latest = timezone.now() - dt.timedelta(seconds=settings.ANALYTICS_ROLLUP_LAG_SECONDS + 1)
    span = (latest - state.partial_until).total_seconds()
    links = list(TrackedLink.objects.values_list("pk", flat=True))
    clicks = [
        LinkClick(
            click_id=uuid.uuid4(),
            tracking_id=rng.choice(links),
            clicked_at=state.partial_until + dt.timedelta(seconds=rng.uniform(0, span)),
            click_source="email",
            classification=rng.choice(["human", "human", "human", "scanner", "preview"]),
            classification_reasons=[],
            session_id=f"trickle-{rng.randrange(count)}",
            user_agent="Mozilla/5.0 (bench)",
            metadata={},
        )
        for _ in range(count)
    ]
    LinkClick.objects.bulk_create(clicks, batch_size=1000)
    return [click.click_id for click in clicks]


def main() -> None:
    args = parse_args()
    processes.require_postgres(args.database_url)
    configure(args.database_url)
    from django.core.management import call_command

    from analytics.models import RollupState
    from tracking.models import JobApplication, LinkClick

    call_command("migrate", verbosity=0)
    clicks, applications = LinkClick.objects.count(), JobApplication.objects.count()
    print(f"{clicks:,} clicks, {applications:,} applications")
    spent = instrument()
    if not RollupState.objects.exists():
        one_run("first run", spent)
    one_run("settling run", spent)
    idle = [one_run(f"nothing new ({n + 1})", spent)[0] for n in range(args.runs)]
    # Other links at each invocation: the trickle is dated minutes back (into the span the next
    # run rolls up), and the same links would find the applications the last invocation's
    # cleanup summarised seconds ago, after those dates, as if every click had been stored late.
    trickle_seed = args.seed + 1 + int(time.time())
    print(f"  the trickle's links are drawn with seed {trickle_seed}")
    trickled = add_trickle(random.Random(trickle_seed), args.trickle)
    trickle_s, _ = one_run(f"{len(trickled):,} clicks of the last minutes", spent)
    LinkClick.objects.filter(pk__in=trickled).delete()
    one_run("those clicks deleted", spent)
    added = add_clicks(random.Random(args.seed), args.new_clicks)
    new_s, new_apps = one_run(f"{len(added):,} new person clicks", spent)
    LinkClick.objects.filter(pk__in=added).delete()
    removed_s, removed_apps = one_run("those clicks deleted", spent)
    print(
        f"RESULT rollup clicks={clicks} applications={applications} "
        f"idle_s={statistics.median(idle):.2f} trickle_s={trickle_s:.2f} "
        f"new_s={new_s:.2f} new_apps={new_apps} "
        f"removed_s={removed_s:.2f} removed_apps={removed_apps}"
    )


if __name__ == "__main__":
    main()
