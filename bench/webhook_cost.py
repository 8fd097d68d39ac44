"""Recording a click with and without webhooks configured: the CPU each path spends per click.

A webhook never costs the recording anything: the redirect and the click writer only write the
event rows of the outbox (whoever listens), and the notification worker turns due events into
deliveries later. This benchmark shows it, measured: the same clicks, recorded in alternating
rounds with no webhook and with ``--webhooks`` active endpoints subscribed to every event type.

    .venv/bin/python bench/webhook_cost.py                       # SQLite scratch file
    .venv/bin/python bench/webhook_cost.py --database-url postgres://postgres@127.0.0.1:5432/linktrack_hooks

It times, per configuration, with CPU time of this process (``time.process_time``; the database
server's own CPU is not in it, and is the same SQL in both configurations):

- ``redirect``: ``GET /track/<id>`` through Django's test client in direct mode (the request's
  whole path: middleware, view, the INSERT);
- ``writer``: the click writer's batch step (:func:`tracking.clicks.writer.write_clicks`: classify,
  INSERT, burst rule, the outbox rows of the person clicks) on batches of ``--batch`` clicks;
- ``worker``: for information, what the notification worker then spends per event turning events
  into deliveries (with no webhook there is nothing to deliver, so this is where webhooks cost).

It prints the medians over ``--rounds`` rounds and the ratio with/without, and ends with
``RESULT webhook_cost ...``. The PostgreSQL database is created if missing; its linktrack tables
are emptied first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Real agents of people's browsers (each a person by the classifier, none on a bot list).
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="default: a temporary SQLite file")
    parser.add_argument("--webhooks", type=int, default=5, help="active endpoints (default 5)")
    parser.add_argument("--links", type=int, default=50)
    parser.add_argument("--requests", type=int, default=400, help="redirects per round")
    parser.add_argument("--clicks", type=int, default=2000, help="writer clicks per round")
    parser.add_argument("--batch", type=int, default=500, help="writer batch size")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for name in ("webhooks", "links", "requests", "clicks", "batch", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def configure(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-webhook-cost")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["CLICK_MODE"] = "direct"
    os.environ["CLICK_RATE_LIMIT"] = "1000000/s"
    os.environ["SCANNER_WINDOW_SECONDS"] = "0"
    os.environ["ANALYTICS_CACHE_SECONDS"] = "0"
    os.environ["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = "true"
    os.environ.pop("REDIS_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "linktrack.settings"
    import django

    django.setup()


def main() -> None:
    args = parse_args()
    scratch = None
    url = args.database_url
    if not url:
        scratch = tempfile.NamedTemporaryFile(prefix="linktrack-hooks-", suffix=".sqlite3")
        url = f"sqlite:///{scratch.name}"
    elif url.startswith("postgres"):
        from bench import processes

        processes.require_postgres(url)
    configure(url)
    run(args)


def run(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from notifications import services as hooks
    from notifications import webhooks
    from notifications.models import EVENT_TYPES, Delivery, Webhook
    from tracking import services
    from tracking.classify import ClickSignals
    from tracking.clicks.events import record_missed_events
    from tracking.clicks.stream import decode_click, encode_raw
    from tracking.clicks.writer import write_clicks
    from tracking.models import Event, Job, LinkClick, TrackedLink

    call_command("migrate", verbosity=0)
    Delivery.objects.all().delete()
    Webhook.objects.all().delete()
    Event.objects.all().delete()
    LinkClick.objects.all().delete()
    TrackedLink.objects.all().delete()
    Job.objects.all().delete()
    print(f"{connection.vendor}: {args.links} links, each in its own application", flush=True)
    tracking_ids = []
    for i in range(args.links):
        job = services.create_job(title=f"Engineer {i}", company_name=f"Company {i}")
        application = services.create_application(job_id=job.pk)
        link = services.create_tracked_link(
            original_url=f"https://example.com/portfolio/{i}",
            link_function="Portfolio",
            link_type="portfolio",
            job_id=job.pk,
            application_id=application.pk,
        )
        tracking_ids.append(link["tracking_id"])
    links = {
        link.tracking_id: link for link in TrackedLink.objects.filter(tracking_id__in=tracking_ids)
    }

    def set_webhooks(count: int) -> None:
        Webhook.objects.all().delete()
        for i in range(count):
            hooks.create_webhook(url=f"http://127.0.0.1:9/hook/{i}", event_types=list(EVENT_TYPES))

    client = Client()
    counter = iter(range(10**9))

    def address() -> str:
        n = next(counter)
        return f"203.0.{(n // 250) % 250}.{n % 250 + 1}"

    def redirect_round() -> float:
        started = time.process_time()
        for i in range(args.requests):
            response = client.get(
                f"/track/{tracking_ids[i % len(tracking_ids)]}",
                HTTP_USER_AGENT=AGENTS[i % len(AGENTS)],
                HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9",
                REMOTE_ADDR=address(),
            )
            if response.status_code != 302:
                raise SystemExit(f"/track/ answered {response.status_code}, expected 302")
        return (time.process_time() - started) / args.requests * 1e6

    def writer_round() -> float:
        # Clicks as the redirect queues them, each from its own address: people, each link's
        # application opened from one network at a time, so the burst rule leaves them alone.
        spent = 0.0
        for start in range(0, args.clicks, args.batch):
            payloads = []
            at_us = int(timezone.now().timestamp() * 1e6)
            for i in range(start, min(start + args.batch, args.clicks)):
                link = links[tracking_ids[i % len(tracking_ids)]]
                ip, agent = address(), AGENTS[i % len(AGENTS)]
                signals = ClickSignals(
                    user_agent=agent,
                    client_ip=ip,
                    has_accept_language=True,
                    link_created_at=link.created_at,
                    application_id=str(link.application_id),
                )
                fields = {
                    "tracking_id": link.tracking_id,
                    "ip_address": ip,
                    "user_agent": agent,
                    "click_source": "email",
                }
                payloads.append(
                    encode_raw(
                        fields,
                        click_id=uuid.uuid4(),
                        clicked_at_us=at_us,
                        signals=signals.as_dict(),
                    )
                )
            started = time.process_time()
            write_clicks([decode_click(payload) for payload in payloads])
            spent += time.process_time() - started
        return spent / args.clicks * 1e6

    def worker_pass() -> tuple[float, int]:
        later = timezone.now() + dt.timedelta(hours=1)
        # The direct-mode clicks' events first (the worker writes those), then the deliveries.
        record_missed_events(now=later, limit=10**6)
        due = Event.objects.filter(receipt__isnull=True).count()
        started = time.process_time()
        while webhooks.dispatch_due_events(now=later):
            pass
        spent = time.process_time() - started
        return (spent / due * 1e6 if due else 0.0), due

    results: dict[str, dict[str, list[float]]] = {
        key: {"redirect": [], "writer": [], "worker": []} for key in ("none", "webhooks")
    }
    events_written: dict[str, int] = {"none": 0, "webhooks": 0}
    deliveries: dict[str, int] = {"none": 0, "webhooks": 0}
    # One warm-up round of each path (imports, caches, the classifier's first agents).
    # The first person click of each link and application is behind us after it, so every round
    # writes the same kinds of events.
    redirect_round()
    writer_round()
    worker_pass()
    for number in range(args.rounds):
        order = ("none", "webhooks") if number % 2 == 0 else ("webhooks", "none")
        for key in order:
            set_webhooks(args.webhooks if key == "webhooks" else 0)
            before = Event.objects.count()
            results[key]["redirect"].append(redirect_round())
            results[key]["writer"].append(writer_round())
            per_event, _due = worker_pass()
            events_written[key] += Event.objects.count() - before
            results[key]["worker"].append(per_event)
            deliveries[key] = Delivery.objects.count()
        print(f"round {number + 1}/{args.rounds} done", flush=True)
    report(args, results, events_written, deliveries)
    Delivery.objects.all().delete()
    Webhook.objects.all().delete()


def report(
    args: argparse.Namespace,
    results: dict[str, dict[str, list[float]]],
    events_written: dict[str, int],
    deliveries: dict[str, int],
) -> None:
    median: Callable[[list[float]], float] = statistics.median
    print()
    print(f"CPU µs per click (median of {args.rounds} rounds), {args.webhooks} webhooks vs none")
    print(f"{'path':<10} {'no webhook':>12} {'webhooks':>12} {'ratio':>8}")
    ratios = {}
    for path in ("redirect", "writer", "worker"):
        without = median(results["none"][path])
        with_hooks = median(results["webhooks"][path])
        ratio = with_hooks / without if without else float("nan")
        ratios[path] = ratio
        note = "  (per event; delivery work happens here)" if path == "worker" else ""
        print(f"{path:<10} {without:>12.1f} {with_hooks:>12.1f} {ratio:>8.2f}{note}")
    print(
        f"events written: {events_written['none']} without, {events_written['webhooks']} with "
        f"webhooks; deliveries created by the worker: {deliveries['webhooks']}"
    )
    print(
        f"RESULT webhook_cost webhooks={args.webhooks} "
        f"redirect_us={median(results['none']['redirect']):.1f} "
        f"redirect_hooks_us={median(results['webhooks']['redirect']):.1f} "
        f"redirect_ratio={ratios['redirect']:.2f} "
        f"writer_us={median(results['none']['writer']):.1f} "
        f"writer_hooks_us={median(results['webhooks']['writer']):.1f} "
        f"writer_ratio={ratios['writer']:.2f}"
    )


if __name__ == "__main__":
    main()
