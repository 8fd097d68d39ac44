#!/usr/bin/env python
"""Click ingest: the click writer draining a full stream into PostgreSQL, SQLite direct inserts,
and the spool replay.

    pip install --no-deps --target /tmp/evalpkgs \\
        crawler-user-agents==1.67.0 fake-useragent==2.2.0 device-detector==6.5.1
    .venv/bin/python bench/ingest.py --packages /tmp/evalpkgs

1. Fills the Redis click stream with ``--clicks`` (200,000) clicks on ``--links`` (500) links,
   100 applications of five links each, spread over the last two days, each entry exactly what
   a buffered redirect appends (:func:`tracking.clicks.stream.encode_raw`, with the signals and
   rate key of :func:`tracking.clicks.record.submit`). The agents are ``--agents`` (5,000)
   distinct real ones from the corpora ``bench/classify_eval.py`` uses (mainstream and unusual
   browsers, crawlers, HTTP tools, listed bots), each at least once, the browsers most often;
   addresses from a made-up geo database written for the run; a few Do-Not-Track clicks
   (classified in the request), HEAD requests, owner clicks and mail-scanner bursts that open
   every link of an application within a second (the burst rule fires on them).
2. Times one writer (:class:`tracking.clicks.writer.ClickWriter`, in a process of its own)
   draining the stream into PostgreSQL: wall clock, the writer's CPU per click, its RSS after the
   drain, progress every second.
3. Times the writer replaying ``--spool`` (50,000) clicks from the spool file.
4. Times ``--sqlite`` (20,000) clicks recorded directly on SQLite, one INSERT each, as the
   redirect's direct mode does (burst follow-up included).

The PostgreSQL database (``--database-url``, default ``linktrack_bench_ingest``) is created if
missing and its linktrack tables emptied; the stream lives under a per-run key in
``--redis-url`` (default database 14) and is deleted at the end. The click rate limit is lifted
(the generated clients are few). ``--insert orm`` runs the writer with the Django ORM's
``bulk_create`` for the INSERT instead of the writer's own bulk path (the path before it), for
comparison in the same conditions. ``--stages`` adds the writer's CPU per click in each of its
steps (decoding, classification, geo, the INSERT, the burst rule, the events…). The last line:

    RESULT ingest db=postgres clicks=N seconds=S clicks_per_s=X cpu_us_per_click=Y clicks_stored=N
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import processes  # noqa: E402 - needs the project root on sys.path

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/linktrack_bench_ingest"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
APPLICATIONS = 100
FUNCTIONS = ("LinkedIn", "Resume", "GitHub", "Portfolio", "Calendly")
SPAN_SECONDS = 2 * 86400
# Share of clicks per corpus, and how many distinct agents each gives (5,000 in all).
CORPUS_MIX = {
    "browsers": 0.62,
    "unusual": 0.22,
    "crawlers": 0.10,
    "tools": 0.03,
    "matomo-bots": 0.03,
}
REFERRERS = [
    (None, 35),
    ("https://mail.google.com/", 30),
    ("https://outlook.live.com/", 10),
    ("https://www.linkedin.com/", 15),
    ("https://www.google.com/", 8),
    ("https://emailsecurity.sophos.com/", 2),
]
LANGUAGES_SENT = 0.95  # browsers that send Accept-Language
DNT_SHARE, HEAD_SHARE, OWNER_SHARE, SCAN_SHARE = 0.03, 0.01, 0.01, 0.02


def log(message: str) -> None:
    print(message, flush=True)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- Setup (parent) ---------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    admin = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username,
        password=parts.password, dbname="postgres",
    )  # fmt: skip
    admin.autocommit = True
    name = parts.path.lstrip("/")
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()


def geo_networks(rng: random.Random) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """64 made-up /16 networks of people (documentation ASNs) and one hosting network."""
    places = [("DE", "Berlin", "Berlin"), ("US", "New York", "New York"),
              ("GB", "England", "London"), ("FR", "Île-de-France", "Paris"),
              ("NL", "North Holland", "Amsterdam"), ("CA", "Ontario", "Toronto")]  # fmt: skip
    networks = {}
    for i in range(64):
        country, region, city = places[i % len(places)]
        place = {
            "country": {"iso_code": country, "names": {"en": country}},
            "subdivisions": [{"names": {"en": region}}],
            "city": {"names": {"en": city}},
        }
        asn = {"autonomous_system_number": 64512 + i, "autonomous_system_organization": f"Net {i}"}
        networks[f"{80 + i // 8}.{10 + i % 8 * 20}.0.0/16"] = (place, asn)
    hosting = {"autonomous_system_number": 16509, "autonomous_system_organization": "AMAZON-02"}
    networks["52.94.0.0/16"] = ({"country": {"iso_code": "US", "names": {"en": "US"}}}, hosting)
    return networks


def write_geo(directory: Path, rng: random.Random) -> list[str]:
    from tracking import geo

    networks = geo_networks(rng)
    geo.write_database(
        directory / "city.mmdb", database_type="Bench-City", description="bench",
        networks={net: place for net, (place, _asn) in networks.items()},
    )  # fmt: skip
    geo.write_database(
        directory / "asn.mmdb", database_type="Bench-ASN", description="bench",
        networks={net: asn for net, (_place, asn) in networks.items()},
    )  # fmt: skip
    return list(networks)


def create_links() -> list[tuple[str, str, dt.datetime]]:
    """500 links: 100 applications of five, created a week ago; (tracking_id, app, created)."""
    from django.core.management import call_command
    from django.db import connection

    from tracking import services
    from tracking.models import Job, TrackedLink

    call_command("migrate", verbosity=0)
    if connection.vendor == "postgresql":  # a SQLite run starts from a new file
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE link_clicks, events, link_tracking, application_status_history, "
                "job_applications, jobs CASCADE"
            )
    week_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    for a in range(APPLICATIONS):
        job = Job.objects.create(title=f"Role {a}", company_name=f"Company {a}")
        application = services.create_application(
            job_id=job.id, status="submitted", submitted_at=week_ago
        )
        for function in FUNCTIONS:
            services.create_tracked_link(
                original_url=f"https://{function.lower()}.example.com/{a}",
                link_function=function, link_type="profile",
                job_id=job.id, application_id=application.id,
            )  # fmt: skip
    TrackedLink.objects.update(created_at=week_ago)
    return [
        (tid, str(app), week_ago)
        for tid, app in TrackedLink.objects.values_list("tracking_id", "application_id")
    ]


def copy_history(links: list[tuple[str, str, dt.datetime]], count: int, rng: random.Random) -> None:
    """``count`` older clicks (3 to 30 days old) with COPY, then ANALYZE: the writer writes into a
    table in use, whose statistics the planner knows, not into an empty one."""
    import io

    from django.db import connection

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    classes = ["human"] * 15 + ["bot"] * 3 + ["scanner"] * 2
    buffer = io.StringIO()
    for _ in range(count):
        when = now - dt.timedelta(days=3 + rng.random() * 27)
        buffer.write(
            f"{uuid.uuid4()}\t{rng.choice(links)[0]}\t{when.isoformat(sep=' ')}\t"
            f"81.10.{rng.randrange(256)}.{rng.randrange(1, 255)}\temail\t{rng.choice(classes)}\t[]\n"
        )
    buffer.seek(0)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(
            "COPY link_clicks (click_id, tracking_id, clicked_at, ip_address, click_source, "
            "classification, classification_reasons) FROM STDIN",
            buffer,
        )
        cursor.execute("ANALYZE")


def pick_agents(packages: Path, rng: random.Random, count: int) -> dict[str, list[str]]:
    """``count`` distinct agents: every tool, 200 listed bots, 1,000 crawlers, every mainstream
    browser and the rest from the unusual browsers."""
    from bench.classify_eval import load_corpora

    corpora = {name: agents for name, (_source, agents) in load_corpora(packages).items()}
    chosen = {
        "tools": corpora["tools"],
        "matomo-bots": rng.sample(corpora["matomo-bots"], 200),
        "crawlers": rng.sample(corpora["crawlers"], 1000),
        "browsers": corpora["browsers"],
    }
    taken = set().union(*chosen.values())
    unusual = [agent for agent in corpora["unusual"] if agent not in taken]
    chosen["unusual"] = rng.sample(unusual, count - len(taken))
    return chosen


class ClickMaker:
    """Clicks as the redirect captures them (fields and signals), encoded as it queues them."""

    def __init__(self, rng: random.Random, links: list[tuple[str, str, dt.datetime]],
                 agents: dict[str, list[str]], networks: list[str]) -> None:  # fmt: skip
        self.rng = rng
        self.links = links
        self.by_application: dict[str, list[tuple[str, str, dt.datetime]]] = {}
        for link in links:
            self.by_application.setdefault(link[1], []).append(link)
        self.agents = agents
        self.corpora = list(CORPUS_MIX)
        self.weights = list(CORPUS_MIX.values())
        people = [n for n in networks if not n.startswith("52.")]
        self.addresses = [self._address(rng.choice(people)) for _ in range(20_000)]
        self.hosting = [self._address("52.94.0.0/16") for _ in range(500)]
        self.unseen = [(name, agent) for name, group in agents.items() for agent in group]
        rng.shuffle(self.unseen)

    def _address(self, network: str) -> str:
        a, b = network.split(".")[:2]
        return f"{a}.{b}.{self.rng.randrange(256)}.{self.rng.randrange(1, 255)}"

    def _agent(self) -> tuple[str, str]:
        if self.unseen and self.rng.random() < 0.05:
            return self.unseen.pop()
        name = self.rng.choices(self.corpora, self.weights)[0]
        group = self.agents[name]
        # Popular agents much more often than rare ones, as in real traffic.
        return name, group[min(len(group) - 1, int(self.rng.paretovariate(1.2)) - 1)]

    def encode(self, link: tuple[str, str, dt.datetime], at_us: int, agent: tuple[str, str],
               ip: str, *, referrer: str | None = None) -> str:  # fmt: skip
        from tracking import services
        from tracking.classify import ClickSignals, classification_fields
        from tracking.clicks import record, stream

        rng = self.rng
        corpus, user_agent = agent
        browser = corpus in ("browsers", "unusual")
        signals = ClickSignals(
            user_agent=user_agent,
            client_ip=ip,
            has_accept_language=browser and rng.random() < LANGUAGES_SENT,
            link_created_at=link[2],
            application_id=link[1],
            application_submitted_at=link[2],
            owner_cookie=browser and rng.random() < OWNER_SHARE,
        )
        dnt = browser and rng.random() < DNT_SHARE
        fields: dict[str, Any] = {
            "tracking_id": link[0],
            "ip_address": None if dnt else ip,
            "user_agent": None if dnt else user_agent,
            "referrer_url": referrer,
            "session_id": None if dnt or not browser else "s_" + secrets.token_urlsafe(18),
            "click_source": services.detect_click_source(referrer),
            "metadata": {"utm_source": "mail"} if rng.random() < 0.1 else {},
            "http_method": "HEAD" if rng.random() < HEAD_SHARE else "GET",
        }
        queued = record.queued_signals(ip_address=fields["ip_address"], signals=signals)
        if queued is not signals:
            clicked_at = dt.datetime.fromtimestamp(at_us / 1e6, tz=dt.UTC)
            fields.update(classification_fields(
                http_method=fields["http_method"], clicked_at=clicked_at, signals=signals,
                referrer=referrer,
            ))  # fmt: skip
        return stream.encode_raw(
            fields,
            click_id=services.new_click_id(),
            clicked_at_us=at_us,
            signals={**queued.as_dict(), "rate_key": record.rate_key(ip)},
        )

    def payloads(self, count: int, start_us: int) -> list[str]:
        """``count`` payloads in time order from ``start_us`` over two days."""
        rng = self.rng
        step = SPAN_SECONDS * 1_000_000 // count
        out: list[str] = []
        at = start_us
        while len(out) < count:
            at += rng.randrange(1, 2 * step)
            if rng.random() < SCAN_SHARE / 5:
                # A mail gateway opens every link of one application within a second.
                app = rng.choice(list(self.by_application))
                gateway = rng.choice(self.hosting)
                posing_as = ("browsers", rng.choice(self.agents["browsers"]))
                for link in self.by_application[app][: count - len(out)]:
                    at += rng.randrange(1000, 200_000)
                    out.append(self.encode(link, at, posing_as, gateway))
                continue
            corpus, agent = self._agent()
            human = corpus in ("browsers", "unusual")
            ip = rng.choice(self.addresses if human else self.hosting)
            referrer = rng.choices([r for r, _ in REFERRERS], [w for _, w in REFERRERS])[0]
            out.append(self.encode(rng.choice(self.links), at, (corpus, agent), ip,
                                   referrer=referrer if human else None))  # fmt: skip
        return out


def fill_stream(payloads: list[str], redis_url: str, key: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    started = time.perf_counter()
    last = started
    for start in range(0, len(payloads), 2000):
        pipe = client.pipeline(transaction=False)
        for payload in payloads[start : start + 2000]:
            pipe.xadd(key, {"c": payload})
        pipe.execute()
        now = time.perf_counter()
        if now - last >= 1 or start + 2000 >= len(payloads):
            last = now
            done = min(start + 2000, len(payloads))
            log(f"  filled {done:>9,} / {len(payloads):,} clicks ({now - started:.1f} s)")


# --- Phases (children) --------------------------------------------------------------------------


def use_orm_insert() -> None:
    """The INSERT of the writer before its bulk path: ``bulk_create`` of model instances."""
    from tracking import services
    from tracking.models import LinkClick

    def insert_clicks(clicks: list[LinkClick]) -> None:
        if clicks:
            LinkClick.objects.bulk_create(clicks, ignore_conflicts=True)

    services.insert_click_batch = insert_clicks  # type: ignore[assignment]


# The writer's steps whose CPU ``--stages`` reports: (module, attribute the writer calls it by).
STAGES = (
    ("tracking.clicks.writer", "decode_click"),
    ("tracking.clicks.writer", "enforce_rate_limit"),
    ("tracking.clicks.writer", "classify_into"),
    ("tracking.geo", "locate_click"),
    ("tracking.company", "mark_click"),
    ("tracking.services", "insert_click_batch"),
    ("tracking.clicks.burst", "apply_to_batch"),
    ("tracking.clicks.decoy", "apply_to_batch"),
    ("tracking.clicks.events", "record_events"),
    ("tracking.clicks.events", "record_batch_events"),
    # What the writer does around write_clicks (a dotted name is a class's method).
    ("tracking.clicks.writer", "ClickSignals.from_dict"),
    ("tracking.clicks.stream", "StreamConsumer.read_new"),
    ("tracking.clicks.stream", "StreamConsumer.ack"),
    ("tracking.clicks.stream", "StreamConsumer.trim"),
    ("tracking.clicks.writer", "ClickWriter.backlog_empty"),
    ("tracking.clicks.writer", "ClickWriter.classify_unclassified"),
)


def _timed(
    inner: Any,
    name: str,
    spent: dict[str, float],
    calls: dict[str, int],
    waited: dict[str, float] | None = None,
) -> Any:
    import functools

    # The calling thread's CPU clock: a step run by another thread of the writer is not charged
    # with what this one does meanwhile (the process's clock would count both).
    @functools.wraps(inner)
    def timed(*a: Any, **kw: Any) -> Any:
        started, wall = time.thread_time(), time.perf_counter()
        try:
            return inner(*a, **kw)
        finally:
            spent[name] += time.thread_time() - started
            if waited is not None:
                waited[name] += time.perf_counter() - wall
            calls[name] += 1

    return timed


def time_stages() -> dict[str, Any]:
    """Wrap each of :data:`STAGES` to add up the CPU seconds spent in it (not nested in another
    stage: none calls another), and count the calls.

    Reading the process's CPU clock is a system call (~0.5 µs), and the steps run per click, so
    the wrappers cost the writer several µs per click themselves. Their cost is measured on a
    wrapped no-op first: the part that falls inside a step (``inside``, per call) and the part
    around it (``outside``), so that the report can take both out.
    """
    import importlib

    spent: dict[str, float] = {}
    calls: dict[str, int] = {}
    wall: dict[str, float] = {}
    inside_probe: dict[str, float] = {"probe": 0.0}
    probe = _timed(lambda: None, "probe", inside_probe, {"probe": 0}, {"probe": 0.0})
    rounds = 100_000
    started = time.thread_time()
    for _ in range(rounds):
        probe()
    total = (time.thread_time() - started) / rounds
    inside = inside_probe["probe"] / rounds
    for module_name, dotted in STAGES:
        owner: Any = importlib.import_module(module_name)
        *path, attribute = dotted.split(".")
        for part in path:
            owner = getattr(owner, part)
        inner = getattr(owner, attribute, None)
        if inner is None:
            continue
        name = f"{module_name.rsplit('.', 1)[-1]}.{dotted}"
        spent[name], calls[name], wall[name] = 0.0, 0, 0.0
        setattr(owner, attribute, _timed(inner, name, spent, calls, wall))
    return {
        "seconds": spent,
        "wall": wall,
        "calls": calls,
        "inside": inside,
        "outside": max(0.0, total - inside),
    }


def time_garbage_collection() -> dict[str, float]:
    """Add up the CPU seconds the garbage collector takes (they fall inside the steps, whichever
    allocated when a collection was due)."""
    import gc

    spent = {"seconds": 0.0, "started": 0.0, "collections": 0}

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            spent["started"] = time.process_time()
        else:
            spent["seconds"] += time.process_time() - spent["started"]
            spent["collections"] += 1

    gc.callbacks.append(callback)
    return spent


def time_statements() -> dict[str, list[float]]:
    """Add up the wall time of the writer's statements (through Django's cursor) by their first
    words: ``{text: [seconds, executions]}``. Savepoints are counted as one kind."""
    from django.db import connection

    spent: dict[str, list[float]] = {}

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            words = " ".join(str(sql).split())
            text = words.split(" ")[0] if "SAVEPOINT" in words[:20] else words[:90]
            entry = spent.setdefault(text, [0.0, 0])
            entry[0] += time.perf_counter() - started
            entry[1] += 1

    connection.execute_wrappers.append(timed)
    return spent


def phase_drain(args: argparse.Namespace) -> dict[str, Any]:
    from django.db.models import Count

    from tracking import classify
    from tracking.clicks.writer import ClickWriter, settle_garbage_collector
    from tracking.models import Event, LinkClick

    if args.insert == "orm":
        use_orm_insert()
    stages = time_stages() if args.stages else {}
    collector = time_garbage_collection() if args.stages else None
    writer = ClickWriter(
        consumer="bench-ingest",
        batch_size=args.batch_size,
        report=lambda m: None,
        read_ahead=args.read_ahead,
    )
    classify.warm_up()  # the rules loaded and the connection opened before the clock starts
    if args.default_gc:
        log("  garbage collector: Python's defaults (not run_click_writer's)")
    else:
        settle_garbage_collector()  # as run_click_writer does
    history = LinkClick.objects.count()
    statements = time_statements() if args.statements else None
    started, cpu = time.perf_counter(), time.process_time()
    last = started
    # --alternate: read-ahead on and off by turns of ten batches, each turn's wall time and
    # clicks added up by mode (a comparison that the machine's changing load touches alike);
    # the first two turns warm the caches up and are not counted.
    by_mode = {True: [0.0, 0], False: [0.0, 0]}
    steps = 0
    while True:
        if args.alternate:
            writer.read_ahead = (steps // 10) % 2 == 0
            steps += 1
        step_started = time.perf_counter()
        handled = writer.step(block_ms=200)
        if steps > 20:
            mode = by_mode[writer.read_ahead]
            mode[0] += time.perf_counter() - step_started
            mode[1] += handled
        now = time.perf_counter()
        if now - last >= 1:
            last = now
            rate = writer.written / (now - started)
            log(f"  written {writer.written:>9,} clicks ({now - started:5.1f} s, {rate:,.0f}/s)")
        if not handled and writer.backlog_empty():
            break
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if args.alternate:
        for ahead, (spent, clicks) in by_mode.items():
            log(
                f"  read-ahead {'on ' if ahead else 'off'}: {clicks:,} clicks in {spent:.2f} s, "
                f"{clicks / max(spent, 1e-9):,.0f} clicks/s"
            )
    if statements is not None:
        log("wall time per click of each kind of statement (µs; COPY's data is not seen here):")
        for text, (spent, count) in sorted(statements.items(), key=lambda kv: -kv[1][0])[:15]:
            log(f"  {spent / max(1, writer.written) * 1e6:8.1f} {count:7,}  {text}")
    rss = rss_mib()
    recent = LinkClick.objects.filter(
        clicked_at__gte=dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    )
    by_class = recent.values_list("classification").annotate(n=Count("click_id")).order_by()
    return {
        "seconds": seconds, "cpu": cpu, "rss_mib": rss,
        "stored": LinkClick.objects.count() - history, "events": Event.objects.count(),
        "classes": {str(name): n for name, n in by_class}, "stages": stages,
        "gc": collector,
    }  # fmt: skip


def phase_spool(args: argparse.Namespace) -> dict[str, Any]:
    from django.conf import settings

    from tracking.clicks.writer import ClickWriter
    from tracking.models import LinkClick

    if args.insert == "orm":
        use_orm_insert()
    lines = Path(args.payload_file).read_text().splitlines()
    directory = Path(settings.CLICK_SPOOL_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "clicks.jsonl").write_text("".join(line + "\n" for line in lines))
    before = LinkClick.objects.count()
    writer = ClickWriter(consumer="bench-spool", batch_size=args.batch_size, report=lambda m: None)
    started, cpu = time.perf_counter(), time.process_time()
    replayed = writer.replay_spool()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "replayed": replayed,
            "stored": LinkClick.objects.count() - before}  # fmt: skip


def phase_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    from tracking.classify import ClickSignals
    from tracking.clicks import record
    from tracking.models import LinkClick

    rng = random.Random(args.seed)
    links = create_links()
    agents = json.loads(Path(args.payload_file).read_text())
    started, cpu = time.perf_counter(), time.process_time()
    last = started
    for n in range(args.sqlite):
        tracking_id, application_id, created = rng.choice(links)
        agent = rng.choice(agents)
        ip = f"81.10.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        fields = {
            "tracking_id": tracking_id, "ip_address": ip, "user_agent": agent,
            "referrer_url": "https://mail.google.com/", "session_id": None,
            "click_source": None, "metadata": {}, "http_method": "GET",
        }  # fmt: skip
        signals = ClickSignals(user_agent=agent, client_ip=ip, has_accept_language=True,
                               link_created_at=created, application_id=application_id)  # fmt: skip
        follow_up = record.submit(fields, signals=signals)
        if follow_up is not None:
            follow_up()
        now = time.perf_counter()
        if now - last >= 1:
            last = now
            log(f"  inserted {n + 1:>9,} clicks ({now - started:5.1f} s)")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"seconds": seconds, "cpu": cpu, "stored": LinkClick.objects.count()}


PHASES = {"drain": phase_drain, "spool": phase_spool, "sqlite": phase_sqlite}


def run_phase(args: argparse.Namespace, env: dict[str, str], phase: str,
              stack: contextlib.ExitStack, **extra: str) -> dict[str, Any]:  # fmt: skip
    command = [sys.executable, __file__, "--phase", phase, "--insert", args.insert,
               "--batch-size", str(args.batch_size), "--sqlite", str(args.sqlite),
               "--seed", str(args.seed), *(["--profile"] if args.profile else []),
               *(["--stages"] if args.stages else []),
               *(["--statements"] if args.statements else []),
               *(["--read-ahead"] if args.read_ahead else []),
               *(["--alternate"] if args.alternate else []),
               *(["--default-gc"] if args.default_gc else [])]  # fmt: skip
    for name, value in extra.items():
        command += [f"--{name.replace('_', '-')}", value]
    child = processes.start(stack, command, env=env, stdout=subprocess.PIPE)
    assert child.process.stdout is not None
    result: dict[str, Any] = {}
    for raw in child.process.stdout:
        line = raw.decode().rstrip("\n")
        if line.startswith("PHASE "):
            result = json.loads(line[6:])
        else:
            log(line)
    if child.process.wait() != 0 or not result:
        raise processes.fail(f"the {phase} phase failed")
    return result


def at_least_one(text: str) -> int:
    """A count of at least 1 (each phase divides by its count)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=at_least_one, default=200_000)
    parser.add_argument("--agents", type=at_least_one, default=5000)
    parser.add_argument("--links", type=int, default=500, choices=[500], help="500 (fixed)")
    parser.add_argument("--history", type=int, default=200_000, help="older clicks (200,000)")
    parser.add_argument(
        "--spool", type=at_least_one, default=50_000, help="clicks to replay (50,000)"
    )
    parser.add_argument("--sqlite", type=at_least_one, default=20_000, help="direct SQLite clicks")
    parser.add_argument(
        "--batch-size", type=at_least_one, default=2000, help="writer batch (2000, as the writer)"
    )
    parser.add_argument("--insert", choices=("bulk", "orm"), default="bulk")
    parser.add_argument("--packages", type=Path, default=Path("/tmp/evalpkgs"))
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--profile", action="store_true", help="cProfile each phase")
    parser.add_argument(
        "--stages", action="store_true", help="the writer's CPU per click in each of its steps"
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="the wall time per click of each kind of SQL statement the writer runs",
    )
    parser.add_argument(
        "--read-ahead",
        action="store_true",
        help="the writer prepares the next batch on a thread while the database stores one",
    )
    parser.add_argument(
        "--alternate",
        action="store_true",
        help="the writer's read-ahead on and off by turns of ten batches, each timed apart",
    )
    parser.add_argument(
        "--default-gc",
        action="store_true",
        help="drain with Python's garbage collector settings, not the writer command's",
    )
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--payload-file", help=argparse.SUPPRESS)
    args = parser.parse_args()

    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linktrack.settings")
    if args.phase:
        import django

        django.setup()
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            result = profiler.runcall(PHASES[args.phase], args)
            stats = pstats.Stats(profiler, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(35)
            stats.sort_stats("tottime").print_stats(25)
        else:
            result = PHASES[args.phase](args)
        print("PHASE " + json.dumps(result), flush=True)
        return 0

    processes.exit_on_signals()
    processes.require_file(args.packages / "fake_useragent", "see the docstring: pip install …")
    processes.require_postgres(args.database_url)
    processes.require_redis(args.redis_url)
    ensure_database(args.database_url)
    key = f"linktrack:bench-ingest-{secrets.token_hex(4)}"
    scratch = Path(tempfile.mkdtemp(prefix="linktrack-ingest-"))
    env = {
        **os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url,
        "CLICK_MODE": "buffered", "CLICK_STREAM_KEY": key, "CLICK_RATE_LIMIT": "1000000/m",
        "CLICK_SPOOL_DIR": str(scratch / "spool"), "GEOIP_CITY_PATH": str(scratch / "city.mmdb"),
        "GEOIP_ASN_PATH": str(scratch / "asn.mmdb"), "PYTHONUNBUFFERED": "1",
    }  # fmt: skip
    os.environ.update(env)
    import django

    django.setup()
    import redis

    client = redis.Redis.from_url(args.redis_url)
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [client.delete(k) for k in client.scan_iter(f"{key}*")])
        rng = random.Random(args.seed)
        networks = write_geo(scratch, rng)
        links = create_links()
        log(f"copying {args.history:,} older clicks into link_clicks")
        copy_history(links, args.history, rng)
        agents = pick_agents(args.packages, rng, args.agents)
        maker = ClickMaker(rng, links, agents, networks)
        # From a whole hour: the spike rule counts by clock hour, so two runs' events compare
        # (from any moment, the hours cut the clicks elsewhere and a spike comes or goes).
        hour_us = 3600 * 1_000_000
        start_us = (
            (time.time_ns() // 1000) // hour_us * hour_us - SPAN_SECONDS * 1_000_000 - hour_us
        )
        log(f"generating {args.clicks:,} clicks on {len(links)} links")
        payloads = maker.payloads(args.clicks, start_us)
        distinct = len({json.loads(p)["sig"].get("user_agent") for p in payloads} - {None})
        log(f"{distinct:,} distinct user agents; filling the stream {key}")
        fill_stream(payloads, args.redis_url, key)
        del payloads
        log(f"draining with one writer (insert: {args.insert}, batch {args.batch_size})")
        drain = run_phase(args, env, "drain", stack)
        spool_file = scratch / "spool-payloads.txt"
        spool_file.write_text("\n".join(maker.payloads(args.spool, start_us)))
        log(f"replaying {args.spool:,} spooled clicks")
        spooled = run_phase(args, env, "spool", stack, payload_file=str(spool_file))
        agents_file = scratch / "agents.json"
        agents_file.write_text(json.dumps([a for group in agents.values() for a in group]))
        sqlite_env = {**env, "DATABASE_URL": f"sqlite:///{scratch / 'direct.sqlite3'}",
                      "CLICK_MODE": "direct"}  # fmt: skip
        sqlite_env.pop("REDIS_URL")
        log(f"recording {args.sqlite:,} clicks directly on SQLite")
        direct = run_phase(args, sqlite_env, "sqlite", stack, payload_file=str(agents_file))

    n = args.clicks
    log(f"\nclassifications: {json.dumps(drain['classes'], sort_keys=True)}; "
        f"events written: {drain['events']:,}")  # fmt: skip
    log(f"writer RSS after the drain: {drain['rss_mib']:.0f} MiB")
    if drain["stages"]:
        stages = drain["stages"]
        calls = stages["calls"]
        # What the measuring itself cost, taken out of the steps and of the rest.
        steps = {
            name: max(0.0, seconds - calls[name] * stages["inside"])
            for name, seconds in stages["seconds"].items()
        }
        measuring = sum(calls.values()) * (stages["inside"] + stages["outside"])
        log(
            "writer CPU per click by step (µs; without the measuring's own cost), "
            "and the wall time the step took (µs per click, waits included):"
        )
        for name, seconds in sorted(steps.items(), key=lambda item: -item[1]):
            log(f"  {name:<40} {seconds / n * 1e6:8.1f}  {stages['wall'][name] / n * 1e6:8.1f}")
        rest = drain["cpu"] - sum(steps.values()) - measuring
        log(f"  {'(everything else)':<40} {rest / n * 1e6:8.1f}")
        log(
            f"  {'(measuring the steps)':<40} {measuring / n * 1e6:8.1f}  "
            f"({stages['inside'] * 1e6:.2f} + {stages['outside'] * 1e6:.2f} µs a call, "
            f"{sum(calls.values()) / n:.1f} calls a click)"
        )
        log(
            f"  writer CPU per click without the measuring: "
            f"{(drain['cpu'] - measuring) / n * 1e6:.1f} µs (RESULT below includes it)"
        )
        collected = drain["gc"]
        log(
            f"  of the above, garbage collection: {collected['seconds'] / n * 1e6:.1f} µs "
            f"({collected['collections']:,} collections)"
        )
    log(
        f"spool replay: {spooled['replayed']:,} clicks in {spooled['seconds']:.2f} s, "
        f"{spooled['replayed'] / spooled['seconds']:,.0f} clicks/s, "
        f"{spooled['cpu'] / max(1, spooled['replayed']) * 1e6:.0f} µs CPU per click"
    )
    log(
        f"sqlite direct: {args.sqlite:,} clicks in {direct['seconds']:.2f} s, "
        f"{args.sqlite / direct['seconds']:,.0f} clicks/s, "
        f"{direct['cpu'] / args.sqlite * 1e6:.0f} µs CPU per click, stored {direct['stored']:,}"
    )
    log(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    log(
        f"RESULT ingest db=postgres clicks={n} seconds={drain['seconds']:.2f} "
        f"clicks_per_s={n / drain['seconds']:.0f} "
        f"cpu_us_per_click={drain['cpu'] / n * 1e6:.1f} clicks_stored={drain['stored']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
