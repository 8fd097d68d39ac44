#!/usr/bin/env python
"""Analytics latency on PostgreSQL at a small and a large click count.

Generates 50 jobs, 100 applications and 200 links, then clicks spread over the last 90 days
(COPY in batches, with progress): first ``--small`` clicks (default 100,000), then up to
``--clicks`` (default 1,000,000). At each size it runs ``rollup_clicks``, vacuums and analyzes the
tables, and times every dashboard JSON endpoint, the dashboard pages and each analytics API
endpoint (median of ``--runs`` rounds, default 5, each round timing every endpoint once, after one
warm-up; caching off), then prints a table with the growth ratio large/small.

    .venv/bin/python bench/analytics.py --clicks 1000000

The database (``--database-url``, default a dedicated ``linktrack_bench_h5``) is created if missing
and its linktrack tables are emptied first. The API endpoints are timed over HTTP when the API
routes are installed, otherwise the query functions they call are timed directly (said so in the
table).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/linktrack_bench_h5"
JOBS, APPLICATIONS_PER_JOB, LINKS_PER_APPLICATION, DAYS = 50, 2, 2, 90
SESSIONS_PER_APPLICATION = 30
FUNCTIONS = ["LinkedIn", "Calendly", "Portfolio", "GitHub", "Resume", "Job_Posting"]
SOURCES = [("email", 50), ("linkedin", 20), ("direct", 15), ("external", 10), (None, 5)]
CLASSES = [("human", 70), (None, 5), ("scanner", 10), ("preview", 8), ("bot", 7)]
DEVICES = [("desktop", "Chrome", "Windows"), ("desktop", "Safari", "Mac OS X"),
           ("mobile", "Mobile Safari", "iOS"), ("mobile", "Chrome Mobile", "Android"),
           ("desktop", "Firefox", "Linux"), ("tablet", "Mobile Safari", "iOS")]  # fmt: skip
COPY_COLUMNS = (
    "click_id, tracking_id, clicked_at, ip_address, user_agent, referrer_url, session_id, "
    "click_source, metadata, classification, classification_reasons, http_method, device_type, "
    "browser, os"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=1_000_000, help="large size (1,000,000)")
    parser.add_argument("--small", type=int, default=100_000, help="small size (100,000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per endpoint (5)")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    if not 0 < args.small < args.clicks:
        parser.error("need 0 < --small < --clicks")
    if urlsplit(args.database_url).scheme not in {"postgres", "postgresql"}:
        parser.error("the benchmark runs on PostgreSQL: give a postgres:// --database-url")
    return args


def ensure_database(url: str) -> None:
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username,
        password=parts.password, dbname="postgres",
    )  # fmt: skip
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
    admin.close()


def configure(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    os.environ["ANALYTICS_CACHE_SECONDS"] = "0"  # time the work, not the cache
    os.environ["ANALYTICS_RATE_LIMIT"] = "1000000/m"
    os.environ.pop("REDIS_URL", None)
    os.environ["CLICK_MODE"] = "direct"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linktrack.settings")
    import django

    django.setup()


def weighted(rng: random.Random, choices: list[tuple[Any, int]]) -> Any:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def create_links(rng: random.Random) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection

    from tracking import services
    from tracking.models import Job, JobApplication

    call_command("migrate", verbosity=0)
    from analytics.models import RollupState
    from analytics.rollups import ROLLUP_MODELS

    tables = ["link_clicks", "link_tracking", "job_applications", "jobs"]
    models: list[Any] = [*ROLLUP_MODELS, RollupState]
    tables += [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")
    links: list[tuple[str, uuid.UUID]] = []
    jobs = []
    for j in range(JOBS):
        job = Job.objects.create(title=f"Role {j}", company_name=f"Company {j}")
        jobs.append(job)
        for _ in range(APPLICATIONS_PER_JOB):
            application = JobApplication.objects.create(job=job, status="submitted")
            for function in rng.sample(FUNCTIONS, LINKS_PER_APPLICATION):
                link = services.create_tracked_link(
                    original_url=f"https://{function.lower().replace('_', '-')}.example.com/{j}",
                    link_function=function,
                    link_type="profile",
                    job_id=job.id,
                    application_id=application.id,
                )
                links.append((link["tracking_id"], application.id))
    return {"links": links, "jobs": jobs}


def copy_clicks(rng: random.Random, links: list[tuple[str, uuid.UUID]], count: int) -> None:
    """COPY ``count`` clicks spread over the last 90 days, in batches of 100,000."""
    from django.db import connection

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    span = DAYS * 86400
    done = 0
    started = time.perf_counter()
    while done < count:
        batch = min(100_000, count - done)
        buffer = io.StringIO()
        for _ in range(batch):
            tracking_id, application_id = rng.choice(links)
            classification = weighted(rng, CLASSES)
            human = classification in (None, "human")
            session = (
                f"s-{application_id.hex[:8]}-{rng.randrange(SESSIONS_PER_APPLICATION)}"
                if human and rng.random() < 0.95
                else None
            )
            device, browser, os_name = rng.choice(DEVICES) if human else (None, None, None)
            when = now - dt.timedelta(seconds=rng.random() * span)
            reasons = "[]" if human else f'["{classification} signal"]'
            row = [
                str(uuid.uuid4()), tracking_id, when.isoformat(sep=" "),
                f"198.51.100.{rng.randrange(1, 255)}", "Mozilla/5.0 (bench)",
                "https://mail.google.com/", session, weighted(rng, SOURCES), "{}",
                classification, reasons, "HEAD" if classification == "scanner" else "GET",
                device, browser, os_name,
            ]  # fmt: skip
            buffer.write("\t".join(r"\N" if v is None else v for v in row) + "\n")
        buffer.seek(0)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(f"COPY link_clicks ({COPY_COLUMNS}) FROM STDIN", buffer)
        done += batch
        rate = done / (time.perf_counter() - started)
        print(f"  copied {done:>9,} / {count:,} clicks ({rate:,.0f}/s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE link_clicks")


def analyze_tables() -> None:
    """Vacuumed tables with fresh statistics, as autovacuum keeps them on a running system.

    Without this, whether autovacuum happened to come by between two sizes (or runs during the
    timings) decides the plans and the figures, and the ratios measure that, not the queries.
    """
    from django.db import connection

    from analytics.models import RollupState
    from analytics.rollups import ROLLUP_MODELS

    models: list[Any] = [*ROLLUP_MODELS, RollupState]
    tables = ["link_clicks", "link_tracking", "job_applications", "jobs"]
    tables += [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
        # Write the loaded pages out now rather than in a checkpoint during the timings.
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone() == (True,):
            cursor.execute("CHECKPOINT")


def medians_ms(calls: list[tuple[str, Callable[[], Any]]], runs: int) -> dict[str, float]:
    """Median time of each call over ``runs`` rounds, after one warm-up call each.

    Each round times every endpoint once, so a passing disturbance on the machine (a background
    writer, another process) touches one sample of several endpoints rather than all the samples
    of one.
    """
    for _name, call in calls:
        call()  # warm-up: plans, connections, imports
    timings: dict[str, list[float]] = {name: [] for name, _ in calls}
    for round_ in range(runs):
        for name, call in calls:
            started = time.perf_counter()
            call()
            timings[name].append((time.perf_counter() - started) * 1000)
        print(f"  timing round {round_ + 1} of {runs} done", flush=True)
    return {name: statistics.median(values) for name, values in timings.items()}


def endpoints(fixture: dict[str, Any]) -> list[tuple[str, Callable[[], Any]]]:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    from analytics import queries

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True})
    client = Client()
    client.force_login(user)
    job = fixture["jobs"][0]
    tracking_id, application_id = fixture["links"][0]
    period = "days=30"

    def get(url: str) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
            return response.content

        return call

    rows: list[tuple[str, Callable[[], Any]]] = []
    for name in ["daily", "functions", "sources", "devices", "classifications", "hour-of-week"]:
        rows.append(
            (f"dashboard json {name}", get(f"{reverse(f'analytics:chart-{name}')}?{period}"))
        )
    rows += [
        ("dashboard json daily (job)", get(f"{reverse('analytics:chart-daily')}?{period}&job={job.id}")),
        ("dashboard json sources (link)", get(f"{reverse('analytics:chart-sources')}?{period}&link={tracking_id}")),
        ("dashboard json functions (application)", get(f"{reverse('analytics:chart-functions')}?{period}&application={application_id}")),
        ("page overview", get(f"{reverse('analytics:overview')}?{period}")),
        ("page job", get(f"{reverse('analytics:job-detail', args=[job.id])}?{period}")),
        ("page link", get(f"{reverse('analytics:link-detail', args=[tracking_id])}?{period}")),
        ("page application", get(f"{reverse('analytics:application-detail', args=[application_id])}?{period}")),
    ]  # fmt: skip
    try:
        api = [
            ("api link analytics", reverse("api:link-analytics", args=[tracking_id])),
            ("api job summary", reverse("api:job-summary", args=[str(job.id)])),
            ("api performance report", reverse("api:report") + "?days=30"),
        ]
        rows += [(name, get(url)) for name, url in api]
    except NoReverseMatch:
        rows += [
            ("api link analytics (function)", lambda: queries.link_analytics(tracking_id)),
            ("api job summary (function)", lambda: queries.job_link_summary(job.id)),
            ("api performance report (function)", lambda: queries.performance_report(days=30)),
        ]
    return rows


def main() -> None:
    args = parse_args()
    ensure_database(args.database_url)
    configure(args)
    from django.core.management import call_command
    from django.test import override_settings

    rng = random.Random(args.seed)
    fixture = create_links(rng)
    print(f"{JOBS} jobs, {JOBS * APPLICATIONS_PER_JOB} applications, {len(fixture['links'])} links")
    results: dict[str, dict[int, float]] = {}
    total = 0
    plain_static = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    for size in (args.small, args.clicks):
        print(f"generating clicks up to {size:,}")
        copy_clicks(rng, fixture["links"], size - total)
        total = size
        started = time.perf_counter()
        call_command("rollup_clicks", verbosity=0)
        print(f"  rollup_clicks: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        call_command("rollup_clicks", verbosity=0)
        print(f"  rollup_clicks again (incremental): {time.perf_counter() - started:.1f} s")
        analyze_tables()
        with override_settings(STORAGES=plain_static):
            for name, median in medians_ms(endpoints(fixture), args.runs).items():
                results.setdefault(name, {})[size] = median
                print(f"  {name:<42} {median:8.1f} ms", flush=True)

    small, large = args.small, args.clicks
    print()
    print(f"median of {args.runs} runs, PostgreSQL, caching off")
    print(f"| endpoint | {small:,} clicks (ms) | {large:,} clicks (ms) | growth |")
    print("|---|---:|---:|---:|")
    for name, timings in results.items():
        ratio = timings[large] / timings[small] if timings[small] else float("inf")
        print(f"| {name} | {timings[small]:.1f} | {timings[large]:.1f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
