"""User agents parsed in time linear in their length: crawler detection and ua-parser's rules.

Both libraries run hundreds of patterns through Python's backtracking ``re``; a hostile agent
made those cost tens of milliseconds each. Here both sets of patterns run on RE2
(``google-re2``), whose automata take time linear in the agent, with the libraries' verdicts
kept exactly (checked against the libraries on a few thousand real agents).

Crawlers.

``crawlerdetect`` joins its ~1,500 patterns into one Python regular expression and runs it
with the backtracking ``re`` engine: about 10 µs per character of agent even when nothing
matches, and quadratic time on long runs of letters or digits (its catch-all
``[a-z0-9\\-_]*(bot|crawl|…)`` restarts the run at every position), so a 1,000-character agent
cost ~90 ms. Here the same patterns run on RE2 (``google-re2``), whose automata take time
linear in the agent whatever the pattern: a few µs per agent.

The verdict is exactly ``CrawlerDetect().is_crawler(agent)``: strip the agent, remove the
"exclusions" (browser tokens such as ``Safari/537.36`` that would otherwise match), and look
for any crawler pattern in what is left. Python's ``re`` and RE2 read a few things differently;
each difference is translated here and checked in ``tests/test_classify.py``:

- Python's ``$`` also matches before a final newline; RE2's only at the very end.
- Python's ``\\d`` is Unicode's decimal digits as Python knows them; RE2's is ASCII only.
  ``\\p{Nd}`` is the Unicode class, and the digits RE2's newer Unicode tables add (Kawi, Nag
  Mundari) are replaced in the agent by U+FFFD, which no pattern mentions.
- Case-insensitive Python also equates ``i`` with U+0130 and U+0131 (dotted capital and dotless i); RE2 does not, so both are
  read as ``i``.
- RE2 has no lookahead: ``Yandex(?!Search)`` becomes the equivalent alternation.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import re2
from crawlerdetect.providers.crawlers import data as CRAWLER_PATTERNS
from crawlerdetect.providers.exclusions import data as EXCLUSION_PATTERNS
from ua_parser import Domain, Parser, PartialResult, Result, load_lazy_builtins
from ua_parser.re2 import Resolver as Re2Resolver

# Characters read differently by the two engines (see the module docstring), and lone
# surrogates, which cannot be encoded as the UTF-8 RE2 reads (JSON can carry them).
_AGENT_TRANSLATION: dict[int, str] = {0x130: "i", 0x131: "i"}
_AGENT_TRANSLATION.update(dict.fromkeys(range(0x11F50, 0x11F5A), "\ufffd"))
_AGENT_TRANSLATION.update(dict.fromkeys(range(0x1E4F0, 0x1E4FA), "\ufffd"))
_AGENT_TRANSLATION.update(dict.fromkeys(range(0xD800, 0xE000), "\ufffd"))

# A negative lookahead on a plain word at the end of a pattern, e.g. ``Yandex(?!Search)``.
_LOOKAHEAD_RE = re.compile(r"(?P<head>.*)\(\?!(?P<word>[A-Za-z0-9]+)\)$")


def not_followed_by(word: str) -> str:
    """RE2 for "here, not followed by ``word``": the end, or a first difference from it.

    ``(?!abc)`` holds where the text ends or differs before the word is complete:
    ``$|[^a]|a(?:$|[^b]|b(?:$|[^c])))``. Classes list both cases: the whole expression is
    case-insensitive.
    """
    if not word:
        raise ValueError("empty lookahead")
    first, rest = word[0], word[1:]
    other = f"[^{re.escape(first.lower())}{re.escape(first.upper())}]"
    if not rest:
        return f"(?:$|{other})"
    return f"(?:$|{other}|{re.escape(first)}{not_followed_by(rest)})"


def re2_pattern(pattern: str) -> str:
    """One of crawlerdetect's Python patterns, in RE2 syntax with Python's meaning."""
    if match := _LOOKAHEAD_RE.match(pattern):
        pattern = match["head"] + not_followed_by(match["word"])
    if "(?" in pattern.replace("(?:", ""):
        # A construct RE2 lacks (lookaround, backreference group…): refuse to guess.
        raise ValueError(f"crawler pattern RE2 cannot run: {pattern!r}")
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\n?$"
    return pattern.replace(r"\d", r"\p{Nd}")


def _options() -> Any:
    options = re2.Options()
    options.case_sensitive = False
    # Only whether (and where) something matched is needed: no capture groups to track.
    options.never_capture = True
    return options


@functools.cache
def _compiled() -> tuple[Any, Any]:
    """(exclusions, crawlers) as RE2 programs, compiled on first use (~20 ms)."""
    # One pass removes a whole run of adjacent exclusions ("Mozilla/5.0 AppleWebKit/537.36 …"
    # is one match, not six). Removing a run at once gives the same text as removing its
    # members one by one: no exclusion matches the empty string, and each iteration picks the
    # alternative the one-by-one removal would.
    exclusions = "(?:" + "|".join(re2_pattern(p) for p in EXCLUSION_PATTERNS) + ")+"
    crawlers = "|".join(re2_pattern(p) for p in CRAWLER_PATTERNS)
    # RE2 programs are reached below their Python wrapper: the wrapper's ``sub`` decodes every
    # match back to str offsets in Python, ~3 µs a match, and a hostile agent has hundreds.
    return (
        re2._re2.RE2(exclusions.encode(), _options()),
        re2._re2.RE2(crawlers.encode(), _options()),
    )


_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED


# The characters of _AGENT_TRANSLATION, found at C speed: ``str.translate`` with a dict costs
# ~0.1 µs a character, which a 1,000-character non-ASCII agent would pay for every pattern.
_TRANSLATED = re.compile("[\u0130\u0131\U00011f50-\U00011f59\U0001e4f0-\U0001e4f9\ud800-\udfff]")


def prepare(agent: str) -> str:
    """The agent with the characters RE2 reads differently translated (see the docstring).

    Idempotent; searching the prepared agent with several patterns translates it once.
    """
    if not agent.isascii() and _TRANSLATED.search(agent):
        return agent.translate(_AGENT_TRANSLATION)
    return agent


def _utf8(agent: str) -> bytes:
    """The agent as RE2 should read it to agree with Python's case-insensitive ``re``."""
    return prepare(agent).encode()


def _program(pattern: str, options: Any) -> Any:
    """An RE2 program; a pattern RE2 rejects stops the start rather than matching nothing."""
    program = re2._re2.RE2(pattern.encode(), options)
    if not program.ok():
        raise ValueError(f"RE2 rejects the pattern: {program.error()}")
    return program


def _found(program: Any, text: bytes) -> bool:
    ((start, _stop),) = program.Match(_UNANCHORED, text, 0, len(text))
    return bool(start >= 0)


def is_crawler(user_agent: str) -> bool:
    """Whether crawlerdetect calls this agent a crawler; linear time in the agent's length."""
    agent = user_agent.strip()
    if not agent:
        return False
    text = _utf8(agent)
    exclusions, crawlers = _compiled()
    kept: list[bytes] = []
    position, end = 0, len(text)
    while position < end:
        ((start, stop),) = exclusions.Match(_UNANCHORED, text, position, end)
        if start < 0:
            break
        kept.append(text[position:start])
        position = stop
    kept.append(text[position:])
    remaining = b"".join(kept)
    return bool(remaining) and _found(crawlers, remaining)


class AgentPattern:
    """A case-insensitive Python pattern, searched in agents by RE2 with Python's meaning.

    For the project's own agent patterns: Python's ``re`` costs ~0.2 ms to search a
    1,000-character agent for a 20-word alternation; RE2 a few µs.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._program = _program(re2_pattern(pattern), _options())

    def search(self, user_agent: str) -> bool:
        return _found(self._program, _utf8(user_agent))


# Device Detector searches each bot pattern after this boundary (its ``BOUNDED_REGEX``), so that
# ``bot`` in ``cubot`` or ``Robot`` inside a word does not count.
_DEVICE_DETECTOR_BOUNDARY = r"(?:^|[^A-Z0-9_-]|[^A-Z0-9-]_|sprd-|MZ-)"


def read_patterns(path: Path) -> list[str]:
    """The patterns of a data file: one a line, ``#`` lines are comments."""
    return [
        line
        for line in path.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


class BoundedPatternList:
    """A list of Device Detector patterns searched as one RE2 program, linear in the agent.

    ``matches`` is whether any pattern of the list matches where Device Detector would look
    for it; one pass whatever the number of patterns.
    """

    def __init__(self, patterns: list[str]) -> None:
        joined = "|".join(f"(?:{re2_pattern(p)})" for p in patterns)
        options = _options()
        # ~800 patterns compile to more than RE2's default 8 MiB budget for its automata; past
        # the budget it would fall back to a slower (still linear) engine.
        options.max_mem = 64 << 20
        self._program = re2._re2.RE2(f"{_DEVICE_DETECTOR_BOUNDARY}(?:{joined})".encode(), options)
        self.size = len(patterns)

    def matches(self, user_agent: str) -> bool:
        return _found(self._program, _utf8(user_agent.strip()))


class _FirstMatchResolver(Re2Resolver):  # type: ignore[misc]
    """ua-parser's RE2 resolver, answering exactly as its pure-Python resolver does.

    RE2 finds, in one linear pass per domain, the rules that match; ua-parser then applies the
    first of them. Its own RE2 resolver takes the lowest-numbered match and gives up if
    Python's ``re`` reads that rule differently (e.g. an agent whose device would be "Mac"
    comes out with none); here the candidates are tried in rule order until one applies,
    which is what the pure-Python resolver does with every rule.
    """

    def __call__(self, ua: str, domains: Domain, /) -> PartialResult:
        return PartialResult(
            domains=domains,
            string=ua,
            user_agent=_first(self.ua, self.user_agent_matchers, ua)
            if Domain.USER_AGENT in domains
            else None,
            os=_first(self.os, self.os_matchers, ua) if Domain.OS in domains else None,
            device=_first(self.devices, self.device_matchers, ua)
            if Domain.DEVICE in domains
            else None,
        )


def _first(rules: Any, matchers: list[Any], ua: str) -> Any:
    for index in sorted(rules.Match(ua) or ()):
        if (found := matchers[index](ua)) is not None:
            return found
    return None


@functools.cache
def _parser() -> Parser:
    """ua-parser's rules behind RE2, loaded on first use (~0.3 s)."""
    return Parser(_FirstMatchResolver(load_lazy_builtins()))


def parse(user_agent: str) -> Result:
    """ua-parser's reading of the agent (browser, OS, device), in time linear in its length."""
    if not user_agent.isascii() and _SURROGATE.search(user_agent):
        # RE2 reads UTF-8, and a lone surrogate (JSON can carry one) has no UTF-8 form.
        user_agent = user_agent.translate(_SURROGATES)
    return _parser().parse(user_agent)


_SURROGATES = dict.fromkeys(range(0xD800, 0xE000), "\ufffd")
_SURROGATE = re.compile("[\ud800-\udfff]")
