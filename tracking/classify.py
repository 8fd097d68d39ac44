"""Who made a click: a person, a crawler, an email-security scanner or a link-preview agent.

Email gateways (Microsoft Safe Links, Proofpoint, Mimecast…) and link unfurlers (LinkedIn, Slack…)
open links automatically, often with browser-like user agents. Every click gets one
``classification`` plus the ``reasons`` (codes of :data:`REASON_LABELS`) that fired, so the
dashboard can show people by default and still explain the rest.

Precedence when several signals fire: ``owner`` (the job seeker's own browser or network, see
:mod:`tracking.owner`) beats everything; then ``preview`` (a known unfurler names itself) beats ``bot``
(a crawler user agent, per ``crawlerdetect``), which beats ``scanner`` (every other automated
signal); a click with no signal is ``human``. All reasons that fired are kept.

Everything here is pure and cheap: user-agent parsing (``ua-parser``'s and ``crawlerdetect``'s
rules, run by :mod:`tracking.useragents` in time linear in the agent: ~0.1 ms for any agent up
to the 1,000-character cap) is also cached per distinct user agent, so an agent seen again
costs nothing; so are an address's network checks (:mod:`tracking.netsets`). The one
rule that needs other clicks (several links of an application opened within seconds from one
network) lives in :mod:`tracking.clicks.burst`; :func:`burst_network` gives it the network to
compare. :func:`classify_into` applies a verdict to an unsaved click.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from tracking import netsets, owner, useragents
from tracking.models import Classification, LinkClick

# Reason codes stored in ``link_clicks.classification_reasons``, with the words to show for them.
REASON_LABELS: dict[str, str] = {
    "head_request": "HEAD request: a link checker, not a browser",
    "preview_agent": "Link-preview agent (LinkedIn, Slack, WhatsApp…)",
    "crawler_agent": "Crawler or script user agent (crawlerdetect's list)",
    "listed_bot_agent": "Bot user agent (Matomo Device Detector's or ua-parser's bot list)",
    "tool_agent": "HTTP library, command-line tool, headless browser or monitoring tool",
    "contact_in_agent": "User agent gives a URL or contact address, as bots do",
    "unknown_agent": "Unknown user agent without a browser's shape",
    "empty_user_agent": "No user agent",
    "no_accept_language": "Browser-like agent without an Accept-Language header",
    "scanner_network": "From an email-security network",
    "scanner_referrer": "Came from an email-security link checker's page (referrer)",
    "soon_after_creation": "Opened within {window} s of the link's creation",
    "soon_after_submission": "Opened within {window} s of the application's submission",
    "burst": "Several links of one application opened within 2 s from one network",
    "decoy_hit": "Opened the e-mail's hidden decoy link, or came from the network that did "
    "within 30 s",
    "datacenter_network": "From a cloud or hosting provider's network, not a person's",
    "mail_security_network": "From an email-security company's network",
    "owner_cookie": "Your own browser (signed in to the dashboard or admin)",
    "owner_network": "From one of your own networks (OWNER_NETWORKS)",
}


def reason_label(code: str) -> str:
    """The words for a reason code, with the scanner window's length filled in."""
    label = REASON_LABELS.get(code, code)
    return label.replace("{window}", str(settings.SCANNER_WINDOW_SECONDS))


# Reasons that say the agent is not a browser a person uses: any of them makes a click a bot.
BOT_REASONS = frozenset(
    {"crawler_agent", "listed_bot_agent", "tool_agent", "contact_in_agent", "unknown_agent"}
)
# The job seeker's own clicks (tracking.owner): they beat every other verdict.
OWNER_REASONS = frozenset({"owner_cookie", "owner_network"})
SCANNER_REASONS = frozenset(REASON_LABELS) - BOT_REASONS - OWNER_REASONS - {"preview_agent"}

# Link unfurlers name themselves; crawlerdetect files most of them under "crawler", but a job
# seeker should read "LinkedIn showed a preview", not "a bot". Tokens match case-insensitively
# (RE2, linear in the agent's length).
_PREVIEW_AGENT = useragents.AgentPattern(
    r"LinkedInBot|Slackbot|Slack-ImgProxy|Twitterbot|facebookexternalhit|Facebot|WhatsApp"
    r"|TelegramBot|Discordbot|SkypeUriPreview|Google-PageRenderer|redditbot|Embedly|Iframely"
    r"|Mastodon/|Bluesky|Cardyb|Snap URL Preview|Viber|vkShare|Teams/|MicrosoftPreview",
)

# HTTP libraries, command-line clients, headless and automated browsers, monitoring and SEO
# tools: none of them is a person reading. Product tokens as the tools send them (their docs and
# default agents); a person's browser never carries them.
_TOOL_AGENT = useragents.AgentPattern(
    r"python-requests|python-urllib|Python/\d|python-httpx|aiohttp|httpx/|urllib3|Scrapy"
    r"|curl/|libcurl|Wget/|Go-http-client|Go http package|okhttp|^Java/|Java/\d|Apache-HttpClient"
    r"|Jakarta Commons|axios/|node-fetch|undici|^node$|got \(|Deno/|^Bun/|libwww-perl|LWP::"
    r"|WWW-Mechanize|Mechanize|Guzzle|^PHP|^Ruby|Ruby/\d|Faraday|HTTPie|PostmanRuntime|insomnia/|k6/"
    r"|reqwest|hackney|Typhoeus|RestSharp|Dart/\d|HeadlessChrome|Headless|PhantomJS|Selenium"
    r"|webdriver|Puppeteer|Playwright|Cypress|SlimerJS|jsdom|Nightmare|Zombie\.js"
    r"|UptimeRobot|Pingdom|StatusCake|Site24x7|Datadog|NewRelic|Uptime-Kuma|Better Uptime"
    r"|Lighthouse|PageSpeed|GTmetrix|Screaming Frog|Sitebulb|Ahrefs|Semrush|SEOkicks|Siteimprove"
    r"|WordPress/|Drupal \(|Joomla|WinHttp|PowerShell|Microsoft URL Control|Indy Library"
    r"|fasthttp|ReactorNetty/|Embarcadero|http_request|HttpClient|^Mozilla$"
    # Apple's URL loading system, as apps' background requests name it; a person's tap opens a
    # browser instead.
    r"|CFNetwork/|^Darwin/\d",
)

# Contact details or a home page in the agent: crawlers sign their agents this way
# ("+http://…/bot.html", "admin@…"); browsers never do.
_CONTACT_IN_AGENT = useragents.AgentPattern(
    r"https?://|www\.|[a-z0-9._%+-]@[a-z0-9-]+\.[a-z]|\.(?:com|org|net|io|ai|dev)/"
)

# A browser's shape: "Mozilla/5.0 (platform) Engine/…" (every browser engine since 2010 sends
# this), Opera's Presto agents, and the text browsers. Bots that copy it are caught by the lists
# or the other signals; an agent of another shape that ua-parser cannot place is not a browser.
_BROWSER_SHAPE = useragents.AgentPattern(
    r"^Mozilla/5\.0 \([^)]+\) (?:AppleWebKit|Gecko|Trident|Presto|Goanna|KHTML)/"
    r"|^Mozilla/[45]\.0 \(compatible; MSIE \d|^Opera/\d|^(?:Lynx|w3m|Links|ELinks)[/ (]"
)

# Real people's browsers that the crawler lists name: Lynx sends "libwww-FM" (crawlerdetect
# reads "libwww"), and the desktop apps built on Chromium (Slack, Teams, other Electron apps)
# add their own product token ("Slack/", "Teams/", "Electron/") to a full browser agent, which
# crawlerdetect files under Slack's and Teams' link fetchers. Only a full browser agent with the
# app's token counts: the fetchers themselves ("Slackbot-LinkExpanding", "SkypeUriPreview") stay
# previews, and the tool list still catches automation built on Electron.
_APP_BROWSER = useragents.AgentPattern(
    r"^Lynx/\d"
    r"|^Mozilla/5\.0 \([^)]+\) AppleWebKit/[\d.]+ \(KHTML, like Gecko\) "
    r".*(?:Electron/\d|Slack_SSB/|Slack/\d|Teams/\d)"
)

_MATOMO_BOTS_FILE = Path(__file__).resolve().parent / "data" / "matomo_bots.txt"


@functools.cache
def matomo_bots() -> useragents.BoundedPatternList:
    """Matomo Device Detector's bot list (``data/matomo_bots.txt``, which cites its source)."""
    return useragents.BoundedPatternList(useragents.read_patterns(_MATOMO_BOTS_FILE))


# Operating systems whose devices are desktops or laptops (ua-parser's OS families).
_DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "macOS", "Linux", "Ubuntu", "Fedora", "Debian", "Chrome OS"}
    | {"FreeBSD", "OpenBSD", "NetBSD", "Solaris", "Red Hat", "SUSE", "Mint", "Arch Linux"}
)
_MOBILE_OS = frozenset(
    {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Tizen", "HarmonyOS"}
)

# One file per vendor, each citing its source (tracking/data/scanner_networks/*.txt).
_SCANNER_NETWORKS_DIR = Path(__file__).resolve().parent / "data" / "scanner_networks"
_SCANNER_REFERRERS_FILE = Path(__file__).resolve().parent / "data" / "scanner_referrers.txt"


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
    # When the application was sent: gateways scan links on delivery, so a click right after it
    # is a scanner too.
    application_submitted_at: dt.datetime | None = None
    # The request carried a valid owner cookie (tracking.owner).
    owner_cookie: bool = False
    # The job's company names (tracking.company), from the cached link. Never queued: the writer
    # reads them with the batch's links.
    company_keys: tuple[tuple[str, ...], ...] = ()
    # The link is its application's hidden decoy (tracking.clicks.decoy): no person opens it.
    decoy: bool = False
    # The link's application has a decoy link, so this click may be near a hit on it.
    application_has_decoy: bool = False

    def as_dict(self) -> dict[str, Any]:
        submitted = self.application_submitted_at
        return {
            "owner_cookie": self.owner_cookie,
            "decoy": self.decoy,
            "application_has_decoy": self.application_has_decoy,
            "user_agent": self.user_agent,
            "client_ip": self.client_ip,
            "has_accept_language": self.has_accept_language,
            "link_created_at": self.link_created_at.isoformat() if self.link_created_at else None,
            "application_id": self.application_id,
            "application_submitted_at": submitted.isoformat() if submitted else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClickSignals:
        created, submitted = data.get("link_created_at"), data.get("application_submitted_at")
        return cls(
            user_agent=data.get("user_agent"),
            client_ip=data.get("client_ip"),
            has_accept_language=bool(data.get("has_accept_language")),
            link_created_at=signal_time(created) if created else None,
            application_id=data.get("application_id"),
            application_submitted_at=signal_time(submitted) if submitted else None,
            owner_cookie=bool(data.get("owner_cookie")),
            decoy=bool(data.get("decoy")),
            application_has_decoy=bool(data.get("application_has_decoy")),
        )


# A link's creation and its application's submission come back with each of its clicks: parsed
# once (the stream's check of an entry, then ClickSignals.from_dict, ask for the same ones).
signal_time = functools.lru_cache(maxsize=4096)(dt.datetime.fromisoformat)


@dataclass(frozen=True, slots=True)
class AgentInfo:
    """A user agent, parsed once and cached."""

    device_type: str | None  # desktop, mobile, tablet, bot, other
    browser: str | None
    os: str | None
    is_preview: bool
    is_crawler: bool
    looks_like_browser: bool
    # Matomo Device Detector's bot list, or ua-parser's "Spider" device.
    is_listed_bot: bool = False
    is_tool: bool = False
    has_contact: bool = False
    # ua-parser places no browser and the agent has no browser's shape.
    is_unknown: bool = False
    # The reasons the checks above give, in :func:`classify_click`'s order: worked out once per
    # agent (it is cached with it), not once per click. Follows from the fields, so left out of
    # comparisons.
    reasons: tuple[str, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        fired = (
            ("preview_agent", self.is_preview),
            ("crawler_agent", self.is_crawler),
            ("listed_bot_agent", self.is_listed_bot),
            ("tool_agent", self.is_tool),
            ("contact_in_agent", self.has_contact),
            ("unknown_agent", self.is_unknown),
        )
        object.__setattr__(self, "reasons", tuple(code for code, on in fired if on))


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


# Bounded: ~0.5 KB an entry (the agent and its AgentInfo), ~8 MB when full. Large enough for the
# distinct agents a writer meets (bench/ingest.py feeds it 5,000): once the distinct agents
# outnumber the entries, the rare ones are parsed again on every click.
AGENT_CACHE_SIZE = 16_384


@functools.lru_cache(maxsize=AGENT_CACHE_SIZE)
def parse_agent(user_agent: str) -> AgentInfo:
    """Parse a (non-empty, already capped) user agent. Cached: a parse costs ~0.1 ms."""
    return agent_info(
        user_agent,
        parsed=useragents.parse(user_agent),
        is_crawler=useragents.is_crawler(useragents.prepare(user_agent)),
    )


def agent_info(user_agent: str, *, parsed: Any, is_crawler: bool) -> AgentInfo:
    """What :func:`parse_agent` makes of ua-parser's result and crawlerdetect's verdict.

    Separate so that the benchmark and the tests can feed it the libraries' own pure-Python
    answers and compare.
    """
    browser = _family(parsed.user_agent)
    os_name = _family(parsed.os)
    device = parsed.device
    text = useragents.prepare(user_agent)  # translated once for the patterns below
    app_browser = _APP_BROWSER.search(text)
    is_preview = _PREVIEW_AGENT.search(text) and not app_browser
    is_crawler = is_crawler and not app_browser
    is_listed_bot = not app_browser and (
        (device is not None and device.family == "Spider") or matomo_bots().matches(text)
    )
    is_tool = _TOOL_AGENT.search(text)
    has_contact = _CONTACT_IN_AGENT.search(text)
    is_unknown = browser is None and not _BROWSER_SHAPE.search(text)
    automated = is_preview or is_crawler or is_listed_bot or is_tool or has_contact
    if automated or is_unknown:
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
        looks_like_browser=user_agent.startswith("Mozilla/") and not automated,
        is_listed_bot=is_listed_bot,
        is_tool=is_tool,
        has_contact=has_contact,
        is_unknown=is_unknown,
    )


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def read_networks(path: Path) -> list[Network]:
    """The networks of a file: one IP or CIDR a line, ``#`` starts a comment.

    ValueError names the file and line of an entry that is no network.
    """
    networks = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if entry:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{path}, line {number}: not a network: {entry!r}") from None
    return networks


@functools.cache
def _vendor_network_files() -> tuple[Path, ...]:
    # The files ship with the code: listed once per process, not once per click.
    return tuple(sorted(_SCANNER_NETWORKS_DIR.glob("*.txt")))


# Keyed by SCANNER_NETWORKS_FILE's value: a changed setting (a test, a reconfigured process)
# reads the files anew; the last two settings are kept.
@functools.lru_cache(maxsize=2)
def _networks_of(users_file: str) -> tuple[Network, ...]:
    paths = [*_vendor_network_files(), *([Path(users_file)] if users_file else [])]
    return tuple(network for path in paths for network in read_networks(path))


@functools.lru_cache(maxsize=2)
def _scanner_set(users_file: str) -> netsets.NetworkSet:
    return netsets.NetworkSet(_networks_of(users_file))


def scanner_networks() -> tuple[Network, ...]:
    """The email-security networks: the vendors' files of ``data/scanner_networks/`` (each
    documents its source) and the user's own file, ``SCANNER_NETWORKS_FILE``, when set. Read once
    per process."""
    return _networks_of(settings.SCANNER_NETWORKS_FILE or "")


@functools.lru_cache(maxsize=1)
def scanner_referrer_hosts() -> frozenset[str]:
    """The hosts of ``data/scanner_referrers.txt`` (documented there), lower case."""
    hosts = set()
    for line in _SCANNER_REFERRERS_FILE.read_text().splitlines():
        entry = line.split("#", 1)[0].strip().lower()
        if entry:
            hosts.add(entry)
    return frozenset(hosts)


def from_scanner_referrer(referrer: str | None) -> bool:
    """Whether the referrer's host is a listed host or one of its subdomains."""
    if not referrer:
        return False
    return _from_scanner_referrer(referrer)


# Referrers repeat (a handful of webmail and social sites make most of them); the list is a file
# shipped with the code, read once. ~4,096 referrers of at most 1,000 characters: ≤ ~10 MB.
@functools.lru_cache(maxsize=4096)
def _from_scanner_referrer(referrer: str) -> bool:
    try:
        host = (urlsplit(referrer).hostname or "").rstrip(".")
    except ValueError:
        return False
    listed = scanner_referrer_hosts()
    # Walk up the labels: "a.b.example.com" is checked as itself, "b.example.com", "example.com"…
    while host:
        if host in listed:
            return True
        host = host.partition(".")[2]
    return False


def _within_window(
    clicked_at: dt.datetime | None, anchor: dt.datetime | None, window_seconds: int
) -> bool:
    if window_seconds <= 0 or clicked_at is None or anchor is None:
        return False
    return 0 <= (clicked_at - anchor).total_seconds() < window_seconds


def _address(ip: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not ip:
        return None
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def in_scanner_network(ip: str | None) -> bool:
    if not ip:
        return False
    return netsets.address_key(ip) in _scanner_set(settings.SCANNER_NETWORKS_FILE or "")


def burst_network(ip: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) that the burst rule compares, or None without an address."""
    if not ip:
        return None
    return _burst_network(ip)


# Per distinct address, bounded like tracking.netsets' cache (a network string ~100 B more).
@functools.lru_cache(maxsize=netsets.ADDRESS_CACHE_SIZE)
def _burst_network(ip: str) -> str | None:
    # The address as the scanner check read it (netsets' cache); IPv4's network from its integer.
    key = netsets.address_key(ip)
    if key is None:
        return None
    version, value = key
    if version == 4:
        return f"{value >> 24}.{value >> 16 & 255}.{value >> 8 & 255}.0/24"
    return str(ipaddress.ip_network(f"{ipaddress.ip_address(ip)}/48", strict=False))


def classify_click(
    *,
    http_method: str | None,
    user_agent: str | None,
    has_accept_language: bool,
    client_ip: str | None,
    clicked_at: dt.datetime | None,
    link_created_at: dt.datetime | None,
    scanner_window_seconds: int,
    referrer: str | None = None,
    application_submitted_at: dt.datetime | None = None,
    owner_cookie: bool = False,
    decoy: bool = False,
) -> Verdict:
    """Classify one click from its own signals (everything but the burst and decoy rules'
    comparisons with other clicks)."""
    reasons: list[str] = []
    if owner_cookie:
        reasons.append("owner_cookie")
    if owner.in_owner_network(client_ip):
        reasons.append("owner_network")
    agent = parse_agent(user_agent) if user_agent else None

    if agent is not None:
        # Every agent check adds its reason: a preview that is also on a crawler list says so.
        reasons.extend(agent.reasons)
    if http_method and http_method.upper() == "HEAD":
        reasons.append("head_request")
    if agent is None:
        reasons.append("empty_user_agent")
    elif agent.looks_like_browser and not has_accept_language:
        reasons.append("no_accept_language")
    if in_scanner_network(client_ip):
        reasons.append("scanner_network")
    if from_scanner_referrer(referrer):
        reasons.append("scanner_referrer")
    if (
        scanner_window_seconds > 0
        and clicked_at is not None
        and link_created_at is not None
        and (clicked_at - link_created_at).total_seconds() < scanner_window_seconds
    ):
        reasons.append("soon_after_creation")
    if _within_window(clicked_at, application_submitted_at, scanner_window_seconds):
        reasons.append("soon_after_submission")
    if decoy:
        reasons.append("decoy_hit")

    return Verdict(
        classification=classification_for(reasons),
        reasons=tuple(reasons),
        device_type=agent.device_type if agent else None,
        browser=agent.browser if agent else None,
        os=agent.os if agent else None,
    )


def classification_for(reasons: list[str] | tuple[str, ...]) -> str:
    """The classification that a set of reasons implies (see the module's precedence)."""
    if not OWNER_REASONS.isdisjoint(reasons):
        return Classification.OWNER
    if "preview_agent" in reasons:
        return Classification.PREVIEW
    if not BOT_REASONS.isdisjoint(reasons):
        return Classification.BOT
    if not SCANNER_REASONS.isdisjoint(reasons):
        return Classification.SCANNER
    return Classification.HUMAN


def warm_up() -> None:
    """Load ua-parser's and crawlerdetect's rules now rather than on a visitor's first click."""
    parse_agent.__wrapped__(
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/130.0.0.0 Safari/537.36"
    )
    _scanner_set(settings.SCANNER_NETWORKS_FILE or "")
    scanner_referrer_hosts()


def classification_fields(
    *,
    http_method: str | None,
    clicked_at: dt.datetime | None,
    signals: ClickSignals,
    referrer: str | None = None,
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
        referrer=referrer,
        application_submitted_at=signals.application_submitted_at,
        owner_cookie=signals.owner_cookie,
        decoy=signals.decoy,
    )
    return {
        "classification": verdict.classification,
        "classification_reasons": list(verdict.reasons),
        "device_type": verdict.device_type,
        "browser": verdict.browser,
        "os": verdict.os,
    }


# The network kinds (tracking.geo, from the click's ASN) that make a click a machine's. Networks
# that forward people (corporate gateways, private relays, carriers) add nothing.
NETWORK_KIND_REASONS = {
    "hosting": "datacenter_network",
    "mail_security": "mail_security_network",
}


def apply_network_kind(click: LinkClick, network_kind: str | None) -> None:
    """Add the reason a classified click's network gives, if any, and classify again."""
    reason = NETWORK_KIND_REASONS.get(network_kind or "")
    if reason is None or click.classification is None:
        return
    reasons = list(click.classification_reasons or [])
    if reason not in reasons:
        reasons.append(reason)
    click.classification_reasons = reasons
    click.classification = classification_for(reasons)


def classify_into(click: LinkClick, signals: ClickSignals) -> None:
    """Set the classification, reasons and parsed device fields of an unsaved click (the fields
    of :func:`classification_fields`, set directly: this runs for every click)."""
    verdict = classify_click(
        http_method=click.http_method,
        user_agent=signals.user_agent,
        has_accept_language=signals.has_accept_language,
        client_ip=signals.client_ip,
        clicked_at=click.clicked_at,
        link_created_at=signals.link_created_at,
        scanner_window_seconds=settings.SCANNER_WINDOW_SECONDS,
        referrer=click.referrer_url,
        application_submitted_at=signals.application_submitted_at,
        owner_cookie=signals.owner_cookie,
        decoy=signals.decoy,
    )
    click.classification = verdict.classification
    click.classification_reasons = list(verdict.reasons)
    click.device_type, click.browser, click.os = verdict.device_type, verdict.browser, verdict.os
    click.has_accept_language = signals.has_accept_language
