#!/usr/bin/env python
"""The click writer's in-memory steps, one at a time, for counting their instructions per click.

    .venv/bin/python bench/writer_steps.py --prepare /tmp/steps.json --packages /tmp/evalpkgs
    bench/instructions_per_op.sh 500 1500 \\
        .venv/bin/python bench/writer_steps.py --payloads /tmp/steps.json --step decode

``--prepare`` writes ``--clicks`` (14,000) encoded clicks, made as ``bench/ingest.py`` makes them
(its :class:`~bench.ingest.ClickMaker`: 5,000 distinct real agents, 500 links of 100
applications, its referrers, addresses, Do-Not-Track, HEAD, owner clicks and mail-gateway
bursts), with the made-up geo databases beside the file. That needs the corpora packages and
takes a while; it is done once, outside valgrind.

``--payloads FILE --step STEP`` then runs one step on ``OPS`` clicks (from the environment, as
``instructions_per_op.sh`` sets it; 1,000 otherwise) after the same set-up whatever ``OPS`` is:
every click of the file decoded (and, for the steps after classification, classified and
located), and the step itself run on the first ``--warm-up`` (10,000) clicks so that its caches
hold what a writer's do after a while. The counted clicks follow the warm-up in the file's
order, so they repeat agents, addresses and referrers as often as a stream does. No database,
no Redis: the settings are the embedded default's with the geo databases of the file.

Steps (each as :func:`tracking.clicks.writer.write_clicks` runs it, in batches of 500 where
the writer works per batch):

- ``decode``: :func:`tracking.clicks.stream.decode_click` (JSON, then
  :func:`tracking.services.build_click`'s validation and the unsaved ``LinkClick``);
- ``signals``: :meth:`tracking.classify.ClickSignals.from_dict` of each click's queued signals;
- ``classify``: :func:`tracking.classify.classify_into` (clicks not classified in the request);
- ``geo``: :func:`tracking.geo.locate_click`;
- ``company``: :func:`tracking.company.mark_click` with a company's keys;
- ``copy``: the text of a batch's rows for ``COPY`` (:func:`tracking.dbcopy.rows_text`);
- ``burst``: the burst rule's grouping of a batch (:func:`tracking.clicks.burst.batch_groups`
  and the links per group its pre-check sends to Redis);
- ``events``: the person clicks of a batch sorted by time and the rows of the events' INSERT
  (:func:`tracking.clicks.eventsql._event_rows`, with every link's first person click before
  the batch).

With ``--time`` it prints the CPU time per click instead (``time.process_time``, noisy).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEPS = ("decode", "signals", "classify", "geo", "company", "copy", "burst", "events")
BATCH = 500


def _setup_django(geo_dir: Path) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "CLICK_MODE"):
        os.environ.pop(name, None)
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ["DJANGO_SETTINGS_MODULE"] = "linktrack.settings"
    os.environ["GEOIP_CITY_PATH"] = str(geo_dir / "city.mmdb")
    os.environ["GEOIP_ASN_PATH"] = str(geo_dir / "asn.mmdb")
    import django

    django.setup()


def prepare(args: argparse.Namespace) -> None:
    """Write the clicks (and the geo databases they are located with) for the counted runs."""
    out: Path = args.prepare
    geo_dir = out.with_suffix(".geo")
    geo_dir.mkdir(parents=True, exist_ok=True)
    _setup_django(geo_dir)
    from bench import ingest

    rng = random.Random(args.seed)
    networks = ingest.write_geo(geo_dir, rng)
    created = dt.datetime.now(dt.UTC) - dt.timedelta(days=7)
    links = []
    for _application in range(ingest.APPLICATIONS):
        application = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        for _function in ingest.FUNCTIONS:
            links.append((f"bench{rng.getrandbits(40):010x}", application, created))
    agents = ingest.pick_agents(args.packages, rng, args.agents)
    maker = ingest.ClickMaker(rng, links, agents, networks)
    start_us = (time.time_ns() // 1000) - (ingest.SPAN_SECONDS + 3600) * 1_000_000
    payloads = maker.payloads(args.clicks, start_us)
    out.write_text(json.dumps({"links": [list(link[:2]) for link in links], "payloads": payloads}))
    print(f"wrote {len(payloads):,} clicks to {out} (geo databases in {geo_dir})")


def run(args: argparse.Namespace) -> None:
    data = json.loads(args.payloads.read_text())
    _setup_django(args.payloads.with_suffix(".geo"))
    from django.conf import settings

    from tracking import company, dbcopy, geo
    from tracking.classify import ClickSignals, classify_into
    from tracking.clicks import burst, events, eventsql
    from tracking.clicks.stream import decode_click
    from tracking.models import LinkClick

    payloads: list[str] = data["payloads"]
    ops = int(os.environ.get("OPS", "1000"))
    warm = args.warm_up
    if warm + ops > len(payloads):
        raise SystemExit(f"{warm} + {ops} clicks wanted, the file has {len(payloads)}")
    applications = {tracking_id: application for tracking_id, application in data["links"]}
    keys = company.company_keys("Net 7 Holdings")

    def decoded(start: int, stop: int) -> list[tuple[Any, dict[str, Any]]]:
        return [decode_click(payload) for payload in payloads[start:stop]]

    def enriched(start: int, stop: int) -> list[tuple[Any, ClickSignals]]:
        out = []
        for click, raw in decoded(start, stop):
            signals = ClickSignals.from_dict(raw)
            if click.classification is None:
                classify_into(click, signals)
            geo.locate_click(click, signals)
            company.mark_click(click, keys)
            out.append((click, signals))
        return out

    def batches(items: list[Any]) -> list[list[Any]]:
        return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]

    first_before = eventsql._BEFORE_ALL
    threshold = settings.CLICK_SPIKE_PER_HOUR

    def event_rows(batch: list[tuple[Any, ClickSignals]]) -> None:
        persons = sorted(
            (click for click, _signals in batch if events._is_person(click)), key=events._BY_TIME
        )
        links: dict[str, tuple[str | None, str | None, dt.datetime | None]] = {
            c.tracking_id: (None, applications[c.tracking_id], first_before) for c in persons
        }
        eventsql._event_rows(persons, links, {}, {}, threshold)

    def burst_groups(batch: list[tuple[Any, ClickSignals]]) -> None:
        groups = burst.batch_groups(batch)
        {g: list(dict.fromkeys(c.tracking_id for c in members)) for g, members in groups.items()}

    def copy_text(batch: list[tuple[Any, ClickSignals]]) -> None:
        dbcopy.rows_text(LinkClick, [click for click, _signals in batch])

    step = args.step
    do: Callable[[Any], Any]
    # The set-up, the same whatever OPS is: every click prepared, the step warmed up.
    if step == "decode":
        work: list[Any] = payloads
        warm_items, items = work[:warm], work[warm : warm + ops]
        do = decode_click
        per_batch = False
    elif step == "signals":
        raws = [raw for _click, raw in decoded(0, len(payloads))]
        warm_items, items = raws[:warm], raws[warm : warm + ops]
        do = ClickSignals.from_dict
        per_batch = False
    elif step == "classify":
        pairs = [(c, ClickSignals.from_dict(raw)) for c, raw in decoded(0, len(payloads))]
        warm_items, items = pairs[:warm], pairs[warm : warm + ops]

        def classify_pair(pair: tuple[Any, ClickSignals]) -> None:
            if pair[0].classification is None:
                classify_into(*pair)

        do = classify_pair
        per_batch = False
    elif step == "geo":
        pairs = []
        for click, raw in decoded(0, len(payloads)):
            signals = ClickSignals.from_dict(raw)
            if click.classification is None:
                classify_into(click, signals)
            pairs.append((click, signals))
        warm_items, items = pairs[:warm], pairs[warm : warm + ops]

        def locate_pair(pair: tuple[Any, ClickSignals]) -> None:
            geo.locate_click(*pair)

        do = locate_pair
        per_batch = False
    elif step == "company":
        pairs = enriched(0, len(payloads))
        warm_items, items = pairs[:warm], pairs[warm : warm + ops]

        def mark_pair(pair: tuple[Any, ClickSignals]) -> None:
            company.mark_click(pair[0], keys)

        do = mark_pair
        per_batch = False
    else:
        pairs = enriched(0, len(payloads))
        warm_items, items = pairs[:warm], pairs[warm : warm + ops]
        do = {"burst": burst_groups, "events": event_rows, "copy": copy_text}[step]
        per_batch = True

    run_step: Callable[[Any], Any] = do

    def go(work_items: list[Any]) -> None:
        if per_batch:
            for batch in batches(work_items):
                run_step(batch)
        else:
            for item in work_items:
                run_step(item)

    go(warm_items)
    if args.time:
        started = time.process_time()
        go(items)
        spent = time.process_time() - started
        print(f"{step}: {spent / max(1, len(items)) * 1e6:.1f} µs CPU per click ({len(items)})")
    else:
        go(items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepare", type=Path, help="write the clicks to this file")
    parser.add_argument("--payloads", type=Path, help="the file --prepare wrote")
    parser.add_argument("--step", choices=STEPS, default="decode")
    parser.add_argument("--clicks", type=int, default=14_000)
    parser.add_argument("--agents", type=int, default=5000)
    parser.add_argument("--warm-up", type=int, default=10_000)
    parser.add_argument("--packages", type=Path, default=Path("/tmp/evalpkgs"))
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--time", action="store_true", help="print CPU time per click")
    args = parser.parse_args()
    if args.prepare:
        prepare(args)
    elif args.payloads:
        run(args)
    else:
        parser.error("--prepare FILE or --payloads FILE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
