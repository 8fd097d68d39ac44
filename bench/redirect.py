"""Redirect throughput: ``/track/<id>`` against a bare Django redirect, in the same run.

    python bench/redirect.py --db postgres            # PostgreSQL + Redis, as in production
    python bench/redirect.py --db sqlite              # the embedded default (SQLite, local cache)
    python bench/redirect.py --db postgres --mode buffered

It creates a scratch database (PostgreSQL: a database of its own, dropped at the end; SQLite: a
temporary file), migrates it, creates links (each in its own application, as sent to recruiters),
starts gunicorn with the production settings on a free loopback port, and measures with wrk
(c16 and c64, 10 s each) both ``/track/<id>`` and ``/bench/bare/<id>`` (a redirect that does
nothing else, mounted by ``bench/urls.py`` only, behind the project's whole middleware stack).
A second gunicorn serves the same bare redirect from a project with no apps and no middleware at
all (``bench/minimal_settings.py``): Django's own floor on this machine, measured the same way.
Then it checks that every 302 the server answered on ``/track/`` has its stored click, counting
the 302s from gunicorn's access log: wrk abandons the requests in flight when it stops, so its
own count can be a few short.

The click rate limit is raised out of the way (every request comes from 127.0.0.1), but its check
still runs on every click. Figures depend on the machine and on what else runs on it.

Before it starts anything it checks that wrk and gunicorn are installed and, for ``--db postgres``,
that PostgreSQL and Redis answer. Whichever way it ends (done, an error, Ctrl-C, SIGTERM) it stops
gunicorn and the click writer with all their processes and drops the scratch database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import processes  # noqa: E402 - needs the project root on sys.path

PYTHON = sys.executable
GUNICORN = Path(PYTHON).parent / "gunicorn"
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)

# The counting half of a wrk script (%-formatted with the rest): each thread counts its 302s and
# other answers in n302 / nother (its init() sets them to 0) and gets a number, ``id``; done()
# sums the threads' counts into the BENCH line that run_wrk reads.
WRK_COUNTING = """
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function response(status, headers, body)
  if status == 302 then n302 = n302 + 1 else nother = nother + 1 end
end

function done(summary, latency, requests)
  local a, b = 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("n302")
    b = b + t:get("nother")
  end
  io.write(string.format("BENCH n302=%%d other=%%d p50_us=%%d p99_us=%%d errors=%%d\\n",
    a, b, latency:percentile(50), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""

WRK_SCRIPT = (
    """
local paths = {%(paths)s}
local counter = 0

function init(args)
  n302 = 0
  nother = 0
  wrk.headers["User-Agent"] = "%(ua)s"
  wrk.headers["Accept-Language"] = "en-GB,en;q=0.9"
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
"""
    + WRK_COUNTING
)


def wrk_script(directory: Path, name: str, paths: list[str]) -> Path:
    """A wrk script that rotates through ``paths`` and counts 302s across threads."""
    script = directory / f"{name}.lua"
    lua_paths = ", ".join(json.dumps(path) for path in paths)
    # Lua's own % signs make str.format awkward; %-formatting with a mapping is clearer here.
    script.write_text(WRK_SCRIPT % {"ua": USER_AGENT, "paths": lua_paths})
    return script


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WrkRun:
    endpoint: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    n302: int
    other: int
    errors: int


# --- Databases ------------------------------------------------------------------------------


class ScratchDatabase:
    """A database that exists for one run."""

    url: str

    def create(self) -> None:
        raise NotImplementedError

    def count_clicks(self) -> int:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError


class PostgresDatabase(ScratchDatabase):
    def __init__(self, server_url: str, name: str) -> None:
        self.server_url = server_url.rstrip("/")
        self.name = name
        self.url = f"{self.server_url}/{name}"

    def _admin(self, sql: str) -> None:
        import psycopg2

        conn = psycopg2.connect(f"{self.server_url}/postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
        finally:
            conn.close()

    def create(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{self.name}"')

    def count_clicks(self) -> int:
        import psycopg2

        conn = psycopg2.connect(self.url)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM link_clicks")
                return int(cursor.fetchone()[0])
        finally:
            conn.close()

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class SqliteDatabase(ScratchDatabase):
    def __init__(self, directory: Path) -> None:
        self.path = directory / "bench.sqlite3"
        self.url = f"sqlite:///{self.path}"

    def create(self) -> None:
        self.path.unlink(missing_ok=True)

    def count_clicks(self) -> int:
        conn = sqlite3.connect(self.path)
        try:
            return int(conn.execute("SELECT count(*) FROM link_clicks").fetchone()[0])
        finally:
            conn.close()

    def drop(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


# --- Click modes ----------------------------------------------------------------------------


class ClickRecording:
    """What a click mode needs around the measurement: direct mode stores clicks inside the
    request, so there is nothing to start and nothing to wait for."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def start(self, stack: contextlib.ExitStack) -> None:
        pass

    def drain(self, database: ScratchDatabase, expected: int) -> None:
        pass

    def stop(self) -> None:
        pass


class BufferedRecording(ClickRecording):
    """Buffered mode: a click writer runs beside gunicorn (competing for the same CPUs) while wrk
    measures; afterwards it is stopped and ``run_click_writer --drain`` writes what is left, so
    every click is in the database before counting."""

    def __init__(self, env: dict[str, str], options: list[str]) -> None:
        super().__init__(env)
        self.options = options
        self.writer: processes.ProcessGroup | None = None

    def start(self, stack: contextlib.ExitStack) -> None:
        log("starting the click writer")
        self.writer = processes.start(
            stack,
            [PYTHON, "manage.py", "run_click_writer", "--consumer", "bench-writer", *self.options],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
        )

    def backlog(self) -> str:
        return run_django(
            self.env,
            "-c",
            "import django; django.setup(); from tracking.clicks import stream; "
            "print(stream.backlog_status())",
        ).strip()

    def drain(self, database: ScratchDatabase, expected: int) -> None:
        log(f"backlog when the load stopped: {self.backlog()}")
        self.stop()
        started = time.monotonic()
        run_django(self.env, "manage.py", "run_click_writer", "--drain", "--consumer", "drain")
        log(f"drained in {time.monotonic() - started:.1f} s: {self.backlog()}")

    def stop(self) -> None:
        if self.writer is not None:
            self.writer.stop()


# --- The run --------------------------------------------------------------------------------


def run_django(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [PYTHON, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args[:3])} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


CREATE_LINKS = """
import json, django
django.setup()
from tracking import services
from tracking.models import Job, JobApplication
job = Job.objects.create(title="Benchmark", company_name="Example Corp")
ids = []
for n in range(%d):
    application = JobApplication.objects.create(job=job)
    link = services.create_tracked_link(
        original_url="https://linkedin.com/in/steve-glen", link_function="LinkedIn",
        link_type="profile", job_id=job.id, application_id=application.id, created_by="bench")
    ids.append(link["tracking_id"])
print("IDS " + json.dumps(ids))
"""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # the floor project's only page is a redirect: its 302 is the answer


def wait_healthy(base: str, server: subprocess.Popen[bytes], path: str = "/track/health") -> None:
    opener = urllib.request.build_opener(_NoRedirects)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        try:
            with opener.open(f"{base}{path}", timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code == 302:
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not become healthy within 60 s")


def start_gunicorn(
    stack: contextlib.ExitStack,
    app: str,
    port: int,
    workers: int,
    env: dict[str, str],
    access_log: Path | None = None,
) -> processes.ProcessGroup:
    logging = (
        ["--access-logfile", str(access_log), "--access-logformat", "%(s)s %(U)s"]
        if access_log
        else []
    )
    return processes.start(
        stack,
        [
            str(GUNICORN),
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *logging,
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )


def run_wrk(base: str, script: Path, connections: int, seconds: int, endpoint: str) -> WrkRun:
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    )
    rps_match = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    bench_match = re.search(
        r"BENCH n302=(\d+) other=(\d+) p50_us=(\d+) p99_us=(\d+) errors=(\d+)", result.stdout
    )
    if not rps_match or not bench_match:
        raise SystemExit(f"could not read wrk's output:\n{result.stdout}\n{result.stderr}")
    n302, other, p50, p99, errors = (int(value) for value in bench_match.groups())
    return WrkRun(
        endpoint=endpoint,
        connections=connections,
        rps=float(rps_match.group(1)),
        p50_ms=p50 / 1000,
        p99_ms=p99 / 1000,
        n302=n302,
        other=other,
        errors=errors,
    )


def count_track_302s(access_log: Path) -> int:
    count = 0
    with access_log.open() as lines:
        for line in lines:
            status, _, path = line.strip().partition(" ")
            if status == "302" and path.startswith("/track/"):
                count += 1
    return count


def cleanup_redis(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])


def server_env(
    *,
    database_url: str,
    redis_url: str | None,
    base: str,
    mode: str,
    prefix: str,
    workdir: Path,
) -> dict[str, str]:
    """The environment of the servers and writers a benchmark starts: the production settings
    (``bench.settings``) on the scratch database, with Redis keys under ``prefix`` and every file
    in ``workdir``. Without ``redis_url`` there is no Redis at all (the embedded default)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DATABASE_URL": database_url,
        "TRACKING_BASE_URL": base,
        "ALLOWED_HOSTS": "127.0.0.1",
        "CLICK_MODE": mode,
        # Every request comes from 127.0.0.1: lift the limit, keep its cost.
        "CLICK_RATE_LIMIT": "1000000000/m",
        "LINKTRACK_VAR_DIR": str(workdir),
        "CACHE_KEY_PREFIX": prefix,
        "LOG_LEVEL": "WARNING",
        "CLICK_STREAM_KEY": f"{prefix}:clicks",
        "CLICK_SPOOL_DIR": str(workdir / "spool"),
    }
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def check_prerequisites(args: argparse.Namespace) -> None:
    """Everything the run needs, before it creates or starts anything."""
    processes.require_command("wrk", "apt-get install -y wrk")
    processes.require_file(GUNICORN, "Install the requirements: pip install -r requirements.txt")
    if args.db == "postgres":
        processes.require_postgres(args.pg_server)
        processes.require_redis(args.redis_url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), required=True)
    parser.add_argument("--mode", choices=("direct", "buffered"), default="direct")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (10)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (4)")
    parser.add_argument("--links", type=int, default=20, help="links to rotate through (20)")
    parser.add_argument(
        "--pg-server", default="postgres://postgres@127.0.0.1:5432", help="PostgreSQL server URL"
    )
    parser.add_argument(
        "--pg-name",
        default=f"linktrack_bench_{os.getpid()}",
        help="scratch database name (dropped first if it exists; by default one per run, so "
        "that two runs side by side do not drop each other's)",
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/14", help="Redis for --db postgres"
    )
    parser.add_argument(
        "--writer-option",
        action="append",
        default=[],
        help="extra run_click_writer argument for --mode buffered (repeat: --writer-option=--nice "
        "--writer-option=10)",
    )
    args = parser.parse_args()
    if args.mode == "buffered" and args.db != "postgres":
        parser.error("--mode buffered needs Redis: use --db postgres")
    check_prerequisites(args)
    processes.exit_on_signals()

    workdir = Path(tempfile.mkdtemp(prefix="linktrack-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    prefix = f"bench{os.getpid()}"
    database: ScratchDatabase = (
        PostgresDatabase(args.pg_server, args.pg_name)
        if args.db == "postgres"
        else SqliteDatabase(workdir)
    )
    env = server_env(
        database_url=database.url,
        redis_url=args.redis_url if args.db == "postgres" else None,
        base=base,
        mode=args.mode,
        prefix=prefix,
        workdir=workdir,
    )
    recording: ClickRecording = (
        BufferedRecording(env, args.writer_option)
        if args.mode == "buffered"
        else ClickRecording(env)
    )

    access_log = workdir / "access.log"
    # Closed last-in first-out: the click writer, gunicorn, Redis keys, the database, the folder.
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        log(f"scratch database ({args.db}) at {processes.redacted(database.url)}")
        stack.callback(database.drop)
        database.create()
        if args.db == "postgres":
            stack.callback(cleanup_redis, args.redis_url, prefix)
        run_django(env, "manage.py", "migrate", "--noinput", "-v0")
        log(f"creating {args.links} links")
        output = run_django(env, "-c", CREATE_LINKS % args.links)
        ids: list[str] = json.loads(output.split("IDS ", 1)[1])

        log(f"starting gunicorn ({args.workers} sync workers) on {base}")
        server = start_gunicorn(stack, "linktrack.wsgi", port, args.workers, env, access_log)
        wait_healthy(base, server.process)
        # The floor: the same bare redirect in a project with no middleware, apps or database.
        floor_port = free_port()
        floor_base = f"http://127.0.0.1:{floor_port}"
        log(f"starting the floor project (bench.minimal_settings) on {floor_base}")
        floor_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.minimal_settings"}
        floor = start_gunicorn(stack, "bench.minimal_wsgi", floor_port, args.workers, floor_env)
        wait_healthy(floor_base, floor.process, f"/bench/bare/{ids[0]}")
        recording.start(stack)

        bare_paths = [f"/bench/bare/{i}" for i in ids]
        scripts = {
            "track": wrk_script(workdir, "track", [f"/track/{i}" for i in ids]),
            "bare": wrk_script(workdir, "bare", bare_paths),
            "floor": wrk_script(workdir, "floor", bare_paths),
        }
        bases = {"track": base, "bare": base, "floor": floor_base}
        log("warming up (2 s each)")
        for endpoint, script in scripts.items():
            run_wrk(bases[endpoint], script, 16, 2, endpoint)

        runs: dict[tuple[str, int], WrkRun] = {}
        for connections in (16, 64):
            for endpoint in ("floor", "bare", "track"):
                log(f"wrk c{connections} {args.duration}s on /{endpoint} …")
                run = run_wrk(
                    bases[endpoint], scripts[endpoint], connections, args.duration, endpoint
                )
                runs[(endpoint, connections)] = run
                log(
                    f"  {endpoint:5} c{connections}: {run.rps:8.0f} rps  p50 {run.p50_ms:6.2f} ms"
                    f"  p99 {run.p99_ms:7.2f} ms  302s {run.n302}  other {run.other}"
                    f"  socket errors {run.errors}"
                )
        # gunicorn stops first: its access log is complete once it has exited.
        log("stopping gunicorn")
        floor.stop()
        server.stop()
        expected = count_track_302s(access_log)
        recording.drain(database, expected)
        stored = database.count_clicks()

    print()
    print(
        f"{'conns':>5} {'track rps':>10} {'bare rps':>10} {'ratio':>6} {'floor rps':>10} "
        f"{'/floor':>6} {'p50 ms':>7} {'bare p50':>8} {'p99 ms':>7} {'bare p99':>8} "
        f"{'floor p99':>9}"
    )
    for connections in (16, 64):
        track, bare = runs[("track", connections)], runs[("bare", connections)]
        floor_run = runs[("floor", connections)]
        print(
            f"{connections:>5} {track.rps:>10.0f} {bare.rps:>10.0f} {track.rps / bare.rps:>6.2f} "
            f"{floor_run.rps:>10.0f} {track.rps / floor_run.rps:>6.2f} "
            f"{track.p50_ms:>7.2f} {bare.p50_ms:>8.2f} {track.p99_ms:>7.2f} {bare.p99_ms:>8.2f} "
            f"{floor_run.p99_ms:>9.2f}"
        )
    print(
        "ratio: /track/ against the bare redirect behind the whole middleware stack; /floor: "
        "against the bare redirect of a project with no middleware (bench/minimal_settings.py)"
    )
    print(f"302s answered on /track/ (server access log): {expected}; clicks stored: {stored}")
    track, bare, floor_run = runs[("track", 64)], runs[("bare", 64)], runs[("floor", 64)]
    print(
        f"RESULT mode={args.mode} db={args.db} rps={track.rps:.0f} bare_rps={bare.rps:.0f} "
        f"ratio={track.rps / bare.rps:.2f} p99_ms={track.p99_ms:.2f} "
        f"bare_p99_ms={bare.p99_ms:.2f} clicks_expected={expected} clicks_stored={stored} "
        f"floor_rps={floor_run.rps:.0f} floor_ratio={track.rps / floor_run.rps:.2f}"
    )
    return 0 if stored == expected else 1


if __name__ == "__main__":
    sys.exit(main())
