"""What routing rules add to a redirect: ``/track/<id>`` through rules against a plain link.

    .venv/bin/python bench/redirect_rules.py --prepare              # once: the template database
    .venv/bin/python bench/redirect_rules.py                        # wall clock, every scenario
    bench/instructions_per_op.sh 50 250 \\
        .venv/bin/python bench/redirect_rules.py --scenario rules   # instructions per redirect

Each redirect goes through Django's WSGI handler with the production settings (``bench.settings``)
on SQLite in direct mode, as gunicorn would call it, the click's INSERT included; the link cache is
warm (its local TTL is raised so that a slow run under valgrind does not reload it). Every request
comes from another address, so the per-address caches (geo lookups, the rate limit's bucket) do
not flatter any scenario, and a geo database is configured in every scenario, as in production.

Scenarios (``--scenario``, or all of them for the wall clock):

- ``plain``: a link without rules;
- ``rules``: a device, an OS, a time and a referrer rule that all fail, then a two-variant A/B
  split: every condition is evaluated before the variant is picked (the costliest path);
- ``country``: a country rule that fails, then the A/B split; in direct mode the click's own geo
  lookup follows and finds the answer cached;
- ``lookup``: only the country lookup a rule makes (``routing.Visitor.country``) for a new
  address: what a country rule adds to a buffered redirect, which does no geo lookup otherwise.

With ``OPS`` in the environment (as ``instructions_per_op.sh`` sets it), one scenario runs ``OPS``
operations after its setup and prints nothing else. The template database lives in
``--template`` (default ``var/bench-redirect-rules.sqlite3``) and each run works on a copy.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCENARIOS = ("plain", "rules", "country", "lookup")
LINKS = {"plain": "bench_plain", "rules": "bench_rules", "country": "bench_country"}
DESTINATION = "https://linkedin.com/in/steve-glen"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)
# The geo database maps this /8 to a country (any made-up network does: the file is ours).
GEO_NETWORK = "81.0.0.0/8"


def configure(database: Path, workdir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "false",
            "SECRET_KEY": "bench-" + "x" * 50,
            "DATABASE_URL": f"sqlite:///{database}",
            "TRACKING_BASE_URL": "http://127.0.0.1:8000",
            "ALLOWED_HOSTS": "127.0.0.1",
            "CLICK_MODE": "direct",
            "CLICK_RATE_LIMIT": "1000000000/m",
            "LINK_LOCAL_CACHE_SECONDS": "3600",
            "LINKTRACK_VAR_DIR": str(workdir),
            "LOG_LEVEL": "WARNING",
            "GEOIP_CITY_PATH": str(workdir / "country.mmdb"),
        }
    )
    os.environ.pop("REDIS_URL", None)
    (workdir / "staticfiles").mkdir(exist_ok=True)  # whitenoise warns without it
    import django

    django.setup()


def prepare(template: Path) -> None:
    """Migrate a fresh database, write the geo file beside it and create the three links."""
    from django.core.management import call_command

    from tracking import geo, services

    call_command("migrate", verbosity=0)
    geo.write_database(
        Path(os.environ["GEOIP_CITY_PATH"]),
        database_type="GeoLite2-Country",
        description="linktrack bench",
        networks={GEO_NETWORK: {"country": {"iso_code": "DE", "names": {"en": "Germany"}}}},
    )
    for tracking_id in LINKS.values():
        services.create_tracked_link(
            original_url=DESTINATION,
            link_function="Portfolio",
            link_type="portfolio",
            tracking_id=tracking_id,
        )
    variants = [
        {"rule_type": "ab_test", "destination_url": f"https://example.org/{name}", "priority": 9}
        for name in ("a", "b")
    ]
    services.replace_link_rules(
        tracking_id=LINKS["rules"],
        rules=[
            {
                "rule_type": "device",
                "conditions": {"device_types": ["mobile", "tablet"]},
                "destination_url": "https://example.org/mobile",
            },
            {
                "rule_type": "os",
                "conditions": {"os": ["ios", "android"]},
                "destination_url": "https://example.org/phone",
                "priority": 1,
            },
            {
                "rule_type": "time",
                "conditions": {"from": "2020-01-01", "until": "2020-01-31"},
                "destination_url": "https://example.org/january",
                "priority": 2,
            },
            {
                "rule_type": "referrer",
                "conditions": {"sources": ["linkedin"]},
                "destination_url": "https://example.org/linkedin",
                "priority": 3,
            },
            *variants,
        ],
    )
    services.replace_link_rules(
        tracking_id=LINKS["country"],
        rules=[
            {
                "rule_type": "country",
                "conditions": {"countries": ["FR"]},
                "destination_url": "https://example.org/fr",
            },
            *variants,
        ],
    )


def address(number: int) -> str:
    return f"81.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}"


def redirect_op(scenario: str) -> Callable[[int], None]:
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    path = f"/track/{LINKS[scenario]}"

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], object]:
        if not status.startswith("302"):
            raise SystemExit(f"{path} answered {status}")
        return lambda data: None

    def one(number: int) -> None:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "src=email",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "HTTP_HOST": "127.0.0.1:8000",
            "REMOTE_ADDR": address(number),
            "HTTP_USER_AGENT": CHROME,
            "HTTP_ACCEPT": "text/html",
            "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9",
            "wsgi.input": io.BytesIO(),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        }
        response = handler(environ, start_response)
        response.close()  # as the server does: the click's follow-up runs here

    return one


def lookup_op() -> Callable[[int], None]:
    from tracking import routing

    def one(number: int) -> None:
        visitor = routing.Visitor(
            user_agent=CHROME, click_source="email", session_id=None, client_ip=address(number)
        )
        if visitor.country() != "DE":
            raise SystemExit("the geo database did not answer")

    return one


def operation(scenario: str) -> Callable[[int], None]:
    op = lookup_op() if scenario == "lookup" else redirect_op(scenario)
    op(0)  # warm: the link cache, the user-agent parse, the geo reader
    return op


def wall_clock(rounds: int, per_round: int) -> None:
    ops = {scenario: operation(scenario) for scenario in SCENARIOS}
    timings: dict[str, list[float]] = {scenario: [] for scenario in SCENARIOS}
    number = 1
    for _ in range(rounds):
        for scenario, op in ops.items():  # interleaved: a noisy neighbour hits every scenario
            started = time.perf_counter()
            for _ in range(per_round):
                op(number)
                number += 1
            timings[scenario].append((time.perf_counter() - started) / per_round * 1e6)
    plain = statistics.median(timings["plain"])
    for scenario, values in timings.items():
        median = statistics.median(values)
        ratio = f"  {median / plain:.3f}x plain" if scenario != "lookup" else ""
        print(f"{scenario:8} median {median:8.1f} µs per op over {rounds} rounds{ratio}")
    check_clicks(rounds * per_round + 1)


def check_clicks(expected: int) -> None:
    """Every redirect stored its click, and the rules links' clicks name the rule that sent them."""
    from tracking.models import LinkClick

    for scenario, tracking_id in LINKS.items():
        clicks = LinkClick.objects.filter(tracking_id=tracking_id)
        routed = clicks.filter(metadata__has_key="lt_rule").count()
        print(
            f"{scenario:8} clicks stored {clicks.count()} of {expected}, routed by a rule {routed}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true", help="build the template database")
    parser.add_argument("--scenario", choices=SCENARIOS)
    parser.add_argument(
        "--template", type=Path, default=ROOT / "var" / "bench-redirect-rules.sqlite3"
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--per-round", type=int, default=300)
    args = parser.parse_args(argv)
    template: Path = args.template.resolve()
    geo_file = template.with_suffix(".mmdb")

    workdir = Path(tempfile.mkdtemp(prefix="linktrack-bench-rules-"))
    try:
        if args.prepare:
            template.parent.mkdir(parents=True, exist_ok=True)
            template.unlink(missing_ok=True)
            configure(template, workdir)
            prepare(template)
            shutil.copy(workdir / "country.mmdb", geo_file)
            print(f"template ready: {template}")
            return
        if not template.exists() or not geo_file.exists():
            raise SystemExit(f"no template database: run {sys.argv[0]} --prepare first")
        database = workdir / "bench.sqlite3"
        shutil.copy(template, database)
        shutil.copy(geo_file, workdir / "country.mmdb")
        configure(database, workdir)
        ops = os.environ.get("OPS")
        if ops is not None:
            if args.scenario is None:
                raise SystemExit("OPS needs --scenario")
            op = operation(args.scenario)
            for number in range(1, int(ops) + 1):
                op(number)
            return
        if args.scenario is not None:
            raise SystemExit("--scenario needs OPS in the environment (instructions_per_op.sh)")
        wall_clock(args.rounds, args.per_round)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
