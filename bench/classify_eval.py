"""Evaluate the classifier on labelled public corpora: the share of each verdict, CPU per agent.

    pip install --no-deps --target /tmp/evalpkgs \\
        crawler-user-agents==1.67.0 fake-useragent==2.2.0 device-detector==6.5.1
    SECRET_KEY=x .venv/bin/python bench/classify_eval.py --packages /tmp/evalpkgs [--show 5]

The corpora come from packages, never from the classifier's own rules:

- ``crawlers``: every example agent of ``crawler-user-agents`` (MIT), a list kept apart from
  crawlerdetect's and Matomo's;
- ``tools``: the HTTP-library agents of Device Detector's test fixtures (``client.type:
  library``); the classifier's tool list was written from the tools' own documentation;
- ``matomo-bots``: Device Detector's bot fixtures, shown for completeness only: the
  ``listed_bot_agent`` rule runs Matomo's own bot list, so this corpus is not independent;
- ``browsers``: ``fake-useragent``'s real-world browser agents (mainstream browsers);
- ``unusual``: Device Detector's browser fixtures other than the mainstream browsers (text
  browsers, TVs, consoles, cars, in-app and niche browsers).

Every agent is classified as a browser's request would be (GET, ``Accept-Language`` sent, a
public address, long after the link was sent), so only the agent decides. A crawler or tool
counts as caught when it is not ``human``; a browser is misjudged when it is not ``human``.
"CPU" is the uncached classification of each distinct agent (``time.process_time``): its mean,
and the largest, which a busy machine's pauses can inflate (rerun to compare).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linktrack.settings")

import django

django.setup()

from tracking import classify  # noqa: E402

# Device Detector's names for the browsers most people use; everything else is "unusual".
MAINSTREAM = frozenset(
    {
        "Chrome",
        "Chrome Mobile",
        "Chrome Mobile iOS",
        "Chrome Webview",
        "Safari",
        "Mobile Safari",
        "Firefox",
        "Firefox Mobile",
        "Firefox Mobile iOS",
        "Microsoft Edge",
        "Opera",
        "Opera Mobile",
        "Samsung Browser",
        "Internet Explorer",
    }
)
VERDICTS = ("human", "bot", "scanner", "preview")
AUTOMATED_CORPORA = ("crawlers", "tools", "matomo-bots")


def _version(root: Path, distribution: str) -> str:
    found = next(root.glob(f"{distribution}-*.dist-info"), None)
    return found.name.removeprefix(f"{distribution}-").removesuffix(".dist-info") if found else "?"


def _fixtures(root: Path) -> Iterator[dict[str, object]]:
    folder = root / "device_detector" / "tests" / "fixtures" / "upstream"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted(folder.glob("*.yml")):
        for entry in yaml.load(path.read_text(), Loader=loader) or ():  # noqa: S506 (safe loader)
            if isinstance(entry, dict) and isinstance(entry.get("user_agent"), str):
                yield {"file": path.name, **entry}


def load_corpora(root: Path) -> dict[str, tuple[str, list[str]]]:
    crawlers_json = root / "crawleruseragents" / "crawler-user-agents.json"
    crawlers = [
        agent for entry in json.loads(crawlers_json.read_text()) for agent in entry["instances"]
    ]
    browsers_jsonl = root / "fake_useragent" / "data" / "browsers.jsonl"
    browsers = [json.loads(line)["useragent"] for line in browsers_jsonl.read_text().splitlines()]
    tools, bots, unusual = [], [], []
    for entry in _fixtures(root):
        agent = str(entry["user_agent"])
        client = entry.get("client") if isinstance(entry.get("client"), dict) else {}
        assert isinstance(client, dict)
        if entry["file"] == "bots.yml":
            bots.append(agent)
        elif client.get("type") == "library":
            tools.append(agent)
        elif client.get("type") == "browser" and client.get("name") not in MAINSTREAM:
            unusual.append(agent)
    dd = f"device-detector {_version(root, 'device_detector')} fixtures"
    corpora = {
        "crawlers": (f"crawler-user-agents {_version(root, 'crawler_user_agents')}", crawlers),
        "tools": (f"{dd}, HTTP libraries", tools),
        "matomo-bots": (f"{dd}, bots (not independent)", bots),
        "browsers": (f"fake-useragent {_version(root, 'fake_useragent')}", browsers),
        "unusual": (f"{dd}, other browsers", unusual),
    }
    return {
        name: (source, list(dict.fromkeys(a.strip() for a in agents if a.strip())))
        for name, (source, agents) in corpora.items()
    }


def judge(agent: str) -> classify.Verdict:
    return classify.classify_click(
        http_method="GET",
        user_agent=agent,
        has_accept_language=True,
        client_ip="198.51.100.23",
        clicked_at=None,
        link_created_at=None,
        scanner_window_seconds=10,
    )


def evaluate(
    agents: list[str],
) -> tuple[Counter[str], Counter[str], Counter[str], list[classify.Verdict], float, float]:
    """Verdict counts, reason counts, "alone" counts, the verdicts, and the mean and largest
    µs of CPU per agent."""
    # A first pass compiles what ua-parser compiles lazily (a rule's Python matcher, on its first
    # match: a one-time cost per process, not per agent); the measured pass starts uncached.
    classify.parse_agent.cache_clear()
    for agent in agents:
        judge(agent)
    classify.parse_agent.cache_clear()
    verdicts = []
    spent = slowest = 0.0
    for agent in agents:
        start = time.process_time()
        verdicts.append(judge(agent))
        took = time.process_time() - start
        spent += took
        slowest = max(slowest, took)
    by_verdict = Counter(v.classification for v in verdicts)
    by_reason: Counter[str] = Counter()
    alone: Counter[str] = Counter()
    for verdict in verdicts:
        by_reason.update(verdict.reasons)
        automated = [r for r in verdict.reasons if r in classify.BOT_REASONS | {"preview_agent"}]
        if len(automated) == 1:
            alone[automated[0]] += 1
    return by_verdict, by_reason, alone, verdicts, spent / max(len(agents), 1) * 1e6, slowest * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=Path, default=Path("/tmp/evalpkgs"))
    parser.add_argument("--show", type=int, default=0, help="misjudged agents to print each")
    args = parser.parse_args()

    classify.warm_up()
    corpora = load_corpora(args.packages)
    print(f"{'corpus':<12} {'agents':>6} " + " ".join(f"{v:>8}" for v in VERDICTS), end="")
    print(f" {'not human':>9} {'µs/agent':>8} {'µs max':>7}  source")
    details = []
    for name, (source, agents) in corpora.items():
        by_verdict, by_reason, alone, verdicts, cpu, slowest = evaluate(agents)
        shares = [100 * by_verdict[v] / len(agents) for v in VERDICTS]
        not_human = 100 - shares[0]
        print(f"{name:<12} {len(agents):>6} " + " ".join(f"{s:>7.2f}%" for s in shares), end="")
        print(f" {not_human:>8.2f}% {cpu:>8.1f} {slowest:>7.0f}  {source}")
        details.append((name, agents, by_reason, alone, verdicts))

    print("\nreasons: share of the corpus where each fired (and where it alone named a machine)")
    for name, agents, by_reason, alone, _verdicts in details:
        if name not in AUTOMATED_CORPORA:
            continue
        cells = [
            f"{code} {100 * by_reason[code] / len(agents):.1f}% ({100 * alone[code] / len(agents):.1f}%)"
            for code in ("preview_agent", *sorted(classify.BOT_REASONS))
        ]
        print(f"  {name}: " + ", ".join(cells))

    if args.show:
        for name, agents, _by_reason, _alone, verdicts in details:
            wrong = [
                (agent, verdict)
                for agent, verdict in zip(agents, verdicts, strict=True)
                if (verdict.classification == "human") == (name in AUTOMATED_CORPORA)
            ]
            print(f"\n{name}: {len(wrong)} misjudged")
            for agent, verdict in wrong[: args.show]:
                print(
                    f"  {verdict.classification:<8} {','.join(verdict.reasons):<40} {agent[:140]}"
                )


if __name__ == "__main__":
    main()
