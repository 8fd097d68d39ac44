"""Benchmark the privacy maintenance: anonymize and purge throughput and per-batch duration.

Needs an empty scratch database (it anonymizes and deletes every old click in it):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/linktrack_scratch SECRET_KEY=x \\
        .venv/bin/python bench/maintenance.py --clicks 200000

The longest batch is the longest time any click row stays locked by the maintenance; the redirect's
INSERTs never wait on these locks (they touch new rows), but an analytics UPDATE would.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linktrack.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench import processes  # noqa: E402
from tracking import services  # noqa: E402
from tracking.models import LinkClick, TrackedLink  # noqa: E402


def fill(total: int) -> str:
    link = services.create_tracked_link(
        original_url="https://linkedin.com/in/steve-glen",
        link_function="LinkedIn",
        link_type="profile",
    )
    now = timezone.now()
    batch: list[LinkClick] = []
    for i in range(total):
        # Spread evenly over three years: a third past click retention, most past IP retention.
        age = dt.timedelta(days=3 * 365 * i / total)
        click = services.build_click(
            tracking_id=link["tracking_id"],
            clicked_at=now - age,
            ip_address=f"10.{i % 250}.{(i // 250) % 250}.{i % 200 + 1}",
            user_agent="Mozilla/5.0 (bench)",
            session_id=f"sess_{i % 5000}",
        )
        click.visitor_hash = f"{i:064x}"
        batch.append(click)
        if len(batch) == 5000:
            services.insert_clicks(batch)
            batch = []
    services.insert_clicks(batch)
    return str(link["tracking_id"])


def timed(label: str, run: Callable[[services.ProgressCallback], int]) -> None:
    stamps: list[float] = []
    started = time.perf_counter()
    done = run(lambda _done: stamps.append(time.perf_counter()))
    elapsed = time.perf_counter() - started
    gaps = [b - a for a, b in zip([started, *stamps], stamps, strict=False)]
    longest = max(gaps) if gaps else 0.0
    rate = done / elapsed if elapsed else 0.0
    print(
        f"{label}: {done} rows in {elapsed:.2f} s ({rate:,.0f} rows/s), {len(stamps)} batches, "
        f"longest batch {longest * 1000:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=services.PRIVACY_BATCH_SIZE)
    args = parser.parse_args()
    if connection.vendor == "postgresql":
        processes.require_postgres(settings.DATABASE_URL)
    call_command("migrate", verbosity=0)
    if LinkClick.objects.exists():
        sys.exit("bench/maintenance.py needs an empty scratch database: link_clicks has rows.")
    print(f"{connection.vendor}, {args.clicks} clicks over three years, batch {args.batch_size}")
    tracking_id = fill(args.clicks)
    try:
        ip_cutoff = services.retention_cutoff(days=90)
        click_cutoff = services.retention_cutoff(days=730)
        timed(
            "anonymize_clicks",
            lambda progress: services.anonymize_clicks(
                older_than=ip_cutoff, batch_size=args.batch_size, progress=progress
            ),
        )
        timed(
            "anonymize_clicks, second run",
            lambda progress: services.anonymize_clicks(
                older_than=ip_cutoff, batch_size=args.batch_size, progress=progress
            ),
        )
        timed(
            "purge_clicks",
            lambda progress: services.purge_clicks(
                older_than=click_cutoff, batch_size=args.batch_size, progress=progress
            ),
        )
    finally:
        TrackedLink.objects.filter(pk=tracking_id).delete()


if __name__ == "__main__":
    main()
