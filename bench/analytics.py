#!/usr/bin/env python
"""Analytics latency on PostgreSQL at a small and a large click count.

Generates 50 jobs, ``--applications`` applications (default 10,000, the outcomes page's target) with
two links each, then clicks spread over the last 90 days
(COPY in batches, with progress; 5 % of the last hour's clicks still unclassified, as if the
classification pass had stopped an hour ago, ``--unclassified-minutes``): ``--small`` clicks (default 100,000) in one database, which is
then copied and grown to ``--clicks`` (default 1,000,000) in a second one. Both run
``rollup_clicks`` and are vacuumed and analyzed. Each database is served by its own worker
process; every dashboard JSON endpoint, dashboard page and analytics API endpoint is timed
through Django's test client (caching off) in ``--runs`` rounds (default 5) after one warm-up,
each round timing every endpoint on both sizes back to back, in alternating order. The table
gives the median per endpoint and size and the growth ratio large/small.

Timing both sizes side by side, rather than one size after the other, keeps a change in the
machine's speed between the two (other processes, a noisy neighbour) out of the ratios.

    .venv/bin/python bench/analytics.py --clicks 1000000

The databases (``--database-url``, default a dedicated ``linktrack_bench_h5``, and the same name
with ``_large``) are created if missing; their linktrack tables are emptied first. The server is
checked before anything starts, and the worker processes are stopped however the run ends (an
error, Ctrl-C, SIGTERM). ``--reuse`` times the databases an earlier run left instead, when they
hold the sizes asked for (one incremental ``rollup_clicks`` first, timed).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import multiprocessing
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import processes  # needs the project root on sys.path (above)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/linktrack_bench_h5"
JOBS, LINKS_PER_APPLICATION, DAYS = 50, 2, 90
SESSIONS_PER_APPLICATION = 30
FUNCTIONS = ["LinkedIn", "Calendly", "Portfolio", "GitHub", "Resume", "Job_Posting"]
SOURCES = [("email", 50), ("linkedin", 20), ("direct", 15), ("external", 10), (None, 5)]
CLASSES = [("human", 70), (None, 5), ("scanner", 10), ("preview", 8), ("bot", 7)]
# A click older than the window has been judged by the classification pass (within a minute in
# production): it draws its class among the others.
JUDGED = [(c, w) for c, w in CLASSES if c is not None]
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
    parser.add_argument("--runs", type=int, default=5, help="timed rounds (5)")
    parser.add_argument(
        "--applications", type=int, default=10_000, help="applications, two links each (10,000)"
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--unclassified-minutes",
        type=int,
        default=60,
        help="how far back clicks may still be unclassified (60: the classification pass, which "
        "judges a click within a minute, stopped an hour ago; 129600 leaves 5 %% of all unjudged)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the databases an earlier run left, when they hold the sizes asked for",
    )
    args = parser.parse_args()
    if not 0 < args.small < args.clicks:
        parser.error("need 0 < --small < --clicks")
    if args.applications < JOBS:
        parser.error(f"need at least {JOBS} --applications")
    if urlsplit(args.database_url).scheme not in {"postgres", "postgresql"}:
        parser.error("the benchmark runs on PostgreSQL: give a postgres:// --database-url")
    return args


@contextlib.contextmanager
def server_cursor(url: str) -> Iterator[Any]:
    """An autocommit cursor on the ``postgres`` database of the server ``url`` points at."""
    import psycopg2

    parts = urlsplit(url)
    admin = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username,
        password=parts.password, dbname="postgres",
    )  # fmt: skip
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            yield cursor
    finally:
        admin.close()


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def ensure_database(url: str) -> None:
    from psycopg2 import sql

    name = database_name(url)
    with server_cursor(url) as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def configure() -> None:
    """Django on ``DATABASE_URL``, direct click mode, no analytics cache or rate limit."""
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


def create_links(rng: random.Random, applications: int) -> list[tuple[str, uuid.UUID]]:
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0)
    from analytics.models import OutcomeClickDay, OutcomeSummary, OutcomeValue, RollupState
    from analytics.rollups import ROLLUP_MODELS

    tables = ["link_clicks", "link_tracking", "application_status_history", "job_applications"]
    tables.append("jobs")
    models: list[Any] = [*ROLLUP_MODELS, RollupState, OutcomeSummary, OutcomeValue, OutcomeClickDay]
    tables += [model._meta.db_table for model in models]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
    links: list[tuple[str, uuid.UUID]] = []
    now = dt.datetime.now(dt.UTC)
    with transaction.atomic():  # one commit, not one per service call
        _create_applications(rng, applications, now, links)
    return links


def _create_applications(
    rng: random.Random, applications: int, now: dt.datetime, links: list[tuple[str, uuid.UUID]]
) -> None:
    from tracking import services
    from tracking.models import Job

    for j in range(JOBS):
        job = Job.objects.create(title=f"Role {j}", company_name=f"Company {j}")
        for _ in range(applications // JOBS + (j < applications % JOBS)):
            # Sent before the first click, so that every click counts for the outcomes; one in
            # three reaches an interview within the last 30 days (timed: the outcomes endpoints).
            sent = now - dt.timedelta(days=DAYS + 1)
            application = services.create_application(
                job_id=job.id, status="submitted", submitted_at=sent
            )
            if rng.random() < 1 / 3:
                services.change_application_status(
                    application_id=application.id,
                    status="interviewed",
                    changed_at=now - dt.timedelta(days=rng.uniform(1, 29)),
                )
            for function in rng.sample(FUNCTIONS, LINKS_PER_APPLICATION):
                link = services.create_tracked_link(
                    original_url=f"https://{function.lower().replace('_', '-')}.example.com/{j}",
                    link_function=function,
                    link_type="profile",
                    job_id=job.id,
                    application_id=application.id,
                )
                links.append((link["tracking_id"], application.id))


def copy_clicks(
    rng: random.Random, links: list[tuple[str, uuid.UUID]], count: int, unclassified_minutes: int
) -> None:
    """COPY ``count`` clicks spread evenly over the last 90 days, oldest first, in batches of
    100,000: the table then lies in time order, as the clicks production appends do (a day's
    clicks in a few neighbouring pages rather than all over the table). Only the clicks of the
    last ``unclassified_minutes`` may still be unclassified (5 % of them)."""
    from django.db import connection

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    span = DAYS * 86400
    judged_before = now - dt.timedelta(minutes=unclassified_minutes)
    done = 0
    started = time.perf_counter()
    while done < count:
        batch = min(100_000, count - done)
        buffer = io.StringIO()
        for index in range(done, done + batch):
            tracking_id, application_id = rng.choice(links)
            when = now - dt.timedelta(seconds=span * (1 - (index + rng.random()) / count))
            classification = weighted(rng, CLASSES if when >= judged_before else JUDGED)
            human = classification in (None, "human")
            session = (
                f"s-{application_id.hex[:8]}-{rng.randrange(SESSIONS_PER_APPLICATION)}"
                if human and rng.random() < 0.95
                else None
            )
            device, browser, os_name = rng.choice(DEVICES) if human else (None, None, None)
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

    from analytics.models import OutcomeClickDay, OutcomeSummary, OutcomeValue, RollupState
    from analytics.rollups import ROLLUP_MODELS

    models: list[Any] = [*ROLLUP_MODELS, RollupState, OutcomeSummary, OutcomeValue, OutcomeClickDay]
    tables = ["link_clicks", "link_tracking", "application_status_history", "job_applications"]
    tables += ["jobs", *(model._meta.db_table for model in models)]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(table)}")
        # Write the loaded pages out now rather than in a checkpoint during the timings.
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone() == (True,):
            cursor.execute("CHECKPOINT")


def endpoints() -> list[tuple[str, Callable[[], Any]]]:
    """The timed endpoints, on the first job, link and application (the same in both sizes)."""
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from tracking.models import TrackedLink

    # A superuser: the dashboard and the API follow the admin's model permissions.
    user, _ = User.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    link = TrackedLink.objects.order_by("created_at", "tracking_id").first()
    assert link is not None
    job_id, tracking_id, application_id = link.job_id, link.tracking_id, link.application_id
    period = "days=30"
    # The dashboard offers 7, 30, 90 days or a custom range; the API takes any day count.
    last = dt.date.today()
    outcome_range = f"days=custom&from={last - dt.timedelta(days=119)}&to={last}"

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
        ("dashboard json daily (job)", get(f"{reverse('analytics:chart-daily')}?{period}&job={job_id}")),
        ("dashboard json sources (link)", get(f"{reverse('analytics:chart-sources')}?{period}&link={tracking_id}")),
        ("dashboard json functions (application)", get(f"{reverse('analytics:chart-functions')}?{period}&application={application_id}")),
        ("page overview", get(f"{reverse('analytics:overview')}?{period}")),
        ("page job", get(f"{reverse('analytics:job-detail', args=[job_id])}?{period}")),
        ("page link", get(f"{reverse('analytics:link-detail', args=[tracking_id])}?{period}")),
        ("page application", get(f"{reverse('analytics:application-detail', args=[application_id])}?{period}")),
        ("api link analytics", get(reverse("api:link-analytics", args=[tracking_id]))),
        ("api job summary", get(reverse("api:job-summary", args=[str(job_id)]))),
        ("api performance report", get(reverse("api:report") + "?days=30")),
        # 120 days: the applications were sent 91 days ago, before every click.
        ("page outcomes", get(f"{reverse('analytics:outcomes')}?{outcome_range}&model=time_decay")),
        ("api outcomes", get(reverse("api:outcomes") + "?days=120&model=position_based")),
    ]  # fmt: skip
    return rows


# --- One worker process per database ---------------------------------------------------------


def serve(url: str, channel: Connection) -> None:
    """A worker: Django on the database at ``url``, answering the parent's requests in turn."""
    os.environ["DATABASE_URL"] = url
    configure()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings

    from tracking.models import TrackedLink

    calls: list[tuple[str, Callable[[], Any]]] = []
    plain_static = override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    )
    plain_static.enable()
    while True:
        command, *arguments = channel.recv()
        result: Any = None
        if command == "create":
            seed, count, applications, unclassified_minutes = arguments
            rng = random.Random(seed)
            started = time.perf_counter()
            links = create_links(rng, applications)
            print(
                f"  {JOBS} jobs, {applications:,} applications, {len(links):,} links "
                f"({time.perf_counter() - started:.0f} s)"
            )
            copy_clicks(rng, links, count, unclassified_minutes)
        elif command == "grow":
            seed, count, unclassified_minutes = arguments
            links = list(
                TrackedLink.objects.order_by("created_at", "tracking_id").values_list(
                    "tracking_id", "application_id"
                )
            )
            copy_clicks(random.Random(seed), links, count, unclassified_minutes)
        elif command == "close":
            connection.close()
        elif command == "sizes":
            from tracking.models import JobApplication, LinkClick

            result = (LinkClick.objects.count(), JobApplication.objects.count())
        elif command == "roll up again":
            started = time.perf_counter()
            call_command("rollup_clicks", verbosity=0, stdout=io.StringIO())
            result = time.perf_counter() - started
        elif command == "roll up":
            started = time.perf_counter()
            call_command("rollup_clicks", verbosity=0, stdout=io.StringIO())
            full = time.perf_counter() - started
            started = time.perf_counter()
            call_command("rollup_clicks", verbosity=0, stdout=io.StringIO())
            result = (full, time.perf_counter() - started)
            analyze_tables()
        elif command == "endpoints":
            calls = endpoints()
            result = [name for name, _ in calls]
        elif command == "time":
            (index,) = arguments
            started = time.perf_counter()
            calls[index][1]()
            result = (time.perf_counter() - started) * 1000
        elif command == "quit":
            channel.send(None)
            return
        channel.send(result)


class Worker:
    def __init__(self, label: str, url: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.label = label
        self.channel, theirs = context.Pipe()
        self.process = context.Process(target=serve, args=(url, theirs), daemon=True)
        self.process.start()

    def ask(self, *request: Any) -> Any:
        self.channel.send(request)
        if not self.channel.poll(3600):
            raise SystemExit(f"the {self.label} worker did not answer {request[0]!r}")
        return self.channel.recv()

    def stop(self) -> None:
        self.ask("quit")
        self.process.join(10)

    def terminate(self) -> None:
        """Stop the worker whatever it is doing (a COPY can run for minutes): SIGTERM, then
        SIGKILL if it has not exited within 10 seconds."""
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(10)


def clone_database(source_url: str, target_url: str) -> None:
    """``target`` as a copy of ``source`` (dropped first); waits out autovacuum on the source."""
    import psycopg2
    from psycopg2 import sql

    source, target = (sql.Identifier(database_name(url)) for url in (source_url, target_url))
    with server_cursor(source_url) as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(target))
        for attempt in range(30):
            try:
                cursor.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(target, source))
                break
            except psycopg2.errors.ObjectInUse:  # autovacuum working on the source: wait
                if attempt == 29:
                    raise
                time.sleep(1)


def main() -> None:
    args = parse_args()
    processes.require_postgres(args.database_url)
    processes.exit_on_signals()
    with contextlib.ExitStack() as stack:
        run(args, stack)


def reusable(small_url: str, large_url: str, small: int, large: int, applications: int) -> bool:
    """Whether both databases exist and hold the clicks and applications asked for."""
    import psycopg2

    for url, clicks in ((small_url, small), (large_url, large)):
        try:
            with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM link_clicks")
                stored = cursor.fetchone()[0]
                cursor.execute("SELECT count(*) FROM job_applications")
                held = cursor.fetchone()[0]
        except psycopg2.Error:
            return False
        if (stored, held) != (clicks, applications):
            print(f"{database_name(url)} holds {stored:,} clicks and {held:,} applications")
            return False
    return True


def start_worker(stack: contextlib.ExitStack, label: str, url: str) -> Worker:
    worker = Worker(label, url)
    stack.callback(worker.terminate)
    return worker


def run(args: argparse.Namespace, stack: contextlib.ExitStack) -> None:
    small_url = args.database_url
    parts = urlsplit(small_url)
    large_url = parts._replace(path=parts.path + "_large").geturl()
    ensure_database(small_url)
    small, large = args.small, args.clicks
    workers: dict[int, Worker] = {}
    if args.reuse and reusable(small_url, large_url, small, large, args.applications):
        print(f"reusing {database_name(small_url)} and {database_name(large_url)}")
        for size, url, label in ((small, small_url, "small"), (large, large_url, "large")):
            workers[size] = start_worker(stack, label, url)
            seconds = workers[size].ask("roll up again")
            print(f"  {size:,} clicks: rollup_clicks (incremental) {seconds:.1f} s")
    else:
        print(f"generating {small:,} clicks")
        workers[small] = start_worker(stack, "small", small_url)
        workers[small].ask("create", args.seed, small, args.applications, args.unclassified_minutes)
        workers[small].ask("close")
        print(f"copying the database and growing it to {large:,} clicks")
        clone_database(small_url, large_url)
        workers[large] = start_worker(stack, "large", large_url)
        workers[large].ask("grow", args.seed + 1, large - small, args.unclassified_minutes)
        for size, worker in workers.items():
            full, incremental = worker.ask("roll up")
            print(
                f"  {size:,} clicks: rollup_clicks {full:.1f} s, "
                f"again (incremental) {incremental:.1f} s"
            )
    names = workers[small].ask("endpoints")
    if workers[large].ask("endpoints") != names:
        raise SystemExit("the two databases do not hold the same links")
    timings: dict[int, dict[str, list[float]]] = {size: {n: [] for n in names} for size in workers}
    for index in range(len(names)):  # warm-up: plans, connections, imports
        for worker in workers.values():
            worker.ask("time", index)
    for round_ in range(args.runs):
        order = [small, large] if round_ % 2 == 0 else [large, small]
        for index, name in enumerate(names):
            for size in order:
                timings[size][name].append(workers[size].ask("time", index))
        print(f"  timing round {round_ + 1} of {args.runs} done", flush=True)
    for worker in workers.values():
        worker.stop()

    print()
    print(f"median of {args.runs} rounds, PostgreSQL, caching off")
    print(f"| endpoint | {small:,} clicks (ms) | {large:,} clicks (ms) | growth |")
    print("|---|---:|---:|---:|")
    for name in names:
        low, high = (statistics.median(timings[size][name]) for size in (small, large))
        ratio = high / low if low else float("inf")
        print(f"| {name} | {low:.1f} | {high:.1f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
