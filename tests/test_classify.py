from __future__ import annotations

import datetime as dt
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
    assert (result.classification, result.reasons) == ("bot", ("crawler_agent",))


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
