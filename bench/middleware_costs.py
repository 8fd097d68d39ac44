"""What each middleware, and the click itself, costs a redirect: CPU instructions per request.

    python bench/middleware_costs.py                       # SQLite, direct clicks
    python bench/middleware_costs.py --redis-url redis://127.0.0.1:6379/14   # buffered too

Instructions, not seconds: valgrind (callgrind) counts them, so the figures repeat to a fraction
of a percent on a machine busy with other work, where wall-clock figures move by tens of percent.
:mod:`bench.one_redirect` sends each kind of request ``--ops`` times in one process, marking the
start and end of each kind, and callgrind writes each kind's instructions apart
(``--dump-before=getppid``); start-up, imports and warm-up stay out. The kinds:

- ``/bench/bare/<id>`` behind the first ``n`` of the product's middleware, for every ``n`` from
  none to all: what the ``n``-th one adds is what it costs the bare redirect (measured so because
  some need those before them: authentication and messages need the session);
- the same view in a project with nothing else (:mod:`bench.minimal_settings`: Django's floor);
- ``/track/<id>`` in direct mode (SQLite), and in buffered mode when ``--redis-url`` is given,
  each through the redirect's own middleware (:mod:`tracking.fastpath`) and through the whole
  stack (``RedirectFastPathMiddleware`` left out).

Needs valgrind (``apt-get install -y valgrind``). Three valgrind processes run side by side; on
an idle 2-core machine the whole takes about two minutes, on a busy one several times that.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import processes  # noqa: E402 - needs the project root on sys.path

PYTHON = sys.executable
DRIVER = ROOT / "bench" / "one_redirect.py"


def middleware_names(env: dict[str, str]) -> list[str]:
    """The class names of the product's ``MIDDLEWARE``, outermost first."""
    result = subprocess.run(
        [
            PYTHON,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(','.join(path.rsplit('.', 1)[1] for path in settings.MIDDLEWARE))",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip().split(",")


@dataclass(frozen=True)
class Run:
    """One valgrind process: request kinds (see :mod:`bench.one_redirect`) under one environment."""

    kinds: list[str]
    env: dict[str, str]
    labels: list[str]


def start(
    stack: contextlib.ExitStack, run: Run, workdir: Path, ops: int, out: Path
) -> subprocess.Popen[str]:
    group = processes.start(
        stack,
        [
            "valgrind",
            "--tool=callgrind",
            "--dump-before=getppid",
            f"--callgrind-out-file={out}",
            PYTHON,
            str(DRIVER),
            "run",
            str(workdir),
            *run.kinds,
        ],
        cwd=ROOT,
        env={**run.env, "OPS": str(ops), "PYTHONHASHSEED": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return group.process  # type: ignore[return-value]


def parts(out: Path) -> dict[int, int]:
    """Instructions of each part callgrind wrote (``out``, ``out.1``, ``out.2``…)."""
    found: dict[int, int] = {}
    for path in out.parent.glob(f"{out.name}*"):
        part = total = None
        for line in path.read_text().splitlines():
            if line.startswith("part:"):
                part = int(line.split()[1])
            elif line.startswith("summary:"):
                total = int(line.split()[1])
        if part is not None and total is not None:
            found[part] = total
        path.unlink()
    return found


def runs(base: dict[str, str], redis_url: str | None, middleware: list[str]) -> list[Run]:
    # Middleware depend on those before them (authentication and messages on sessions), so each
    # one is measured as what it adds to the ones before it: the first n, then the first n + 1.
    kinds = [
        *(f"bare-first:{n}" for n in range(len(middleware) + 1)),
        "track",
        "track-without:RedirectFastPathMiddleware",
    ]
    labels = [
        *(f"bare, first {n}" for n in range(len(middleware) + 1)),
        "track, direct (SQLite)",
        "track, direct, whole stack",
    ]
    planned = [
        Run(kinds, {**base, "CLICK_MODE": "direct"}, labels),
        Run(
            ["bare"],
            {**base, "DJANGO_SETTINGS_MODULE": "bench.minimal_settings"},
            ["bare, minimal project"],
        ),
    ]
    if redis_url:
        buffered = {
            **base,
            "CLICK_MODE": "buffered",
            "REDIS_URL": redis_url,
            "CLICK_STREAM_KEY": f"{base['CACHE_KEY_PREFIX']}:clicks",
        }
        planned.append(
            Run(
                ["track", "track-without:RedirectFastPathMiddleware"],
                buffered,
                ["track, buffered (Redis)", "track, buffered, whole stack"],
            )
        )
    return planned


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def cleanup_redis(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=100, help="requests of each kind (100)")
    parser.add_argument("--redis-url", help="also measure buffered mode, with this Redis")
    args = parser.parse_args()
    processes.require_command("valgrind", "apt-get install -y valgrind")
    if args.redis_url:
        processes.require_redis(args.redis_url)

    processes.exit_on_signals()
    workdir = Path(tempfile.mkdtemp(prefix="linktrack-mwcost-"))
    prefix = f"mwcost{os.getpid()}"
    base = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "PYTHONPATH": str(ROOT),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "TRACKING_BASE_URL": "http://127.0.0.1:8000",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CLICK_MODE": "direct",
        "CLICK_RATE_LIMIT": "1000000000/m",
        # No link lookup may expire during a run: how often it does depends on how long valgrind
        # takes (the machine's load), and each refresh reads the shared cache (Redis).
        "LINK_LOCAL_CACHE_SECONDS": "3600",
        "LINKTRACK_VAR_DIR": str(workdir),
        "STATIC_ROOT": str(workdir),
        "CACHE_KEY_PREFIX": prefix,
        "LOG_LEVEL": "WARNING",
        "CLICK_SPOOL_DIR": str(workdir / "spool"),
    }
    base.pop("REDIS_URL", None)
    results: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        # Closed last-in first-out: the valgrind processes, then Redis keys and the directory.
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        if args.redis_url:
            stack.callback(cleanup_redis, args.redis_url, prefix)
        subprocess.run([PYTHON, str(DRIVER), "prepare", str(workdir)], env=base, check=True)
        started = time.monotonic()
        middleware = middleware_names(base)
        planned = runs(base, args.redis_url, middleware)
        outs = [workdir / f"callgrind.{n}" for n in range(len(planned))]
        children = [
            start(stack, run, workdir, args.ops, out)
            for run, out in zip(planned, outs, strict=True)
        ]
        for run, out, child in zip(planned, outs, children, strict=True):
            _stdout, stderr = child.communicate()
            if child.returncode != 0:
                raise SystemExit(f"the driver failed ({run.kinds}):\n{stderr[-3000:]}")
            counted = parts(out)
            # Part 1 is the start-up; then each kind's part and a gap (the garbage collection
            # between kinds) in turn; the last part runs to the exit.
            if len(counted) != 2 * len(run.kinds) + 1:
                raise SystemExit(f"unexpected parts: callgrind wrote {sorted(counted)}")
            for n, label in enumerate(run.labels):
                results[label] = counted[2 * n + 2] / args.ops
        log(f"counted in {time.monotonic() - started:.0f} s")

    print()
    print(f"{'middleware (bare redirect)':<34} {'instructions/request':>21}")
    for n, name in enumerate(middleware):
        added = results[f"bare, first {n + 1}"] - results[f"bare, first {n}"]
        print(f"{name:<34} {added:>21,.0f}")
    everything = results[f"bare, first {len(middleware)}"] - results["bare, first 0"]
    print(f"{'all of them':<34} {everything:>21,.0f}")
    print()
    print(f"{'request':<34} {'instructions/request':>21}")
    shown = {
        f"bare, first {len(middleware)}": "bare, all middleware",
        "bare, first 0": "bare, no middleware",
    }
    for label, value in results.items():
        if label in shown or not label.startswith("bare, first"):
            print(f"{shown.get(label, label):<34} {value:>21,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
