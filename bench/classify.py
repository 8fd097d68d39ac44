"""Benchmark user-agent classification: CPU per agent for real and hostile agents, old vs new.

    SECRET_KEY=x .venv/bin/python bench/classify.py                  # timings
    SECRET_KEY=x .venv/bin/python bench/classify.py --corpus agents.txt  # + verdict check

"old" is what classification did before RE2: the libraries' own pure-Python matching
(``crawlerdetect.CrawlerDetect`` and ua-parser's ``BasicResolver``). "new" is
:func:`tracking.classify.parse_agent` (uncached). Times are CPU time (``time.process_time``),
the best of ``--rounds`` rounds, in µs per agent. ``--corpus`` files hold one agent per line;
every agent is classified both ways and the differences are printed (there should be none).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linktrack.settings")

import django

django.setup()

from crawlerdetect import CrawlerDetect  # noqa: E402
from ua_parser import BasicResolver, Parser, load_builtins  # noqa: E402

from tracking import classify  # noqa: E402

REAL_AGENTS = {
    "chrome-windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36"
    ),
    "safari-iphone": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
        "like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    ),
    "chrome-android": (
        "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36"
    ),
    "googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "linkedin": "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
}


def hostile_agents() -> dict[str, str]:
    """1,000-character agents shaped to make backtracking engines work hard."""
    runs = {
        "letters": "a",
        "digits": "1",
        "spaces": " ",
        "slashes": "/",
        "semicolons": ";",
        "parentheses": "(",
        "mixed": "a1/ ;",
        "dots": "1.",
        "exclusions": "x64 ",
        "versions": "Version/",
        "emoji": "\U0001f600",
        "dotless-i": "\u0131",  # translated before RE2 reads it
    }
    agents = {name: (unit * 1000)[:1000] for name, unit in runs.items()}
    agents["issue-sample"] = f"{7:03d}" + "a" * 997
    agents["browser+letters"] = (REAL_AGENTS["chrome-android"] + "a" * 1000)[:1000]
    agents["nested-parens"] = ("(" * 500 + ")" * 500)[:1000]
    return agents


@functools.cache
def _basic_parser() -> Parser:
    return Parser(BasicResolver(load_builtins()))


_PREVIEW_RE = re.compile(classify._PREVIEW_AGENT.pattern, re.IGNORECASE)


def reference_agent_info(user_agent: str) -> classify.AgentInfo:
    """What ``parse_agent`` answered with the libraries' own pure-Python matching."""
    info = classify.agent_info(
        user_agent,
        parsed=_basic_parser().parse(user_agent),
        is_crawler=CrawlerDetect(user_agent=user_agent).is_crawler(),
    )
    # The preview pattern as Python's re reads it; agent_info read it with RE2.
    if bool(_PREVIEW_RE.search(user_agent)) != info.is_preview:
        raise AssertionError(f"preview pattern disagrees on {user_agent!r}")
    return info


def new_agent_info(user_agent: str) -> classify.AgentInfo:
    return classify.parse_agent.__wrapped__(user_agent)


def cpu_us(parse: Callable[[str], object], agent: str, *, repeat: int, rounds: int) -> float:
    parse(agent)  # compile whatever is compiled lazily
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(repeat):
            parse(agent)
        best = min(best, (time.process_time() - start) / repeat)
    return best * 1e6


def compare(agents: Iterable[str]) -> list[tuple[str, classify.AgentInfo, classify.AgentInfo]]:
    differences = []
    for agent in agents:
        old, new = reference_agent_info(agent), new_agent_info(agent)
        if old != new:
            differences.append((agent, old, new))
    return differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--corpus", action="append", default=[], type=Path)
    args = parser.parse_args()

    classify.warm_up()
    print(f"{'agent':<18} {'length':>6} {'old µs':>10} {'new µs':>8} {'speed-up':>9}")
    for group, agents in (("real", REAL_AGENTS), ("hostile", hostile_agents())):
        for name, agent in agents.items():
            old = cpu_us(reference_agent_info, agent, repeat=3, rounds=args.rounds)
            new = cpu_us(new_agent_info, agent, repeat=50, rounds=args.rounds)
            print(f"{name:<18} {len(agent):>6} {old:>10.0f} {new:>8.1f} {old / new:>8.0f}x")
        print(f"-- {group}")

    if args.corpus:
        lines = [line for path in args.corpus for line in path.read_text().splitlines()]
        corpus = list(dict.fromkeys(line for line in lines if line.strip()))
        differences = compare(corpus)
        print(f"\nverdicts compared on {len(corpus)} distinct agents: {len(differences)} differ")
        for agent, old_info, new_info in differences[:20]:
            print(f"  {agent!r}\n    old {old_info}\n    new {new_info}")


if __name__ == "__main__":
    main()
