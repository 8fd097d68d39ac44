"""Who made a click: a person, a crawler, an email-security scanner or a link-preview agent.

Email gateways (Microsoft Safe Links, Proofpoint, Mimecast…) and link unfurlers (LinkedIn, Slack…)
open links automatically, often with browser-like user agents. Every click gets one
``classification`` plus the ``reasons`` (codes of :data:`REASON_LABELS`) that fired, so the
dashboard can show people by default and still explain the rest.

Precedence when several signals fire: ``preview`` (a known unfurler names itself) beats ``bot``
(a crawler user agent, per ``crawlerdetect``), which beats ``scanner`` (every other automated
signal); a click with no signal is ``human``. All reasons that fired are kept.

Everything here is pure and cheap: user-agent parsing (``ua-parser``'s and ``crawlerdetect``'s
rules, run by :mod:`tracking.useragents` in time linear in the agent: ~0.1 ms for any agent up
to the 1,000-character cap) is also cached per distinct user agent, so an agent seen again
costs nothing. The one
rule that needs other clicks (several links of an application opened within seconds from one
network) lives in :mod:`tracking.clicks.burst`; :func:`burst_network` gives it the network to
compare. :func:`classify_into` applies a verdict to an unsaved click.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from tracking import useragents
from tracking.models import Classification, LinkClick

# Reason codes stored in ``link_clicks.classification_reasons``, with the words to show for them.
REASON_LABELS: dict[str, str] = {
    "head_request": "HEAD request: a link checker, not a browser",
    "preview_agent": "Link-preview agent (LinkedIn, Slack, WhatsApp…)",
    "crawler_agent": "Crawler or script user agent",
    "empty_user_agent": "No user agent",
    "no_accept_language": "Browser-like agent without an Accept-Language header",
    "scanner_network": "From an email-security network",
    "soon_after_creation": "Opened within seconds of the link's creation",
    "burst": "Several links of one application opened within 2 s from one network",
}
SCANNER_REASONS = frozenset(REASON_LABELS) - {"preview_agent", "crawler_agent"}

# Link unfurlers name themselves; crawlerdetect files most of them under "crawler", but a job
# seeker should read "LinkedIn showed a preview", not "a bot". Tokens match case-insensitively
# (RE2, linear in the agent's length).
_PREVIEW_AGENT = useragents.AgentPattern(
    r"LinkedInBot|Slackbot|Slack-ImgProxy|Twitterbot|facebookexternalhit|Facebot|WhatsApp"
    r"|TelegramBot|Discordbot|SkypeUriPreview|Google-PageRenderer|redditbot|Embedly|Iframely"
    r"|Mastodon/|Bluesky|Cardyb|Snap URL Preview|Viber|vkShare|Teams/|MicrosoftPreview",
)

# Operating systems whose devices are desktops or laptops (ua-parser's OS families).
_DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "macOS", "Linux", "Ubuntu", "Fedora", "Debian", "Chrome OS"}
    | {"FreeBSD", "OpenBSD", "NetBSD", "Solaris", "Red Hat", "SUSE", "Mint", "Arch Linux"}
)
_MOBILE_OS = frozenset(
    {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Tizen", "HarmonyOS"}
)

_SCANNER_NETWORKS_FILE = Path(__file__).resolve().parent / "data" / "scanner_networks.txt"


@dataclass(frozen=True, slots=True)
class ClickSignals:
    """What classification needs to know about a click beyond the row that is stored.

    ``user_agent`` and ``client_ip`` are kept here even when Do-Not-Track keeps them out of the
    row: the click is still classified, and nothing here is persisted. Plain values only, so a
    buffered click can carry them alongside its fields (:meth:`as_dict` / :meth:`from_dict`).
    """

    user_agent: str | None
    client_ip: str | None
    has_accept_language: bool
    link_created_at: dt.datetime | None
    application_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_agent": self.user_agent,
            "client_ip": self.client_ip,
            "has_accept_language": self.has_accept_language,
            "link_created_at": self.link_created_at.isoformat() if self.link_created_at else None,
            "application_id": self.application_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClickSignals:
        created = data.get("link_created_at")
        return cls(
            user_agent=data.get("user_agent"),
            client_ip=data.get("client_ip"),
            has_accept_language=bool(data.get("has_accept_language")),
            link_created_at=dt.datetime.fromisoformat(created) if created else None,
            application_id=data.get("application_id"),
        )


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """A user agent, parsed once and cached."""

    device_type: str | None  # desktop, mobile, tablet, bot, other
    browser: str | None
    os: str | None
    is_preview: bool
    is_crawler: bool
    looks_like_browser: bool


@dataclass(frozen=True, slots=True)
class Verdict:
    classification: str
    reasons: tuple[str, ...]
    device_type: str | None
    browser: str | None
    os: str | None


def _family(value: Any) -> str | None:
    family = getattr(value, "family", None)
    if not family or family == "Other":
        return None
    return str(family)[:50]


@functools.lru_cache(maxsize=4096)
def parse_agent(user_agent: str) -> AgentInfo:
    """Parse a (non-empty, already capped) user agent. Cached: a parse costs ~0.1 ms."""
    return agent_info(
        user_agent,
        parsed=useragents.parse(user_agent),
        is_crawler=useragents.is_crawler(user_agent),
    )


def agent_info(user_agent: str, *, parsed: Any, is_crawler: bool) -> AgentInfo:
    """What :func:`parse_agent` makes of ua-parser's result and crawlerdetect's verdict.

    Separate so that the benchmark and the tests can feed it the libraries' own pure-Python
    answers and compare.
    """
    browser = _family(parsed.user_agent)
    os_name = _family(parsed.os)
    device = parsed.device
    is_preview = _PREVIEW_AGENT.search(user_agent)
    if is_preview or is_crawler or (device is not None and device.family == "Spider"):
        device_type = "bot"
    elif device is not None and (
        device.family == "iPad" or "tablet" in f"{device.family} {device.brand}".lower()
    ):
        device_type = "tablet"
    elif os_name == "Android" and "Mobile" not in user_agent:
        device_type = "tablet"  # Android tablets drop "Mobile" from their user agent
    elif os_name in _MOBILE_OS or "Mobile" in user_agent:
        device_type = "mobile"
    elif os_name in _DESKTOP_OS:
        device_type = "desktop"
    else:
        device_type = "other"
    return AgentInfo(
        device_type=device_type,
        browser=browser,
        os=os_name,
        is_preview=is_preview,
        is_crawler=is_crawler,
        looks_like_browser=user_agent.startswith("Mozilla/") and not (is_preview or is_crawler),
    )


@functools.lru_cache(maxsize=1)
def scanner_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The email-security networks of ``data/scanner_networks.txt`` (documented there)."""
    networks = []
    for line in _SCANNER_NETWORKS_FILE.read_text().splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            networks.append(ipaddress.ip_network(entry))
    return tuple(networks)


def _address(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not ip:
        return None
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def in_scanner_network(ip: str | None) -> bool:
    address = _address(ip)
    return address is not None and any(address in net for net in scanner_networks())


def burst_network(ip: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) that the burst rule compares, or None without an address."""
    address = _address(ip)
    if address is None:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def classify_click(
    *,
    http_method: str | None,
    user_agent: str | None,
    has_accept_language: bool,
    client_ip: str | None,
    clicked_at: dt.datetime | None,
    link_created_at: dt.datetime | None,
    scanner_window_seconds: int,
) -> Verdict:
    """Classify one click from its own signals (everything but the burst rule)."""
    reasons: list[str] = []
    agent = parse_agent(user_agent) if user_agent else None

    if agent is not None and agent.is_preview:
        reasons.append("preview_agent")
    elif agent is not None and agent.is_crawler:
        reasons.append("crawler_agent")
    if (http_method or "").upper() == "HEAD":
        reasons.append("head_request")
    if agent is None:
        reasons.append("empty_user_agent")
    elif agent.looks_like_browser and not has_accept_language:
        reasons.append("no_accept_language")
    if in_scanner_network(client_ip):
        reasons.append("scanner_network")
    if (
        scanner_window_seconds > 0
        and clicked_at is not None
        and link_created_at is not None
        and (clicked_at - link_created_at).total_seconds() < scanner_window_seconds
    ):
        reasons.append("soon_after_creation")

    return Verdict(
        classification=classification_for(reasons),
        reasons=tuple(reasons),
        device_type=agent.device_type if agent else None,
        browser=agent.browser if agent else None,
        os=agent.os if agent else None,
    )


def classification_for(reasons: list[str] | tuple[str, ...]) -> str:
    """The classification that a set of reasons implies (see the module's precedence)."""
    if "preview_agent" in reasons:
        return Classification.PREVIEW
    if "crawler_agent" in reasons:
        return Classification.BOT
    if any(reason in SCANNER_REASONS for reason in reasons):
        return Classification.SCANNER
    return Classification.HUMAN


def warm_up() -> None:
    """Load ua-parser's and crawlerdetect's rules now rather than on a visitor's first click."""
    parse_agent.__wrapped__(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36"
    )
    scanner_networks()


def classification_fields(
    *, http_method: str | None, clicked_at: dt.datetime | None, signals: ClickSignals
) -> dict[str, Any]:
    """The classification, reasons and parsed device fields of a click, by field name."""
    verdict = classify_click(
        http_method=http_method,
        user_agent=signals.user_agent,
        has_accept_language=signals.has_accept_language,
        client_ip=signals.client_ip,
        clicked_at=clicked_at,
        link_created_at=signals.link_created_at,
        scanner_window_seconds=settings.SCANNER_WINDOW_SECONDS,
    )
    return {
        "classification": verdict.classification,
        "classification_reasons": list(verdict.reasons),
        "device_type": verdict.device_type,
        "browser": verdict.browser,
        "os": verdict.os,
    }


def classify_into(click: LinkClick, signals: ClickSignals) -> None:
    """Set the classification, reasons and parsed device fields of an unsaved click."""
    fields = classification_fields(
        http_method=click.http_method, clicked_at=click.clicked_at, signals=signals
    )
    for name, value in fields.items():
        setattr(click, name, value)
