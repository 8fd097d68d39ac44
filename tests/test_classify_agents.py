"""Agents that are not browsers are not people; real people's browsers stay people.

Real agent strings, as the tools, crawlers and browsers send them.
"""

from __future__ import annotations

import pytest

from tracking import classify


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


@pytest.mark.parametrize(
    "agent",
    [
        "greedyhand/0.1",
        "GlobalWebSearch",
        "Castopod/1.0",
        "Mozilla/5.0 (compatible; Foo/1.0)",
        "007aaa",
    ],
)
def test_an_unknown_agent_without_a_browsers_shape_is_a_bot(agent: str) -> None:
    result = judge(agent)
    assert result.classification == "bot"
    assert "unknown_agent" in result.reasons
    assert result.device_type == "bot"


@pytest.mark.parametrize(
    "agent",
    [
        "python-requests/2.32.3",
        "curl/8.5.0",
        "Go-http-client/2.0",
        "okhttp/4.9.2",
        "Java/17.0.2",
        "axios/1.6.2",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "libwww-perl/6.72",
        "Wget/1.21.4",
        "k6/0.47.0 (https://k6.io/)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) "
        "PhantomJS/2.1.1 Safari/538.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Electron/9.0 Nightmare Safari/537.36",
        "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    ],
)
def test_tools_libraries_and_headless_browsers_are_bots(agent: str) -> None:
    result = judge(agent)
    assert result.classification == "bot"
    assert "tool_agent" in result.reasons


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 "
        "Safari/537.36 admin@example.org",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 (+https://example.net/about-us)",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.1 Safari/605.1.15 www.example.org",
    ],
)
def test_an_agent_giving_a_url_or_contact_is_a_bot(agent: str) -> None:
    result = judge(agent)
    assert (result.classification, result.reasons) == ("bot", ("contact_in_agent",))


@pytest.mark.parametrize(
    "agent",
    [
        "Castopod/1.0",  # only Matomo Device Detector's list has it
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ],
)
def test_matomos_bot_list_is_consulted(agent: str) -> None:
    assert "listed_bot_agent" in judge(agent).reasons


def test_matomos_bot_list_respects_word_boundaries() -> None:
    # "bot" inside a phone maker's name is no bot.
    assert not classify.matomo_bots().matches(
        "Mozilla/5.0 (Linux; Android 9; cubot X19) AppleWebKit/537.36"
    )
    assert classify.matomo_bots().size > 800


@pytest.mark.parametrize(
    ("agent", "browser"),
    [
        ("Lynx/2.8.9rel.1 libwww-FM/2.14 SSL-MM/1.4.1 OpenSSL/1.1.1d", "Lynx"),
        ("w3m/0.5.3+git20230121", None),
        ("ELinks/0.16.1.1 (textmode; Linux 6.1.0 x86_64; 200x50-2)", "ELinks"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Slack/4.35.126 Chrome/118.0.5993.159 Electron/27.0.3 Safari/537.36 Sonic "
            "Slack_SSB/4.35.126",
            "Slack Desktop Client",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/114.0.5735.289 Electron/25.8.1 Safari/537.36 Teams/1.6.00.33562",
            "Electron",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0 Teams/24004.1309.2689.2246/49",
            "Microsoft Teams",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
            "like Gecko) Mobile/15E148 [LinkedInApp]/9.29.7373",
            "Mobile Safari UI/WKWebView",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
            "like Gecko) Mobile/15E148 GSA/290.0.579019466 Mobile/15E148 Safari/604.1",
            "Google",
        ),
        (
            "Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.66 Mobile Safari/537.36 "
            "OutlookMobile",
            "Chrome Mobile WebView",
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-A536B) AppleWebKit/537.36 (KHTML, like "
            "Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
            "Samsung Internet",
        ),
        (
            "Mozilla/5.0 (Linux; U; Android 10; en-US; RMX2185 Build/QP1A.190711.020) "
            "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 "
            "UCBrowser/13.4.0.1306 Mobile Safari/537.36",
            "UC Browser",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/118.0.0.0 YaBrowser/23.11.0.0 Safari/537.36",
            "Yandex Browser",
        ),
        (
            "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36",
            "Samsung Internet",
        ),
        ("Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)", "IE"),
    ],
)
def test_real_peoples_browsers_stay_people(agent: str, browser: str | None) -> None:
    result = judge(agent)
    assert (result.classification, result.reasons, result.browser) == ("human", (), browser)


def test_a_preview_fetcher_stays_a_preview_whatever_else_fires() -> None:
    result = judge("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)")
    assert result.classification == "preview"
    assert result.reasons[0] == "preview_agent"
    assert "contact_in_agent" in result.reasons


def test_every_new_reason_has_words_to_show() -> None:
    for code in ("unknown_agent", "tool_agent", "contact_in_agent", "listed_bot_agent"):
        assert code in classify.REASON_LABELS
        assert code in classify.BOT_REASONS
