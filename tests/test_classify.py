from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from tracking import classify
from tracking.classify import ClickSignals

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


def verdict(**overrides: Any) -> classify.Verdict:
    fields: dict[str, Any] = {
        "http_method": "GET",
        "user_agent": CHROME,
        "has_accept_language": True,
        "client_ip": "198.51.100.23",
        "clicked_at": NOW,
        "link_created_at": NOW - dt.timedelta(hours=2),
        "scanner_window_seconds": 10,
    }
    fields.update(overrides)
    return classify.classify_click(**fields)


def test_a_browser_with_nothing_suspicious_is_human() -> None:
    result = verdict()
    assert (result.classification, result.reasons) == ("human", ())
    assert (result.device_type, result.browser, result.os) == ("desktop", "Chrome", "Windows")


@pytest.mark.parametrize(
    ("agent", "device", "browser", "os"),
    [
        (IPHONE, "mobile", "Mobile Safari", "iOS"),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/130.0.0.0 Mobile Safari/537.36",
            "mobile",
            "Chrome Mobile",
            "Android",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "tablet",
            "Mobile Safari",
            "iOS",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
            "Gecko) Version/17.5 Safari/605.1.15",
            "desktop",
            "Safari",
            "Mac OS X",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
            "desktop",
            "Firefox",
            "Linux",
        ),
    ],
)
def test_devices_browsers_and_systems_are_parsed(
    agent: str, device: str, browser: str, os: str
) -> None:
    result = verdict(user_agent=agent)
    assert (result.device_type, result.browser, result.os) == (device, browser, os)
    assert result.classification == "human"


@pytest.mark.parametrize(
    "agent",
    [
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Twitterbot/1.0",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "WhatsApp/2.23.20.0 A",
        "TelegramBot (like TwitterBot)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
        "Mozilla/5.0 (compatible; Google-PageRenderer Google (+https://developers.google.com/+/web/snippet/))",
    ],
)
def test_link_preview_agents_are_previews(agent: str) -> None:
    result = verdict(user_agent=agent, has_accept_language=False)
    assert result.classification == "preview"
    assert "preview_agent" in result.reasons
    assert "no_accept_language" not in result.reasons  # not a browser, so not that signal
    assert result.device_type == "bot"


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "python-requests/2.32.3",
        "curl/8.5.0",
    ],
)
def test_crawlers_and_scripts_are_bots(agent: str) -> None:
    result = verdict(user_agent=agent)
    assert result.classification == "bot"
    assert "crawler_agent" in result.reasons


def test_a_head_request_is_a_scanner() -> None:
    result = verdict(http_method="HEAD")
    assert (result.classification, result.reasons) == ("scanner", ("head_request",))


def test_an_empty_user_agent_is_a_scanner() -> None:
    result = verdict(user_agent=None)
    assert (result.classification, result.reasons) == ("scanner", ("empty_user_agent",))
    assert result.device_type is None and result.browser is None


def test_a_browser_without_accept_language_is_a_scanner() -> None:
    result = verdict(has_accept_language=False)
    assert (result.classification, result.reasons) == ("scanner", ("no_accept_language",))


@pytest.mark.parametrize(
    "ip", ["40.92.1.1", "40.107.255.254", "52.101.4.4", "104.47.10.1", "2a01:111:f403:c200::5"]
)
def test_microsoft_eop_addresses_are_scanners(ip: str) -> None:
    result = verdict(client_ip=ip)
    assert (result.classification, result.reasons) == ("scanner", ("scanner_network",))


@pytest.mark.parametrize("ip", ["104.48.0.1", "40.106.0.1", "2a01:111:f402::1", None, "junk"])
def test_addresses_outside_the_scanner_networks_are_not(ip: str | None) -> None:
    assert verdict(client_ip=ip).classification == "human"


def test_a_click_within_the_scanner_window_is_a_scanner() -> None:
    result = verdict(link_created_at=NOW - dt.timedelta(seconds=3))
    assert (result.classification, result.reasons) == ("scanner", ("soon_after_creation",))
    assert verdict(link_created_at=NOW - dt.timedelta(seconds=11)).classification == "human"
    assert (
        verdict(link_created_at=NOW, scanner_window_seconds=0).classification == "human"
    )  # 0 turns the rule off


def test_every_reason_that_fired_is_kept_and_previews_win() -> None:
    result = verdict(
        http_method="HEAD",
        user_agent="LinkedInBot/1.0 (compatible; Mozilla/5.0)",
        client_ip="40.107.1.1",
        link_created_at=NOW,
    )
    assert result.classification == "preview"
    assert result.reasons == (
        "preview_agent",
        "crawler_agent",
        "listed_bot_agent",
        "head_request",
        "scanner_network",
        "soon_after_creation",
    )


def test_the_burst_network_is_the_slash_24_or_slash_48() -> None:
    assert classify.burst_network("203.0.113.77") == "203.0.113.0/24"
    assert classify.burst_network("2001:db8:1:2::9") == "2001:db8:1::/48"
    assert classify.burst_network(None) is None
    assert classify.burst_network("not an ip") is None


def test_classification_for_a_burst_turns_humans_into_scanners() -> None:
    assert classify.classification_for(["burst"]) == "scanner"
    assert classify.classification_for(["crawler_agent", "burst"]) == "bot"


def test_signals_survive_a_round_trip_through_plain_values() -> None:
    signals = ClickSignals(
        user_agent=CHROME,
        client_ip="198.51.100.23",
        has_accept_language=True,
        link_created_at=NOW,
        application_id="550e8400-e29b-41d4-a716-446655440001",
    )
    assert ClickSignals.from_dict(signals.as_dict()) == signals


@pytest.mark.parametrize(
    "flags",
    [
        {"has_accept_language": True},
        {"owner_cookie": True},
        {"decoy": True},
        {"application_has_decoy": True},
        {"owner_cookie": True, "application_has_decoy": True},
    ],
)
def test_every_queued_signal_comes_back_in_its_own_field(flags: dict[str, bool]) -> None:
    values: dict[str, Any] = {
        "user_agent": CHROME,
        "client_ip": "198.51.100.23",
        "has_accept_language": False,
        "link_created_at": NOW - dt.timedelta(days=2),
        "application_id": "550e8400-e29b-41d4-a716-446655440001",
        "application_submitted_at": NOW - dt.timedelta(days=1),
        **flags,
    }
    signals = ClickSignals(**values)
    back = ClickSignals.from_dict(signals.as_dict())
    assert {name: getattr(back, name) for name in values} == values
    assert back.company_keys == ()  # never queued


# --- Agent parsing in linear time (tracking.useragents) --------------------------------------

# Real agents of every kind the classifier tells apart, plus odd ones from the wild.
REAL_AGENTS = [
    CHROME,
    IPHONE,
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
    "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)",
    "Opera/9.80 (J2ME/MIDP; Opera Mini/6.5.27510/34.1624; U; en) Presto/2.8.119 Version/11.10",
    "Mozilla/5.0 (Linux; U; Android 4.1.2; en-gb; LG-P710 Build/JZO54K) AppleWebKit/534.30 "
    "(KHTML, like Gecko) Version/4.0 Mobile Safari/534.30",
    "Dalvik/2.1.0 (Linux; U; Android 5.1.1; SM-G903F Build/LMY47X)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_1) AppleWebKit/600.2.5 (KHTML, like Gecko) "
    "Version/8.0.2 Safari/600.2.5 (Applebot/0.1)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; YandexSearch/1.0)",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "WhatsApp/2.23.20.0",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (Linux; Android 9; cubot X19) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/90.0.4430.91 Mobile Safari/537.36",
    "curl/8.4.0",
    "python-requests/2.31.0",
    "Go-http-client/2.0",
    "Java/17.0.2",
    "Amazon Simple Notification Service Agent",
    "Amazon Simple Notification Service Agent\n",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)",
    "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
    "Mozilla",
    "M",
]


def _hostile_shapes() -> list[str]:
    """Short (so that the libraries' own matching stays quick) versions of hostile agents."""
    units = ["a", "7", " ", "/", ";", "(", "a1/ ;", "1.", "x64 ", "Safari/1.", "bot", "_-"]
    shapes = [(unit * 200)[:200] for unit in units]
    shapes += [(CHROME + unit * 100)[:200] for unit in units]
    return shapes


def _unicode_variants() -> list[str]:
    """Real agents with characters Python's re and RE2 might read differently."""
    odd = ["\u0131", "\u0130", "\u017f", "\u212a", "\U00011f50", "\u0663", "\ud800", "\n", "\x00"]
    return [
        agent[:at] + char + agent[at:]
        for agent in REAL_AGENTS[:3] + REAL_AGENTS[11:17]
        for char in odd
        for at in (len(agent) // 2, len(agent))
    ] + ["Googlebot".replace("o", "\u0131"), "GOOGLEBOT", "g\u0130thub-camo", "bot\U00011f50"]


def test_parsing_agrees_with_the_libraries_own_matching() -> None:
    from bench.classify import reference_agent_info

    agents = REAL_AGENTS + _hostile_shapes() + _unicode_variants()
    differences = [
        agent
        for agent in agents
        if classify.parse_agent.__wrapped__(agent) != reference_agent_info(agent)
    ]
    assert differences == []


def test_crawler_rules_read_letters_and_digits_as_python_does() -> None:
    from tracking import useragents

    # Every character that a case-insensitive letter or \d could match, in either engine.
    rule = useragents.AgentPattern(r"^[a-z\d]$")
    python = re.compile(r"[a-z\d]", re.IGNORECASE)
    differing = [
        hex(code)
        for code in range(0x80, 0x30000)
        if not 0xD800 <= code < 0xE000
        and rule.search(chr(code)) != bool(python.fullmatch(chr(code)))
    ]
    assert differing == []


@pytest.mark.parametrize(
    ("pattern", "agent", "found"),
    [
        (r"Yandex(?!Search)", "YandexBot/3.0", True),
        (r"Yandex(?!Search)", "Yandex", True),
        (r"Yandex(?!Search)", "YandexSearch/1.0", False),
        (r"Yandex(?!Search)", "yandexsearch yandexsearc", True),
        (r"Yandex(?!Search)", "YANDEXSEARCH", False),
        (r"^b0t$", "b0t\n", True),
        (r"^b0t$", "b0t\n\n", False),
        (r"Go [\d\.]* package http", "Go 1.\u0663 package http", True),
    ],
)
def test_python_patterns_keep_their_meaning_on_re2(pattern: str, agent: str, found: bool) -> None:
    from tracking import useragents

    assert bool(re.search(pattern, agent, re.IGNORECASE)) is found
    assert useragents.AgentPattern(pattern).search(agent) is found


def test_a_pattern_re2_cannot_run_is_refused_not_guessed() -> None:
    from tracking import useragents

    with pytest.raises(ValueError, match="RE2 cannot run"):
        useragents.re2_pattern(r"(?<=x)bot")


@pytest.mark.parametrize("agent", ["\ud800" * 10, "Mozilla/5.0 \udfff (X11)", "bot\ud83d"])
def test_an_agent_with_a_lone_surrogate_is_classified(agent: str) -> None:
    from bench.classify import reference_agent_info

    assert classify.parse_agent.__wrapped__(agent) == reference_agent_info(agent)


def test_a_long_run_of_letters_is_classified_like_the_short_one() -> None:
    # The shape that used to take ~90 ms: its verdict is that of any word that is no crawler.
    long_run = classify.parse_agent.__wrapped__("007" + "a" * 997)
    assert long_run == classify.parse_agent.__wrapped__("007aaa")
    # No crawler list names it; no browser has that shape.
    assert (long_run.is_crawler, long_run.is_unknown, long_run.device_type) == (False, True, "bot")
