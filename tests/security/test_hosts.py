"""The WHATWG host parser and the public-address judgement of ``tracking.hosts``, piece by piece."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from tracking import hosts


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("example.com", False),
        ("example.com.", False),
        ("1.2.3.4", True),
        ("1.2.3.4.", True),
        ("example.123", True),
        ("example.0x1", True),
        ("example.0x", True),
        ("example.0xg", False),
        ("example.09", True),  # all digits: a number, and then not a valid one
        ("example.07a", False),
        (".", False),
        ("", False),
        ("1.2.3.4..", False),
    ],
)
def test_ends_in_a_number_follows_the_standard(domain: str, expected: bool) -> None:
    assert hosts.ends_in_a_number(domain) is expected


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("0x7f.1", "127.0.0.1"),
        ("0177.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("127.1.", "127.0.0.1"),
        ("1.2.3", "1.2.0.3"),
        ("1.2.0x10000", None),
        ("1.0xffffff", "1.255.255.255"),
        ("1.0x1000000", None),
        ("0xffffffff", "255.255.255.255"),
        ("0x1_0.1", None),
        ("0x+10.1", None),
        (" 1.1", None),
        ("1.2.3.4.5", None),
        ("0x", "0.0.0.0"),  # noqa: S104 - an address read, never bound
        ("00.0", "0.0.0.0"),  # noqa: S104 - an address read, never bound
    ],
)
def test_the_ipv4_parser_reads_every_radix_and_refuses_overflow(
    text: str, address: str | None
) -> None:
    if address is None:
        with pytest.raises(hosts.DestinationRefused):
            hosts.parse_ipv4(text)
    else:
        assert hosts.parse_ipv4(text) == ipaddress.IPv4Address(address)


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("::ffff:7f00:1", ["127.0.0.1"]),
        ("::127.0.0.1", ["127.0.0.1"]),
        ("64:ff9b::a9fe:a9fe", ["169.254.169.254"]),
        ("2002:c0a8:101::1", ["192.168.1.1"]),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", ["65.54.227.120", "192.0.2.45"]),
        ("2001:4860:4860::8888", []),
    ],
)
def test_ipv6_forms_give_up_the_ipv4_they_carry(address: str, carried: list[str]) -> None:
    found = hosts.embedded_ipv4(ipaddress.IPv6Address(address))
    assert [str(item) for item in found] == carried


def test_a_public_ipv4_inside_6to4_keeps_the_address_public() -> None:
    assert hosts.is_public_address(ipaddress.IPv6Address("2002:808:808::1"))
    assert not hosts.is_public_address(ipaddress.IPv6Address("2002:a00:1::1"))


@pytest.mark.parametrize("text", ["ü" * 300 + ".com", "ü" * 64 + ".com", "\u00ad" * 400 + "a.com"])
def test_long_international_names_are_refused_before_any_idna_work(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    def no_idna(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("IDNA work on over-long input")

    monkeypatch.setattr(hosts.idna, "encode", no_idna)
    with pytest.raises(hosts.DestinationRefused) as excinfo:
        hosts.parse_host(text)
    assert excinfo.value.code == "invalid_host"


def test_host_and_url_input_is_capped_before_parsing() -> None:
    with pytest.raises(hosts.DestinationRefused):
        hosts.parse_host("a" * (hosts.HOST_INPUT_MAX + 1))
    with pytest.raises(hosts.DestinationRefused) as excinfo:
        hosts.parse_destination("http://example.com/" + "a" * hosts.HOST_INPUT_MAX)
    assert excinfo.value.code == "unparsable"


@pytest.mark.parametrize(
    ("base_url", "destination"),
    [
        ("https://links.example.com", "https://LINKS.EXAMPLE.COM./x"),
        ("https://bücher.example", "https://xn--bcher-kva.example/x"),
        ("https://xn--bcher-kva.example", "https://BÜCHER.example/x"),
        ("http://8.8.8.8:8000", "http://134744072/track/x"),
    ],
)
def test_the_loop_check_compares_canonical_hosts(base_url: str, destination: str) -> None:
    with pytest.raises(hosts.DestinationRefused) as excinfo:
        hosts.check_destination(destination, own_host=hosts.url_host(base_url))
    assert excinfo.value.code == "loop"


def test_an_unparsable_configured_url_still_names_its_host() -> None:
    assert hosts.url_host("http://links_host.example.com") == "links_host.example.com"
    assert hosts.url_host("not a url") is None
