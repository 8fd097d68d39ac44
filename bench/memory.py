"""Memory over a million clicks: the RSS of every gunicorn worker and of the click writer, chunk
after chunk, in buffered mode on PostgreSQL + Redis.

    python bench/memory.py                          # 1,000,000 clicks in 10 chunks
    python bench/memory.py --clicks 60000           # a quick look
    python bench/memory.py --workers 4 --chunks 20

It creates a scratch PostgreSQL database (``--database-url``, dropped at the end), migrates it,
creates ``--links`` links (each in its own application), starts gunicorn with the production
settings on a free loopback port (``--workers`` sync workers) and one click writer, then sends
``--clicks`` requests to ``/track/<id>`` with wrk in ``--chunks`` chunks. Every request makes the
per-process caches work: a User-Agent drawn from ``--agents`` distinct synthetic strings (browsers
built from version numbers, some bots and tools; more than the classifier's agent cache holds) and
a client address from ``X-Forwarded-For``, drawn from a thousand IPv4 networks and from IPv6
(``TRUSTED_PROXIES=127.0.0.1/32``, so the server believes the header). A chunk ends once the
server's access log holds its share of requests (wrk is then interrupted: it cannot stop at a
count by itself).

After each chunk it reads ``VmRSS`` from ``/proc/<pid>/status`` for each worker (the master's
children) and for the writer, and prints a progress line. At the end it waits for the writer to
drain the stream (its RSS is read once more), stops gunicorn and checks that every 302 answered on
``/track/`` (counted from the access log) has its stored click. It prints a table and one line:

    RESULT memory clicks=<n> worker_rss_mib_start=<m> worker_rss_mib_end=<m>
    writer_rss_mib_start=<m> writer_rss_mib_end=<m> writer_rss_mib_drained=<m> stored=<n>

"start" is after the first chunk (the processes warm), "end" after the last; a worker's figure is
the largest of the workers. The rate limit is lifted (``CLICK_RATE_LIMIT``) as in
``bench/redirect.py``, and the spike rule is off as in ``bench/scaleout.py`` (its per-click counts
grow with a benchmark's one busy job). Whichever way it ends it stops every process it started,
deletes its Redis keys and drops the scratch database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import processes  # noqa: E402 - needs the project root on sys.path
from bench.redirect import (  # noqa: E402
    CREATE_LINKS,
    GUNICORN,
    WRK_COUNTING,
    BufferedRecording,
    PostgresDatabase,
    cleanup_redis,
    count_track_302s,
    free_port,
    log,
    run_django,
    server_env,
    start_gunicorn,
    wait_healthy,
)
from bench.scaleout import backlog, read_wrk, wait_drained  # noqa: E402

WRK_SCRIPT = (
    """
local paths = {%(paths)s}
local agents = {}
local networks = {}

function init(args)
  n302 = 0
  nother = 0
  for line in io.lines(args[1]) do agents[#agents + 1] = line end
  -- The same networks in every thread and chunk; the draws from them differ.
  math.randomseed(20261124)
  local firsts = {2, 5, 23, 31, 37, 41, 45, 46, 62, 77, 78, 80, 81, 82, 84, 86, 88, 89, 91, 92,
    93, 94, 95, 109, 151, 176, 178, 185, 188, 193, 194, 195, 212, 213, 217}
  for i = 1, 1000 do
    networks[i] = firsts[math.random(#firsts)] .. "." .. math.random(0, 255)
  end
  math.randomseed(tonumber(args[2]) * 1000 + id)
  headers = {["Accept-Language"] = "en-GB,en;q=0.9"}
end

local function address()
  if math.random(10) == 1 then
    return string.format("2a02:%%x:%%x:%%x::%%x", math.random(0, 65535), math.random(0, 65535),
      math.random(0, 65535), math.random(1, 65535))
  end
  return networks[math.random(#networks)] .. "." .. math.random(0, 255) .. "." ..
    math.random(1, 254)
end

function request()
  headers["User-Agent"] = agents[math.random(#agents)]
  headers["X-Forwarded-For"] = address()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
"""
    + WRK_COUNTING
)

WINDOWS = "Windows NT 10.0; Win64; x64"
MAC = "Macintosh; Intel Mac OS X 10_15_7"


def _browser(rng: random.Random) -> str:
    major = rng.randint(100, 131)
    build, patch = rng.randint(4800, 6800), rng.randint(0, 250)
    chrome = f"Chrome/{major}.0.{build}.{patch}"
    webkit = "AppleWebKit/537.36 (KHTML, like Gecko)"
    family = rng.random()
    if family < 0.35:
        system = rng.choice((WINDOWS, MAC, "X11; Linux x86_64"))
        return f"Mozilla/5.0 ({system}) {webkit} {chrome} Safari/537.36"
    if family < 0.55:
        android = f"Linux; Android {rng.randint(9, 15)}; K"
        return f"Mozilla/5.0 ({android}) {webkit} {chrome} Mobile Safari/537.36"
    if family < 0.70:
        edge = f"Edg/{major}.0.{rng.randint(1000, 2900)}.{rng.randint(0, 120)}"
        return f"Mozilla/5.0 ({WINDOWS}) {webkit} {chrome} Safari/537.36 {edge}"
    if family < 0.85:
        version = f"{rng.randint(100, 133)}.0"
        if rng.random() < 0.5:
            version += f".{rng.randint(1, 3)}"
        system = rng.choice((WINDOWS, "Macintosh; Intel Mac OS X 10.15", "X11; Linux x86_64"))
        return f"Mozilla/5.0 ({system}; rv:{version}) Gecko/20100101 Firefox/{version}"
    ios = f"{rng.randint(15, 18)}_{rng.randint(0, 7)}"
    mobile = f"Mobile/{rng.randint(15, 22)}{rng.choice('ABCDEFG')}{rng.randint(1, 400)}"
    return (
        f"Mozilla/5.0 (iPhone; CPU iPhone OS {ios} like Mac OS X) AppleWebKit/605.1.15 "
        f"(KHTML, like Gecko) Version/{ios.replace('_', '.')} {mobile} Safari/604.1"
    )


def _bot(rng: random.Random) -> str:
    a, b, c = rng.randint(1, 9), rng.randint(0, 40), rng.randint(0, 12)
    return rng.choice(
        (
            f"curl/{rng.choice((7, 8))}.{b}.{c}",
            f"python-requests/2.{b}.{c}",
            f"Wget/1.{b}.{c}",
            f"okhttp/{rng.choice((3, 4))}.{b}.{c}",
            f"Mozilla/5.0 (compatible; Googlebot/2.{a}; +http://www.google.com/bot.html)",
            f"Mozilla/5.0 (compatible; bingbot/2.{a}; +http://www.bing.com/bingbot.htm)",
            f"Mozilla/5.0 (compatible; AhrefsBot/{a}.{b}; +http://ahrefs.com/robot/)",
            f"facebookexternalhit/1.{a} (+http://www.facebook.com/externalhit_uatext.php)",
            f"Slackbot-LinkExpanding 1.{a} (+https://api.slack.com/robots)",
        )
    )


def user_agents(count: int, seed: int = 7) -> list[str]:
    """``count`` distinct realistic User-Agent strings, about one in twenty a bot or a tool."""
    rng = random.Random(seed)
    agents: dict[str, None] = {}
    while len(agents) < count:
        agents[_bot(rng) if rng.random() < 0.05 else _browser(rng)] = None
    return list(agents)


# --- Processes' memory ----------------------------------------------------------------------


def rss_mib(pid: int) -> float | None:
    """The resident set of ``pid`` (``VmRSS``), or None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers, for its master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …": comm may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


@dataclass
class Sample:
    label: str
    requests: int
    workers: dict[int, float] = field(default_factory=dict)
    writer: float | None = None
    stored: int = 0
    unwritten: int = 0

    @property
    def worker_max(self) -> float:
        return max(self.workers.values(), default=0.0)


def sample(
    label: str,
    requests: int,
    master: int,
    writer: int,
    database: PostgresDatabase,
    env: dict[str, str],
) -> Sample:
    workers = {pid: rss for pid in children(master) if (rss := rss_mib(pid)) is not None}
    return Sample(
        label=label,
        requests=requests,
        workers=workers,
        writer=rss_mib(writer),
        stored=database.count_clicks(),
        unwritten=backlog(env)["unwritten"],
    )


# --- The load -------------------------------------------------------------------------------


class AccessLog:
    """Counts the ``/track/`` requests in gunicorn's access log as it grows, reading each line
    once (the log reaches a million lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.requests = 0

    def count(self) -> int:
        if not self.path.exists():
            return self.requests
        with self.path.open("rb") as lines:
            lines.seek(self.offset)
            for line in lines:
                if not line.endswith(b"\n"):
                    break  # half written: read again next time
                self.offset += len(line)
                if b" /track/" in line:
                    self.requests += 1
        return self.requests


# How long after its start wrk surely handles SIGINT (by printing its report, see run_chunk).
WRK_SIGNAL_READY_S = 1.0


def run_chunk(
    stack: contextlib.ExitStack,
    base: str,
    script: Path,
    agents: Path,
    number: int,
    connections: int,
    access: AccessLog,
    until: int,
    output: Path,
) -> None:
    """wrk until the access log holds ``until`` requests, then SIGINT: wrk prints its report."""
    # wrk passes the arguments after "--" to the script's init().
    command = ["wrk", "-t2", f"-c{connections}", "-d24h", "-s", str(script), base, "--"]
    with output.open("w") as out:
        wrk = processes.start(
            stack,
            [*command, str(agents), str(number)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    started = time.monotonic()
    while access.count() < until:
        if wrk.process.poll() is not None:
            raise SystemExit(f"wrk exited early:\n{output.read_text(errors='replace')}")
        time.sleep(0.2)
    # wrk installs its SIGINT handler only once its threads run, and they send requests at once:
    # a small chunk can be done before that, and SIGINT would then kill wrk before its report.
    time.sleep(max(0.0, WRK_SIGNAL_READY_S - (time.monotonic() - started)))
    wrk.process.send_signal(signal.SIGINT)
    try:
        wrk.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        wrk.stop()


def print_table(samples: list[Sample]) -> None:
    print()
    print(
        f"{'after':>9} {'requests':>10} {'worker RSS max':>15} {'workers':>22} "
        f"{'writer RSS':>11} {'stored':>9} {'unwritten':>10}"
    )
    for row in samples:
        workers = "/".join(f"{rss:.0f}" for rss in row.workers.values())
        writer = f"{row.writer:.1f}" if row.writer is not None else "-"
        print(
            f"{row.label:>9} {row.requests:>10,} {row.worker_max:>11.1f} MiB {workers:>22} "
            f"{writer:>7} MiB {row.stored:>9,} {row.unwritten:>10,}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=1_000_000, help="requests (1,000,000)")
    parser.add_argument("--chunks", type=int, default=10, help="chunks, RSS after each (10)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--links", type=int, default=100, help="links to spread over (100)")
    parser.add_argument("--agents", type=int, default=20_000, help="distinct User-Agents (20,000)")
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/linktrack_bench_memory",
        help="scratch PostgreSQL database: created, dropped at the end",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14", help="Redis URL")
    parser.add_argument(
        "--drain-timeout", type=int, default=3600, help="seconds to wait for the writer (3600)"
    )
    parser.add_argument(
        "--writer-option",
        action="append",
        default=[],
        help="extra run_click_writer argument (repeat: --writer-option=--nice --writer-option=10)",
    )
    args = parser.parse_args()
    if args.clicks < args.chunks or args.chunks < 1:
        parser.error("--clicks must be at least --chunks, and --chunks at least 1")
    server_url, _, name = args.database_url.rpartition("/")
    processes.require_command("wrk", "apt-get install -y wrk")
    processes.require_file(GUNICORN, "Install the requirements: pip install -r requirements.txt")
    processes.require_postgres(server_url)
    processes.require_redis(args.redis_url)
    processes.exit_on_signals()

    workdir = Path(tempfile.mkdtemp(prefix="linktrack-memory-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    prefix = f"memory{os.getpid()}"
    database = PostgresDatabase(server_url, name)
    env = server_env(
        database_url=database.url,
        redis_url=args.redis_url,
        base=base,
        mode="buffered",
        prefix=prefix,
        workdir=workdir,
    )
    env.update(
        # wrk sends each request with another client address in X-Forwarded-For.
        TRUSTED_PROXIES="127.0.0.1/32",
        # The spike rule's per-click counts grow with one busy job: see bench/scaleout.py.
        CLICK_SPIKE_PER_HOUR="0",
        # WhiteNoise warns once per worker that the scratch run has no collected static files.
        PYTHONWARNINGS="ignore::UserWarning",
    )
    recording = BufferedRecording(env, args.writer_option)
    access_log = workdir / "access.log"
    samples: list[Sample] = []

    # Closed last-in first-out: wrk, the writer, gunicorn, Redis keys, the database, the folder.
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        log(f"scratch database at {processes.redacted(database.url)}")
        stack.callback(database.drop)
        database.create()
        stack.callback(cleanup_redis, args.redis_url, prefix)
        run_django(env, "manage.py", "migrate", "--noinput", "-v0")
        log(f"creating {args.links} links")
        output = run_django(env, "-c", CREATE_LINKS % args.links)
        ids: list[str] = json.loads(output.split("IDS ", 1)[1])
        agents = user_agents(args.agents)
        agents_file = workdir / "agents.txt"
        agents_file.write_text("\n".join(agents) + "\n")
        script = workdir / "track.lua"
        script.write_text(WRK_SCRIPT % {"paths": ", ".join(json.dumps(f"/track/{i}") for i in ids)})
        log(f"{len(agents)} distinct User-Agents; client addresses from X-Forwarded-For")

        log(f"starting gunicorn ({args.workers} sync workers) on {base}")
        server = start_gunicorn(stack, "linktrack.wsgi", port, args.workers, env, access_log)
        wait_healthy(base, server.process)
        recording.start(stack)
        assert recording.writer is not None
        writer_pid = recording.writer.process.pid
        master = server.process.pid

        access = AccessLog(access_log)
        started = time.monotonic()
        first_workers: set[int] = set()
        for number in range(1, args.chunks + 1):
            target = args.clicks * number // args.chunks
            chunk_started = time.monotonic()
            before = access.count()
            run_chunk(
                stack,
                base,
                script,
                agents_file,
                number,
                args.connections,
                access,
                target,
                workdir / f"wrk-{number}.txt",
            )
            run = read_wrk(workdir / f"wrk-{number}.txt", f"chunk-{number}", args.connections)
            requests = access.count()
            row = sample(f"chunk {number}", requests, master, writer_pid, database, env)
            samples.append(row)
            first_workers = first_workers or set(row.workers)
            if set(row.workers) != first_workers:
                log(f"  the workers changed: {sorted(first_workers)} -> {sorted(row.workers)}")
            rate = (requests - before) / (time.monotonic() - chunk_started)
            workers = ", ".join(f"{pid}: {rss:.1f}" for pid, rss in row.workers.items())
            log(
                f"chunk {number}/{args.chunks}: {requests:,} requests ({rate:.0f}/s, wrk "
                f"non-302 {run.other}, errors {run.errors}); worker RSS MiB {{{workers}}}; "
                f"writer RSS {row.writer or 0:.1f} MiB; stored {row.stored:,}, "
                f"unwritten {row.unwritten:,}"
            )
        log(f"load done in {time.monotonic() - started:.0f} s; waiting for the writer to drain")
        status = wait_drained(env, args.drain_timeout)
        samples.append(sample("drained", access.count(), master, writer_pid, database, env))
        log(f"writer done: {status}; writer RSS {samples[-1].writer or 0:.1f} MiB")

        # gunicorn stops first: its access log is complete once it has exited.
        log("stopping gunicorn")
        server.stop()
        expected = count_track_302s(access_log)
        recording.drain(database, expected)
        stored = database.count_clicks()

    print_table(samples)
    first, last, drained = samples[0], samples[-2], samples[-1]
    print(f"302s answered on /track/ (server access log): {expected}; clicks stored: {stored}")
    print(
        f"RESULT memory clicks={expected} worker_rss_mib_start={first.worker_max:.1f} "
        f"worker_rss_mib_end={last.worker_max:.1f} writer_rss_mib_start={first.writer or 0:.1f} "
        f"writer_rss_mib_end={last.writer or 0:.1f} "
        f"writer_rss_mib_drained={drained.writer or 0:.1f} stored={stored}"
    )
    return 0 if stored == expected else 1


if __name__ == "__main__":
    sys.exit(main())
