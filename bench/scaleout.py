"""Past one machine: several redirect instances and several click writers on one Redis and one
PostgreSQL, and proof that every answered click is stored exactly once.

    python bench/scaleout.py                              # 2 gunicorn instances, 2 writers
    python bench/scaleout.py --instances 1 --writers 1    # the one-instance baseline
    python bench/scaleout.py --partitioned                # link_clicks partitioned by month
    python bench/scaleout.py --writers-after-load         # the writers' drain rate alone

It creates a scratch PostgreSQL database, migrates it (and with ``--partitioned`` converts
``link_clicks`` with ``partition_clicks --convert``), creates links, starts ``--instances``
gunicorn servers on their own loopback ports (buffered mode: the redirect appends to the Redis
stream) and ``--writers`` click writers (``run_click_writer``) under different consumer names in
the one consumer group. The load balancer is the client: one wrk per instance, all started
together for ``--duration`` seconds, each rotating through every link. Progress (stream backlog,
rows stored) is printed while the load runs.

Afterwards it stops the servers, counts the 302s they answered on ``/track/`` from their access
logs, waits until the writers have drained the stream, stops them and checks: rows stored equal
the 302s answered, no ``click_id`` stored twice, nothing pending in the group. Each writer's
share is the count it reports when it stops ("N clicks written"). With ``--writers-after-load``
the writers start only when the load has stopped, so the stream holds every click (its size per
click is printed) and the drain time (from the moment every writer has started) is the writers' own rate. The last line:

    RESULT scaleout instances=2 writers=2 rps=<n> p99_ms=<n> answered=<n> stored=<n>
    duplicates=0 pending=0 unwritten=0 shares=<a>/<b> drain_s=<n> partitioned=no ok=yes

The spike rule (``CLICK_SPIKE_PER_HOUR``) is off unless ``--keep-spike-rule``: for every person
click it counts the hour's person clicks of the link and of its job, and a benchmark that sends
thousands of clicks a minute to one job turns that into a cost that grows with the run.

Everything shares this machine's cores (servers, writers, Redis, PostgreSQL, wrk), so the figures
say what limits what, not what separate hosts would do. Whichever way it ends it stops every
process it started, deletes its Redis keys and drops the scratch database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import processes  # noqa: E402 - needs the project root on sys.path
from bench.redirect import (  # noqa: E402
    CREATE_LINKS,
    GUNICORN,
    PYTHON,
    PostgresDatabase,
    WrkRun,
    cleanup_redis,
    count_track_302s,
    free_port,
    log,
    run_django,
    server_env,
    wait_healthy,
    wrk_script,
)

WRITER_STOPPED = re.compile(r"click writer (\S+) stopped: (\d+) clicks written")


def check_prerequisites(args: argparse.Namespace) -> None:
    processes.require_command("wrk", "apt-get install -y wrk")
    processes.require_file(GUNICORN, "Install the requirements: pip install -r requirements.txt")
    processes.require_postgres(args.pg_server)
    processes.require_redis(args.redis_url)


class Progress:
    """Prints the stream backlog and the rows stored every few seconds while the load runs."""

    def __init__(self, env: dict[str, str], database: PostgresDatabase, every: float) -> None:
        self.env, self.database, self.every = env, database, every
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import redis

        client = redis.Redis.from_url(self.env["REDIS_URL"])
        key = self.env["CLICK_STREAM_KEY"]
        started = time.monotonic()
        last_rows = 0
        while not self.done.wait(self.every):
            rows = self.database.count_clicks()
            length = client.xlen(key)
            rate = (rows - last_rows) / self.every
            last_rows = rows
            log(
                f"  +{time.monotonic() - started:4.0f} s: {rows} clicks stored "
                f"({rate:.0f}/s), stream length {length}"
            )

    def __enter__(self) -> Progress:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(timeout=10)


def backlog(env: dict[str, str]) -> dict[str, int]:
    """Pending (read, not acknowledged) and unwritten (pending + never read) clicks, straight from
    Redis: spawning Django to ask ``stream.backlog_status`` would cost the writers CPU."""
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"], decode_responses=True)
    key = env["CLICK_STREAM_KEY"]
    try:
        groups = client.xinfo_groups(key)
    except redis.ResponseError:
        return {"pending": 0, "unwritten": 0}  # no stream yet
    group = next((g for g in groups if g["name"] == "writers"), None)
    if group is None:
        length = int(client.xlen(key))
        return {"pending": 0, "unwritten": length}
    pending = int(group["pending"])
    lag = group.get("lag")
    if lag is None:
        # Redis cannot tell after some deletions: any entry past the last delivered one means
        # work left, and the stream length bounds it.
        undelivered = client.xrange(key, min=f"({group['last-delivered-id']}", count=1)
        lag = int(client.xlen(key)) if undelivered else 0
    return {"pending": pending, "unwritten": pending + int(lag)}


def wait_started(logs: list[Path], timeout: float = 120) -> None:
    """Until every writer has printed its start line (Django loaded, group joined)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(path.exists() and "started" in path.read_text(errors="replace") for path in logs):
            return
        time.sleep(0.1)
    raise SystemExit(f"the writers did not start within {timeout:.0f} s")


def wait_drained(env: dict[str, str], timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    last_log = time.monotonic()
    while True:
        status = backlog(env)
        if not status["unwritten"] or time.monotonic() > deadline:
            return status
        if time.monotonic() - last_log >= 5:
            last_log = time.monotonic()
            log(f"  waiting for the writers: {status['unwritten']} clicks unwritten")
        time.sleep(0.2)


def duplicates_and_count(database: PostgresDatabase) -> tuple[int, int]:
    import psycopg2

    conn = psycopg2.connect(database.url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*), count(DISTINCT click_id) FROM link_clicks")
            total, distinct = cursor.fetchone()
            return int(total), int(total) - int(distinct)
    finally:
        conn.close()


def group_consumers(env: dict[str, str]) -> list[dict[str, object]]:
    """XINFO CONSUMERS of the writers' group: what each consumer still has pending."""
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"], decode_responses=True)
    try:
        infos = client.xinfo_consumers(env["CLICK_STREAM_KEY"], "writers")
    except redis.ResponseError:
        return []
    return [dict(info) for info in infos]


def start_wrk(
    stack: contextlib.ExitStack,
    base: str,
    script: Path,
    args: argparse.Namespace,
    output: Path,
) -> processes.ProcessGroup:
    """One wrk against one instance, writing its report to ``output``."""
    with output.open("w") as out:
        return processes.start(
            stack,
            ["wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "-s", str(script), base],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def read_wrk(output: Path, name: str, connections: int) -> WrkRun:
    """The figures of a wrk report written with ``bench/redirect.py``'s counting script."""
    text = output.read_text(errors="replace")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    counts = re.search(r"BENCH n302=(\d+) other=(\d+) p50_us=(\d+) p99_us=(\d+) errors=(\d+)", text)
    if not rps or not counts:
        raise SystemExit(f"could not read wrk's output:\n{text}")
    n302, other, p50, p99, errors = (int(value) for value in counts.groups())
    return WrkRun(
        endpoint=name,
        connections=connections,
        rps=float(rps.group(1)),
        p50_ms=p50 / 1000,
        p99_ms=p99 / 1000,
        n302=n302,
        other=other,
        errors=errors,
    )


def start_writers(
    stack: contextlib.ExitStack, env: dict[str, str], logs: list[Path]
) -> list[processes.ProcessGroup]:
    """One ``run_click_writer`` per log file, consumers ``writer-1``, ``writer-2``, … of one group."""
    writers = []
    for writer_log in logs:
        consumer = writer_log.stem
        log(f"starting click writer {consumer}")
        with writer_log.open("wb") as out:
            writers.append(
                processes.start(
                    stack,
                    [PYTHON, "manage.py", "run_click_writer", "--consumer", consumer],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    return writers


def stream_size(env: dict[str, str]) -> tuple[int, int]:
    """Entries in the click stream and the memory Redis reports for it."""
    import redis

    client = redis.Redis.from_url(env["REDIS_URL"])
    key = env["CLICK_STREAM_KEY"]
    return int(client.xlen(key)), int(client.memory_usage(key, samples=0) or 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=2, help="gunicorn instances (2)")
    parser.add_argument("--writers", type=int, default=2, help="click writers (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers each (2)")
    parser.add_argument(
        "--connections", type=int, default=16, help="wrk connections per instance (16)"
    )
    parser.add_argument("--duration", type=int, default=15, help="seconds of load (15)")
    parser.add_argument("--links", type=int, default=20, help="links to rotate through (20)")
    parser.add_argument(
        "--partitioned",
        action="store_true",
        help="convert link_clicks to monthly partitions (partition_clicks --convert) first",
    )
    parser.add_argument(
        "--writers-after-load",
        action="store_true",
        help="start the writers only once the load has stopped: the stream holds every click, "
        "and the drain time measures the writers alone",
    )
    parser.add_argument(
        "--keep-spike-rule",
        action="store_true",
        help="keep the clicks.spike events on (off by default: see CLICK_SPIKE_PER_HOUR below)",
    )
    parser.add_argument(
        "--pg-server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL"
    )
    parser.add_argument(
        "--pg-name",
        default=f"linktrack_bench_scaleout_{os.getpid()}",
        help="scratch database name (dropped first if it exists; one per run by default)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14", help="Redis URL")
    parser.add_argument(
        "--drain-timeout", type=int, default=300, help="seconds to wait for the writers (300)"
    )
    args = parser.parse_args()
    if args.instances < 1 or args.writers < 1:
        parser.error("--instances and --writers must be at least 1")
    check_prerequisites(args)
    processes.exit_on_signals()

    workdir = Path(tempfile.mkdtemp(prefix="linktrack-scaleout-"))
    prefix = f"scaleout{os.getpid()}"
    database = PostgresDatabase(args.pg_server, args.pg_name)
    ports = [free_port() for _ in range(args.instances)]
    env = {
        **server_env(
            database_url=database.url,
            redis_url=args.redis_url,
            base=f"http://127.0.0.1:{ports[0]}",
            mode="buffered",
            prefix=prefix,
            workdir=workdir,
        ),
        # The spike rule counts the hour's person clicks of the link and of its job for every
        # person click: a benchmark sending thousands a minute to one job makes that quadratic.
        # --keep-spike-rule measures it as configured.
        "CLICK_SPIKE_PER_HOUR": os.environ.get("CLICK_SPIKE_PER_HOUR", "20")
        if args.keep_spike_rule
        else "0",
        # WhiteNoise warns once per worker that the scratch run has no collected static files.
        "PYTHONWARNINGS": "ignore::UserWarning",
    }

    # Closed last-in first-out: writers, servers, then the Redis keys and the database.
    with contextlib.ExitStack() as stack:
        log(f"scratch database at {processes.redacted(database.url)}")
        stack.callback(database.drop)
        database.create()
        stack.callback(cleanup_redis, args.redis_url, prefix)
        run_django(env, "manage.py", "migrate", "--noinput", "-v0")
        if args.partitioned:
            log("partitioning link_clicks by month")
            print(run_django(env, "manage.py", "partition_clicks", "--convert").rstrip())
        log(f"creating {args.links} links")
        output = run_django(env, "-c", CREATE_LINKS % args.links)
        ids: list[str] = json.loads(output.split("IDS ", 1)[1])

        servers = []
        access_logs = []
        for number, port in enumerate(ports, start=1):
            access_log = workdir / f"access-{number}.log"
            access_logs.append(access_log)
            log(f"starting gunicorn #{number} ({args.workers} sync workers) on 127.0.0.1:{port}")
            servers.append(
                processes.start(
                    stack,
                    [
                        str(GUNICORN),
                        "linktrack.wsgi",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        str(args.workers),
                        "--access-logfile",
                        str(access_log),
                        "--access-logformat",
                        "%(s)s %(U)s",
                        "--log-level",
                        "warning",
                    ],
                    cwd=ROOT,
                    env=env,
                )
            )
        for port, server in zip(ports, servers, strict=True):
            wait_healthy(f"http://127.0.0.1:{port}", server.process)

        writer_logs = [workdir / f"writer-{n}.log" for n in range(1, args.writers + 1)]
        writers: list[processes.ProcessGroup] = []
        if not args.writers_after_load:
            writers = start_writers(stack, env, writer_logs)
            wait_started(writer_logs)

        script = wrk_script(workdir, "track", [f"/track/{i}" for i in ids])
        log(
            f"load: {args.instances} wrk runs in parallel, {args.connections} connections each, "
            f"{args.duration} s"
        )
        with Progress(env, database, every=max(1.0, args.duration / 5)):
            # Processes, not threads: whichever way the run ends, the exit stack stops them.
            loads = [
                (
                    f"instance-{number}",
                    start_wrk(
                        stack,
                        f"http://127.0.0.1:{port}",
                        script,
                        args,
                        workdir / f"wrk-{number}.txt",
                    ),
                    workdir / f"wrk-{number}.txt",
                )
                for number, port in enumerate(ports, start=1)
            ]
            for _name, load, _output in loads:
                load.process.wait()
        runs = [read_wrk(output, name, args.connections) for name, _load, output in loads]
        for run in runs:
            log(
                f"  {run.endpoint}: {run.rps:8.0f} rps  p50 {run.p50_ms:6.2f} ms  "
                f"p99 {run.p99_ms:7.2f} ms  302s {run.n302}  other {run.other}  "
                f"socket errors {run.errors}"
            )

        # A server's access log is complete once it has exited.
        log("stopping the servers")
        for server in servers:
            server.stop()
        answered = sum(count_track_302s(access_log) for access_log in access_logs)
        log(f"302s answered on /track/ (access logs): {answered}")
        queued, stream_bytes = stream_size(env)
        left = backlog(env)["unwritten"]
        log(f"when the load stopped: {left} clicks unwritten, stream {queued} entries")
        if args.writers_after_load:
            writers = start_writers(stack, env, writer_logs)
            wait_started(writer_logs)
        drain_started = time.monotonic()
        status = wait_drained(env, args.drain_timeout)
        drain_seconds = time.monotonic() - drain_started
        log(f"drained in {drain_seconds:.1f} s: {status}")
        consumers = group_consumers(env)
        log("stopping the writers")
        for writer in writers:
            writer.stop()
        shares: dict[str, int] = {}
        for writer_log in writer_logs:
            text = writer_log.read_text(errors="replace")
            for name, written in WRITER_STOPPED.findall(text):
                shares[name] = int(written)
        stored, duplicates = duplicates_and_count(database)
        pending, unwritten = status["pending"], status["unwritten"]

    rps = sum(run.rps for run in runs)
    p99 = max(run.p99_ms for run in runs)
    print()
    print(f"instances {args.instances} x {args.workers} workers, writers {args.writers}")
    print(f"requests/s (sum of the wrk runs): {rps:.0f}; worst p99 {p99:.2f} ms")
    print(
        f"302s answered: {answered}; clicks stored: {stored}; click_id stored twice: {duplicates}"
    )
    print(f"pending in the group: {pending}; unwritten: {unwritten}")
    if args.writers_after_load and queued:
        # Nothing was read or trimmed yet: the stream holds exactly the run's clicks.
        print(
            f"stream at the end of the load: {queued} clicks, {stream_bytes / queued:.0f} bytes "
            f"each in Redis; drained in {drain_seconds:.1f} s "
            f"({queued / drain_seconds:.0f} clicks/s)"
        )
    else:
        print(f"unwritten when the load stopped: {left}; drained {drain_seconds:.1f} s later")
    for info in consumers:
        print(f"consumer {info.get('name')}: pending {info.get('pending')}")
    total = sum(shares.values()) or 1
    for name, written in sorted(shares.items()):
        print(f"writer {name}: {written} clicks written ({100 * written / total:.0f} %)")
    share_text = "/".join(str(shares.get(f"writer-{n}", 0)) for n in range(1, args.writers + 1))
    ok = stored == answered and duplicates == 0 and pending == 0 and unwritten == 0
    print(
        f"RESULT scaleout instances={args.instances} writers={args.writers} rps={rps:.0f} "
        f"p99_ms={p99:.2f} answered={answered} stored={stored} duplicates={duplicates} "
        f"pending={pending} unwritten={unwritten} shares={share_text} "
        f"drain_s={drain_seconds:.1f} partitioned={'yes' if args.partitioned else 'no'} "
        f"ok={'yes' if ok else 'no'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
