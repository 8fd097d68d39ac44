"""Hostile user agents through the redirect and the batch API: sane verdicts, bounded CPU.

Classification used to take time quadratic in runs of letters or digits (~90 ms for one
1,000-character agent). The CPU bounds below are ~10x what the whole requests cost now, and
a fraction of what classification alone cost before, so they catch a return of the defect
without depending on the machine's speed to the millisecond.
"""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import HOUR, key_client, make_key, make_link
from tests.support import post_json
from tests.test_redirect import BROWSER_HEADERS
from tracking import classify, services
from tracking.classify import REASON_LABELS
from tracking.models import Classification, LinkClick

pytestmark = pytest.mark.django_db

CAP = services.USER_AGENT_MAX
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36"
)


def _fill(unit: str, prefix: str = "") -> str:
    return (prefix + unit * CAP)[:CAP]


# (name, agent): 1,000 characters unless said otherwise. Latin-1 only, as HTTP headers arrive.
HOSTILE_AGENTS: list[tuple[str, str]] = [
    *((f"issue-{i}", f"{i:03d}" + "a" * (CAP - 3)) for i in range(30)),
    *(
        (f"run-{name}", _fill(unit))
        for name, unit in [
            ("lower", "a"),
            ("upper", "Z"),
            ("digits", "7"),
            ("hyphens", "-"),
            ("underscores", "_"),
            ("alnum", "a1"),
            ("spaces", " "),
            ("slashes", "/"),
            ("semicolons", ";"),
            ("open-parens", "("),
            ("close-parens", ")"),
            ("dots", "."),
            ("colons", ":"),
            ("plus", "+"),
            ("backslashes", "\\"),
            ("quotes", '"'),
            ("tabs", "\t"),
            ("nul", "\x00"),
            ("bell", "\x07"),
            ("del", "\x7f"),
            ("latin1-high", "\xff"),
            ("accents", "é"),
            ("mixed-classes", "a1/ ;"),
            ("semicolon-space", "; "),
            ("version-dots", "1."),
        ]
    ),
    *(
        (f"tokens-{name}", _fill(unit))
        for name, unit in [
            ("words", "word "),
            ("products", "a/1 "),
            ("comments", "(a) "),
            ("nested", "(((a)))"),
            ("semicolon-list", "a; "),
            ("exclusions", "x64 "),
            ("safari", "Safari/1."),
            ("like-gecko", "like Gecko "),
            ("build", "Build/"),
            ("android", "Android "),
            ("windows", "Windows NT "),
            ("version", "Version/"),
            ("mozilla", "Mozilla/5.0 ("),
            ("bot", "bot"),
            ("not-quite-bot", "bo t"),
        ]
    ),
    ("parens-balanced", "(" * (CAP // 2) + ")" * (CAP // 2)),
    ("browser-then-letters", _fill("a", ANDROID)),
    ("browser-then-digits", _fill("9", ANDROID)),
    ("letters-then-browser", "a" * (CAP - len(ANDROID)) + ANDROID),
    ("browser-then-bot-word", _fill("x", ANDROID + " ")[: CAP - 3] + "bot"),
    ("mozilla-letters", _fill("a", "Mozilla/5.0 (")),
    ("just-over-cap", "b" * (CAP + 500)),
    ("ten-thousand", "Mozilla/5.0 " + "A" * 10_000),
]

# The JSON API also carries what no header can: any Unicode. (It refuses a body with NUL or a
# lone surrogate as a whole; tests/test_classify.py feeds those to the classifier directly.)
UNICODE_AGENTS: list[tuple[str, str]] = [
    ("emoji", _fill("\U0001f600")),
    ("dotless-i", _fill("\u0131")),
    ("zero-width", _fill("\u200b")),
    ("kawi-digits", _fill("\U00011f50")),
    ("astral-letters", _fill("\U0001d400")),
    ("rtl-mixed", _fill("\u05d0a1")),
]

VALID_DEVICES = {"desktop", "mobile", "tablet", "bot", "other", None}

# CPU seconds for all the requests of one test, ~10x what they cost now (~0.2 s for the
# redirects, mostly Django's own work, ~0.07 s for the batch). With quadratic classification
# the redirects cost ~4.5 s and the batch ~4 s.
REDIRECTS_CPU_BOUND = 2.0
BATCH_CPU_BOUND = 0.75


def assert_sane(click: LinkClick) -> None:
    assert click.classification in Classification.values
    assert set(click.classification_reasons or ()) <= set(REASON_LABELS)
    assert click.device_type in VALID_DEVICES
    assert click.browser is None or len(click.browser) <= 50
    assert click.os is None or len(click.os) <= 50
    assert click.user_agent is None or len(click.user_agent) <= CAP


def test_there_are_at_least_fifty_distinct_hostile_agents() -> None:
    agents = [agent for _name, agent in HOSTILE_AGENTS + UNICODE_AGENTS]
    assert len(set(agents)) == len(agents) >= 50


def test_hostile_agents_redirect_with_sane_verdicts_in_bounded_cpu() -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    url = reverse("tracking:redirect", args=[tracking_id])
    client = Client()
    classify.parse_agent.cache_clear()
    start = time.process_time()
    for _name, agent in HOSTILE_AGENTS:
        response = client.get(url, **{**BROWSER_HEADERS, "HTTP_USER_AGENT": agent})
        assert response.status_code == 302
    spent = time.process_time() - start
    clicks = list(LinkClick.objects.all())
    assert len(clicks) == len(HOSTILE_AGENTS)
    for click in clicks:
        assert_sane(click)
    assert spent < REDIRECTS_CPU_BOUND, f"{len(HOSTILE_AGENTS)} redirects took {spent:.2f} s CPU"


def test_hostile_agents_in_one_batch_are_classified_in_bounded_cpu() -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    agents = [(n, a) for n, a in HOSTILE_AGENTS if "\x00" not in a] + UNICODE_AGENTS
    clicks = [
        {"tracking_id": tracking_id, "user_agent": agent, "accept_language": "en"}
        for _name, agent in agents
    ]
    client = key_client(make_key())
    classify.parse_agent.cache_clear()
    start = time.process_time()
    response = post_json(client, "/api/link-tracking/record-clicks", {"clicks": clicks})
    spent = time.process_time() - start
    assert response.status_code == 200, response.content[:500]
    assert response.json()["stored"] == len(agents)
    for click in LinkClick.objects.all():
        assert_sane(click)
    assert spent < BATCH_CPU_BOUND, f"a batch of {len(agents)} took {spent:.2f} s CPU"


@pytest.mark.parametrize(
    ("agent", "classification"),
    [
        (_fill("bot"), Classification.BOT),
        (_fill("x", ANDROID + " ")[: CAP - 3] + "bot", Classification.BOT),
        # Nothing names it a crawler, but no browser has that shape.
        ("007" + "a" * (CAP - 3), Classification.BOT),
        (_fill("LinkedInBot "), Classification.PREVIEW),
        (_fill("Safari/1."), Classification.HUMAN),
    ],
)
def test_hostile_agents_keep_the_verdict_their_words_call_for(
    agent: str, classification: str
) -> None:
    verdict = classify.classify_click(
        http_method="GET",
        user_agent=agent[:CAP],
        has_accept_language=True,
        client_ip="198.51.100.23",
        clicked_at=None,
        link_created_at=None,
        scanner_window_seconds=0,
    )
    assert verdict.classification == classification
