"""What each middleware, and the click itself, costs a redirect: CPU instructions per request.

    python bench/middleware_costs.py                       # SQLite, direct clicks
    python bench/middleware_costs.py --redis-url redis://127.0.0.1:6379/14   # buffered too

Instructions, not seconds: valgrind (callgrind) counts them, so the figures repeat to a fraction
of a percent on a machine busy with other work, where wall-clock figures move by tens of percent.
Each configuration runs :mod:`bench.one_redirect` twice under valgrind, ``--ops`` requests apart,
and the difference divided by the requests between them is the cost of one request (start-up,
imports and warm-up cancel out). Configurations:

- ``/bench/bare/<id>`` through the product's whole middleware stack, then once more without each
  middleware in turn (``BENCH_WITHOUT_MIDDLEWARE``): the difference is what that middleware costs;
- the same view with no middleware, in the product, and in a project with nothing else
  (:mod:`bench.minimal_settings`: Django's own floor);
- ``/track/<id>`` in direct mode (SQLite), and in buffered mode when ``--redis-url`` is given.

Needs valgrind (``apt-get install -y valgrind``). Takes about a minute per configuration.
"""

from __future__ import annotations

import argparse
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

# The product's middleware, outermost first, as named in linktrack/settings.py.
MIDDLEWARE = (
    "SecurityMiddleware",
    "ContentSecurityPolicyMiddleware",
    "WhiteNoiseMiddleware",
    "SessionMiddleware",
    "CommonMiddleware",
    "CsrfViewMiddleware",
    "AuthenticationMiddleware",
    "OwnerCookieMiddleware",
    "MessageMiddleware",
    "XFrameOptionsMiddleware",
)


@dataclass(frozen=True)
class Config:
    label: str
    endpoint: str  # "bare" or "track"
    env: dict[str, str]


def count_instructions(env: dict[str, str], endpoint: str, workdir: Path, ops: int) -> int:
    """Instructions the driver's whole run takes with ``ops`` requests (every process summed)."""
    out = workdir / f"callgrind.{secrets.token_hex(4)}"
    result = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--trace-children=yes",
            f"--callgrind-out-file={out}.%p",
            PYTHON,
            str(DRIVER),
            "run",
            str(workdir),
            endpoint,
        ],
        cwd=ROOT,
        env={**env, "OPS": str(ops), "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"the driver failed:\n{result.stderr[-3000:]}")
    total = 0
    for path in workdir.glob(f"{out.name}.*"):
        for line in path.read_text().splitlines():
            if line.startswith("summary:"):
                total += int(line.split()[1])
        path.unlink()
    return total


def per_request(config: Config, workdir: Path, low: int, high: int) -> float:
    a = count_instructions(config.env, config.endpoint, workdir, low)
    b = count_instructions(config.env, config.endpoint, workdir, high)
    return (b - a) / (high - low)


def configurations(base: dict[str, str], redis_url: str | None) -> list[Config]:
    everything = ",".join(MIDDLEWARE)
    configs = [Config("bare, all middleware", "bare", base)]
    configs += [
        Config(f"bare, without {name}", "bare", {**base, "BENCH_WITHOUT_MIDDLEWARE": name})
        for name in MIDDLEWARE
    ]
    configs += [
        Config("bare, no middleware", "bare", {**base, "BENCH_WITHOUT_MIDDLEWARE": everything}),
        Config(
            "bare, minimal project",
            "bare",
            {**base, "DJANGO_SETTINGS_MODULE": "bench.minimal_settings"},
        ),
        Config("track, direct (SQLite)", "track", {**base, "CLICK_MODE": "direct"}),
    ]
    if redis_url:
        buffered = {
            **base,
            "CLICK_MODE": "buffered",
            "REDIS_URL": redis_url,
            "CLICK_STREAM_KEY": f"{base['CACHE_KEY_PREFIX']}:clicks",
        }
        configs.append(Config("track, buffered (Redis)", "track", buffered))
    return configs


def cleanup_redis(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=100, help="requests between the two runs (100)")
    parser.add_argument("--redis-url", help="also measure buffered mode, with this Redis")
    parser.add_argument(
        "--only", help="only the configurations whose label contains this text (e.g. track)"
    )
    args = parser.parse_args()
    processes.require_command("valgrind", "apt-get install -y valgrind")
    if args.redis_url:
        processes.require_redis(args.redis_url)

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
        "LINKTRACK_VAR_DIR": str(workdir),
        "STATIC_ROOT": str(workdir),
        "CACHE_KEY_PREFIX": prefix,
        "LOG_LEVEL": "WARNING",
        "CLICK_SPOOL_DIR": str(workdir / "spool"),
    }
    base.pop("REDIS_URL", None)
    try:
        subprocess.run([PYTHON, str(DRIVER), "prepare", str(workdir)], env=base, check=True)
        configs = configurations(base, args.redis_url)
        if args.only:
            configs = [c for c in configs if args.only in c.label]
        results: dict[str, float] = {}
        for config in configs:
            started = time.monotonic()
            results[config.label] = per_request(config, workdir, args.ops // 5, args.ops)
            print(
                f"  {config.label:<42} {results[config.label]:>10,.0f} instructions/request"
                f"  ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
    finally:
        if args.redis_url:
            cleanup_redis(args.redis_url, prefix)
        shutil.rmtree(workdir, ignore_errors=True)

    full = results.get("bare, all middleware")
    if full is not None:
        print()
        print(f"{'middleware (bare redirect)':<34} {'instructions/request':>21}")
        for name in MIDDLEWARE:
            without = results.get(f"bare, without {name}")
            if without is not None:
                print(f"{name:<34} {full - without:>21,.0f}")
        if "bare, no middleware" in results:
            print(f"{'all of them together':<34} {full - results['bare, no middleware']:>21,.0f}")
    print()
    print(f"{'request':<34} {'instructions/request':>21}")
    for label, value in results.items():
        if not label.startswith("bare, without"):
            print(f"{label:<34} {value:>21,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
