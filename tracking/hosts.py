"""Hosts as a browser reads them, and whether a tracked link may send a visitor there.

A tracked link answers a 302 to its destination; the recruiter's browser, not this service, then
reads that URL. So the host we judge must be the host the browser will connect to. Browsers follow
the WHATWG URL standard (https://url.spec.whatwg.org/#host-parsing), which reads far more than
dotted-decimal IPv4: ``0x7f.1``, ``2130706433``, ``0177.0.0.1`` and ``127.1`` are all 127.0.0.1,
``%31%32%37.0.0.1`` is percent-decoded first, and full-width digits and dots are mapped by UTS #46.
Python's ``urlsplit`` and ``ipaddress`` read none of these, so this module implements the
standard's host parser, judges its result, and refuses every URL whose host Python and a browser
could read differently (a backslash ends the host for a browser, not for Python).

International names go through the ``idna`` package (UTS #46, non-transitional, as browsers do).
Python's built-in ``idna`` codec is IDNA 2003 on Unicode 3.2: it maps ``faß.de`` to ``fass.de``
and ``ς.gr`` to ``xn--4xa.gr`` (sigma) where a browser goes to ``xn--fa-hia.de`` and
``xn--3xa.gr``, so it would judge a different host from the one visited. Where ``idna``'s IDNA 2008
rules are stricter than a browser (emoji, underscores), the URL is refused: the safe side.

Every function is pure and works on input capped in length before any other work, so judging a URL
costs about 10 µs for an ordinary one and stays near 0.1 ms for the worst a caller can send.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes, urlsplit

import idna

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Host = str | Address

# Longest host text looked at: the destination column holds 1000 characters.
HOST_INPUT_MAX = 1000
# A DNS name is at most 253 characters in 63-character labels (RFC 1035); a Unicode name maps to at
# least as many ASCII characters as it has (non-ignored) code points, so longer input is refused
# before any IDNA work.
_DOMAIN_MAX = 253
_LABEL_MAX = 63

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_LDH_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_IPV6_TEXT_RE = re.compile(r"^[0-9A-Fa-f:.]{2,45}$")
# The standard's "special" schemes end the authority at a backslash too; Python's urlsplit does not.
_BROWSER_AUTHORITY_END_RE = re.compile(r"[/\\?#]")
_SLASHES_RE = re.compile(r"[/\\]*")
# UTS #46 maps these to "." before labels are split (ideographic and full-width full stops).
_UNICODE_DOTS_RE = re.compile("[.\u3002\uff0e\uff61]")
_RADIX_DIGITS = {
    10: re.compile(r"^[0-9]+$"),
    8: re.compile(r"^[0-7]+$"),
    16: re.compile(r"^[0-9A-Fa-f]+$"),
}

# WHATWG "forbidden domain code point": forbidden host code points, C0 controls, "%" and DEL.
FORBIDDEN_DOMAIN_CODE_POINTS = frozenset(
    "\x00\t\n\r #/:<>?@[\\]^|%\x7f" + "".join(chr(c) for c in range(0x20))
)

# Top-level names that only ever resolve inside a private network or this machine: RFC 6761
# (localhost), RFC 6762 (local, and the private-use names of its appendix G), ICANN's 2024
# reservation of "internal", "localdomain" from common resolver setups, and "arpa" (reverse
# lookups and home.arpa, RFC 8375), which never names a web server.
LOCAL_TOP_LEVEL_NAMES = frozenset(
    {
        "localhost",
        "local",
        "localdomain",
        "internal",
        "intranet",
        "private",
        "corp",
        "home",
        "lan",
        "arpa",
    }
)

# Special-purpose blocks (IANA registries) a tracked link must not send a browser to, on top of
# whatever ``ipaddress`` calls non-global: Python's own table changes between patch releases and, on
# 3.11, calls multicast and IPv4-carrying IPv6 forms "global".
_NON_PUBLIC_V4 = tuple(
    ipaddress.IPv4Network(block)
    for block in (
        "0.0.0.0/8",  # "this network"; browsers connect 0.0.0.0 to the local machine
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata services
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
# Outside 2000::/3 nothing is global unicast (loopback, IPv4-mapped and -compatible, NAT64, ULA,
# link- and site-local, multicast); inside it these blocks are special-purpose.
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NON_PUBLIC_V6 = tuple(
    ipaddress.IPv6Network(block)
    for block in (
        "2001::/23",  # IETF protocol assignments, Teredo among them
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
    )
)
_IPV4_COMPATIBLE_V6 = ipaddress.IPv6Network("::/96")
_NAT64_V6 = ipaddress.IPv6Network("64:ff9b::/96")


MESSAGES = {
    "control": "The URL contains control or space characters.",
    "unparsable": "The URL cannot be parsed.",
    "scheme": "Only http and https URLs can be tracked.",
    "slashes": "The URL must have exactly two slashes after http: or https:.",
    "ambiguous": "Browsers would read this URL's host differently: a backslash ends it for them.",
    "userinfo": "URLs with a user name or password are not allowed.",
    "no_host": "The URL has no host.",
    "port": "The URL has an invalid port.",
    "invalid_host": "The URL's host name is not valid.",
    "not_public": "URLs to private, loopback or reserved addresses are not allowed.",
    "local_name": "The URL must point to a public host name, not a local one.",
    "loop": "The URL points at this tracking service, which would loop.",
}


class DestinationRefused(ValueError):
    """A URL that may not be a destination; ``code`` says why, ``message`` says it to a person."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.message = MESSAGES[code]
        super().__init__(self.message)


@dataclass(frozen=True, slots=True)
class Destination:
    """A URL as a browser reads it: lower-case scheme, canonical host, explicit port if any."""

    scheme: str
    host: Host
    port: int | None


# --- The WHATWG host parser -----------------------------------------------------------------


def parse_host(text: str) -> Host:
    """Parse the host of an http(s) URL as the WHATWG URL standard does.

    Returns an ``IPv4Address``, an ``IPv6Address`` or the ASCII domain (lower case, punycode, a
    trailing dot kept). Raises :class:`DestinationRefused` ("invalid_host") where a browser fails.
    """
    if not text or len(text) > HOST_INPUT_MAX:
        raise DestinationRefused("invalid_host")
    if text.startswith("["):
        if not text.endswith("]"):
            raise DestinationRefused("invalid_host")
        return parse_ipv6(text[1:-1])
    domain = unquote_to_bytes(text).decode("utf-8", errors="replace")
    ascii_domain = domain_to_ascii(domain)
    if any(ch in FORBIDDEN_DOMAIN_CODE_POINTS for ch in ascii_domain):
        raise DestinationRefused("invalid_host")
    if ends_in_a_number(ascii_domain):
        return parse_ipv4(ascii_domain)
    return ascii_domain


def domain_to_ascii(domain: str) -> str:
    """UTS #46 ToASCII with the standard's options (non-transitional, no STD3 rules)."""
    # The standard's fast path: plain ASCII without an A-label is only lower-cased.
    labels = _UNICODE_DOTS_RE.split(domain)
    if domain.isascii() and not any(label.lower().startswith("xn--") for label in labels):
        result = domain.lower()
    else:
        if len(domain) > _DOMAIN_MAX + 1 or any(len(label) > _LABEL_MAX for label in labels):
            raise DestinationRefused("invalid_host")
        try:
            result = idna.encode(domain, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            raise DestinationRefused("invalid_host") from None
    if not result:
        raise DestinationRefused("invalid_host")
    return result


def ends_in_a_number(domain: str) -> bool:
    """The standard's "ends in a number" checker: such a host must parse as IPv4 or fail."""
    parts = domain.split(".")
    if parts[-1] == "":
        if len(parts) == 1:
            return False
        parts.pop()
    last = parts[-1]
    if last and _RADIX_DIGITS[10].match(last):
        return True
    return _parse_ipv4_number(last) is not None


def parse_ipv4(text: str) -> ipaddress.IPv4Address:
    """The standard's IPv4 parser: 1-4 parts, each decimal, octal (``0``) or hex (``0x``)."""
    parts = text.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()  # one trailing dot is allowed
    if len(parts) > 4:
        raise DestinationRefused("invalid_host")
    numbers = []
    for part in parts:
        number = _parse_ipv4_number(part)
        if number is None:
            raise DestinationRefused("invalid_host")
        numbers.append(number)
    # Every part but the last is one byte; the last fills the bytes that remain.
    if any(number > 255 for number in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise DestinationRefused("invalid_host")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number * 256 ** (3 - index)
    return ipaddress.IPv4Address(value)


def _parse_ipv4_number(text: str) -> int | None:
    if not text:
        return None
    radix = 10
    if len(text) >= 2 and text[:2] in ("0x", "0X"):
        text, radix = text[2:], 16
    elif len(text) >= 2 and text[0] == "0":
        text, radix = text[1:], 8
    if not text:
        return 0  # "0x" alone is zero
    # Checked by pattern first: int() would also take "+", "_" and surrounding space.
    if not _RADIX_DIGITS[radix].match(text):
        return None
    return int(text, radix)


def parse_ipv6(text: str) -> ipaddress.IPv6Address:
    """An IPv6 literal from between brackets; zone ids (``%eth0``) are refused, as browsers do."""
    if not _IPV6_TEXT_RE.match(text):
        raise DestinationRefused("invalid_host")
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        raise DestinationRefused("invalid_host") from None


# --- Reading a URL ----------------------------------------------------------------------------


def parse_destination(url: str) -> Destination:
    """Read an http(s) URL's scheme, host and port, refusing what Python and a browser read apart.

    No user information, no control or space characters, and exactly ``//`` after the scheme: a
    browser skips any run of slashes and backslashes there (``http:/\\example.com`` is
    example.com to it) where Python finds no host at all.
    """
    if len(url) > HOST_INPUT_MAX:
        raise DestinationRefused("unparsable")
    if _CONTROL_RE.search(url) or any(ch.isspace() for ch in url):
        # Browsers drop tabs and newlines anywhere in a URL: "127.0.\n0.1" is 127.0.0.1 to them.
        raise DestinationRefused("control")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise DestinationRefused("unparsable") from None
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise DestinationRefused("scheme")
    rest = url[len(parts.scheme) + 1 :]
    slashes = _SLASHES_RE.match(rest)
    if slashes is None or slashes.group() != "//":
        raise DestinationRefused("slashes")
    rest = rest[2:]
    end = _BROWSER_AUTHORITY_END_RE.search(rest)
    authority = rest[: end.start()] if end else rest
    if authority != parts.netloc:
        raise DestinationRefused("ambiguous")
    if "@" in authority:
        raise DestinationRefused("userinfo")
    if not authority:
        raise DestinationRefused("no_host")
    host_text, port = _split_port(authority)
    if not host_text:
        raise DestinationRefused("no_host")
    return Destination(scheme=scheme, host=parse_host(host_text), port=port)


def _split_port(authority: str) -> tuple[str, int | None]:
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            raise DestinationRefused("invalid_host")
        host_text, after = authority[: close + 1], authority[close + 1 :]
        if after and not after.startswith(":"):
            raise DestinationRefused("invalid_host")
        port_text = after[1:] if after else ""
    else:
        host_text, _, port_text = authority.partition(":")
    if not port_text:
        return host_text, None  # "example.com:" is the default port to a browser and to Python
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
        raise DestinationRefused("unparsable")
    if int(port_text) == 0:
        raise DestinationRefused("port")
    return host_text, int(port_text)


# --- Judging a host ---------------------------------------------------------------------------


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries and a network may route it to.

    IPv4-mapped (``::ffff:7f00:1``), IPv4-compatible (``::127.0.0.1``), NAT64 (``64:ff9b::/96``),
    6to4 (``2002::/16``) and Teredo (server and client of ``2001::/32``).
    """
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _IPV4_COMPATIBLE_V6 or address in _NAT64_V6:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return tuple(found)


def is_public_address(address: Address) -> bool:
    """True when a browser sent to ``address`` reaches the public internet, nothing closer."""
    if isinstance(address, ipaddress.IPv4Address):
        return address.is_global and not any(address in block for block in _NON_PUBLIC_V4)
    if not all(is_public_address(carried) for carried in embedded_ipv4(address)):
        return False
    return (
        address in _GLOBAL_UNICAST_V6
        and address.is_global
        and not any(address in block for block in _NON_PUBLIC_V6)
    )


def _same_host(a: Host, b: Host) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.rstrip(".") == b.rstrip(".")
    return a == b


def judge_host(host: Host, *, own_host: Host | None = None) -> None:
    """Refuse a parsed host that is not public, not a valid DNS name, or this service itself."""
    if isinstance(host, str):
        name = host[:-1] if host.endswith(".") else host
        labels = name.split(".")
        if len(name) > _DOMAIN_MAX or not all(_LDH_LABEL_RE.match(label) for label in labels):
            raise DestinationRefused("invalid_host")
        if len(labels) < 2 or labels[-1] in LOCAL_TOP_LEVEL_NAMES:
            raise DestinationRefused("local_name")
    elif not is_public_address(host):
        raise DestinationRefused("not_public")
    if own_host is not None and _same_host(host, own_host):
        raise DestinationRefused("loop")


def check_destination(url: str, *, own_host: Host | None = None) -> Destination:
    """Parse ``url`` as a browser would and refuse it unless it leads to a public host.

    ``own_host`` is this service's host (see :func:`url_host`): a link to it would loop.
    """
    destination = parse_destination(url)
    judge_host(destination.host, own_host=own_host)
    return destination


@functools.lru_cache(maxsize=16)
def url_host(url: str) -> Host | None:
    """The canonical host of a configured URL such as ``TRACKING_BASE_URL`` (None if it has none).

    Cached: settings rarely change, and each destination check compares against this.
    """
    try:
        return parse_destination(url).host
    except DestinationRefused:
        try:
            hostname = urlsplit(url).hostname
        except ValueError:
            return None
        return hostname.lower() if hostname else None


# Refusals that mean a browser would be sent somewhere it must not go, or read the host apart from
# us; the rest (IDNA 2008 strictness, a bad port, a loop) only make a link useless, not dangerous.
_DANGEROUS = frozenset(
    {"control", "scheme", "slashes", "ambiguous", "userinfo", "not_public", "local_name"}
)


def is_safe_redirect(url: str) -> bool:
    """False when redirecting a browser to a stored ``url`` could reach a non-public host.

    For destinations already in the database, which may predate today's rules or have been
    written by plain SQL: refuses only what is dangerous, so that a link accepted under older,
    looser name rules keeps working.
    """
    try:
        check_destination(url.strip())
    except DestinationRefused as refused:
        return refused.code not in _DANGEROUS
    return True
