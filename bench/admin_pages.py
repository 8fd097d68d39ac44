"""Admin list pages at scale: time each changelist against a large database.

    DEBUG=true DATABASE_URL=postgres://... .venv/bin/python bench/admin_pages.py \
        --links 10000 --clicks 1000000

(``DEBUG=true`` serves the admin's static files without ``collectstatic``; with DEBUG off, run
``manage.py collectstatic`` first.)

Fills the database (once; ``--links``/``--clicks`` are targets, rows already there count) with
generated links and clicks through set-based SQL, runs VACUUM ANALYZE, then requests each admin page a
few times as a superuser and prints the median time and query count. Not a test: figures only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linktrack.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench import processes  # noqa: E402
from tracking.models import Job, JobApplication, LinkClick, TrackedLink  # noqa: E402

PAGES = [
    ("links", "/admin/tracking/trackedlink/"),
    ("links, function filter", "/admin/tracking/trackedlink/?link_function=LinkedIn"),
    ("links, sorted by clicks", "/admin/tracking/trackedlink/?o=-7"),
    ("links, search", "/admin/tracking/trackedlink/?q=lt_bench_000042"),
    ("clicks", "/admin/tracking/linkclick/"),
    ("clicks, humans", "/admin/tracking/linkclick/?classification__exact=human"),
    ("clicks, last 7 days", None),
    ("clicks, search tracking id", "/admin/tracking/linkclick/?q=lt_bench_000042"),
    ("jobs", "/admin/tracking/job/"),
    ("applications", "/admin/tracking/jobapplication/"),
    ("link change page", "/admin/tracking/trackedlink/lt_5Fbench_5F000042/change/"),
]


def populate(links: int, clicks: int) -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark fills PostgreSQL with generated rows: set DATABASE_URL.")
    have_links = TrackedLink.objects.filter(tracking_id__startswith="lt_bench_").count()
    if have_links < links:
        jobs = [Job.objects.create(title=f"Bench job {n}") for n in range(100)]
        apps = [JobApplication.objects.create(job=job) for job in jobs]
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO link_tracking (tracking_id, job_id, application_id, link_function,
                    link_type, original_url, redirect_url, created_at, created_by, is_active)
                SELECT 'lt_bench_' || lpad(n::text, 6, '0'), (%s::uuid[])[1 + n %% 100],
                    (%s::uuid[])[1 + n %% 100],
                    (ARRAY['LinkedIn','Calendly','Portfolio','GitHub','Job_Posting'])[1 + n %% 5],
                    'profile', 'https://example.com/p/' || n,
                    'https://links.example.com/track/lt_bench_' || lpad(n::text, 6, '0'),
                    now() AT TIME ZONE 'UTC' - (n || ' minutes')::interval, 'bench', n %% 10 <> 0
                FROM generate_series(%s, %s - 1) AS n
                """,
                [[str(j.pk) for j in jobs], [str(a.pk) for a in apps], have_links, links],
            )
    have_clicks = LinkClick.objects.count()
    if have_clicks < clicks:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO link_clicks (click_id, tracking_id, clicked_at, ip_address, user_agent,
                    session_id, click_source, metadata, classification)
                SELECT gen_random_uuid(), 'lt_bench_' || lpad((n %% %s)::text, 6, '0'),
                    now() AT TIME ZONE 'UTC' - ((n %% 86400) || ' minutes')::interval,
                    ('10.0.' || (n %% 250) || '.' || (n %% 200))::inet, 'Mozilla/5.0',
                    'sess_' || (n %% 50000),
                    (ARRAY['email','linkedin','direct','external'])[1 + n %% 4], '{}',
                    (ARRAY['human','human','scanner','bot','preview'])[1 + n %% 5]
                FROM generate_series(%s, %s - 1) AS n
                """,
                [links, have_clicks, clicks],
            )
    with connection.cursor() as cursor:
        # What autovacuum does soon after a bulk load: statistics and the visibility map (which
        # lets the per-link click counts use index-only scans).
        cursor.execute("VACUUM ANALYZE link_tracking")
        cursor.execute("VACUUM ANALYZE link_clicks")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    # Before migrating: without PostgreSQL the run would migrate the embedded SQLite file first.
    if connection.vendor != "postgresql":
        raise SystemExit("This benchmark fills PostgreSQL with generated rows: set DATABASE_URL.")
    processes.require_postgres(settings.DATABASE_URL)
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    populate(args.links, args.clicks)
    print(
        f"{TrackedLink.objects.count()} links, {LinkClick.objects.count()} clicks "
        f"(filled in {time.perf_counter() - started:.1f} s)"
    )
    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    week_ago = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 7 * 86400))
    for name, url in PAGES:
        url = url or f"/admin/tracking/linkclick/?clicked_at__gte={week_ago}"
        timings = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                begin = time.perf_counter()
                response = client.get(url)
                timings.append(time.perf_counter() - begin)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        print(
            f"{name:28} median {statistics.median(timings) * 1000:7.1f} ms  "
            f"max {max(timings) * 1000:7.1f} ms  {len(queries.captured_queries):3d} queries"
        )


if __name__ == "__main__":
    main()
