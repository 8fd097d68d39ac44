"""build_click's unsaved clicks, and the caches of the writer's per-click work.

The writer builds clicks without ``Model.__init__`` (tracking.services.clicks.new_link_click) and
answers network questions from caches (tracking.netsets): each must give exactly what the plain
way gives.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import uuid
from typing import Any

import pytest
from django.db.models import signals

from tests.factories import make_link
from tracking import classify, netsets, owner, services
from tracking.clicks import stream
from tracking.models import LinkClick
from tracking.services.clicks import new_link_click

VALUES: dict[str, Any] = {
    "click_id": uuid.UUID("01a20ef7-29df-7929-be8d-688e18e0cde1"),
    "tracking_id": "abc123",
    "clicked_at": dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC),
    "ip_address": "203.0.113.7",
    "user_agent": "Mozilla/5.0",
    "referrer_url": "https://mail.google.com/",
    "session_id": "s_1",
    "click_source": "email",
    "metadata": {"utm_source": "mail"},
    "http_method": "GET",
}


def state_of(click: LinkClick) -> dict[str, Any]:
    fields = {f.attname: getattr(click, f.attname) for f in LinkClick._meta.concrete_fields}
    return {**fields, "adding": click._state.adding, "db": click._state.db}


@pytest.mark.parametrize("omitted", [(), ("metadata", "clicked_at", "click_id")])
def test_a_fast_built_click_equals_a_normally_built_one_field_by_field(
    omitted: tuple[str, ...],
) -> None:
    values = {name: value for name, value in VALUES.items() if name not in omitted}
    fast, plain = new_link_click(**values), LinkClick(**values)
    assert set(fast.__dict__) == set(plain.__dict__)
    fast_state, plain_state = state_of(fast), state_of(plain)
    if "click_id" in omitted:  # a random default each time: the same kind, not the same value
        assert type(fast_state.pop("click_id")) is type(plain_state.pop("click_id"))
    if "clicked_at" in omitted:  # a database default: an expression of the same kind
        fast_default, plain_default = fast_state.pop("clicked_at"), plain_state.pop("clicked_at")
        assert type(fast_default) is type(plain_default)
        assert fast_default.expression == plain_default.expression
    assert fast_state == plain_state


def test_a_fast_built_clicks_default_metadata_is_its_own() -> None:
    values = {name: value for name, value in VALUES.items() if name != "metadata"}
    first, second = new_link_click(**values), new_link_click(**values)
    assert first.metadata == {} and first.metadata is not second.metadata


@pytest.mark.django_db
def test_a_fast_built_click_saves_and_reads_back() -> None:
    link = make_link()
    click = services.build_click(
        tracking_id=link.tracking_id, ip_address="::ffff:203.0.113.7", user_agent="Mozilla/5.0"
    )
    services.insert_clicks([click])
    stored = LinkClick.objects.get(pk=click.click_id)
    assert (stored.ip_address, stored.user_agent, stored.metadata) == (
        "203.0.113.7",
        "Mozilla/5.0",
        {},
    )


def test_post_init_receivers_still_run() -> None:
    seen: list[LinkClick] = []

    def receiver(sender: Any, instance: LinkClick, **kwargs: Any) -> None:
        seen.append(instance)

    signals.post_init.connect(receiver, sender=LinkClick)
    try:
        click = new_link_click(**VALUES)
    finally:
        signals.post_init.disconnect(receiver, sender=LinkClick)
    assert seen == [click]


NETWORKS = ["192.0.2.0/25", "192.0.2.128/26", "10.0.0.0/8", "2001:db8::/32", "198.51.100.7"]
ADDRESSES = [
    "192.0.2.0", "192.0.2.191", "192.0.2.192", "10.255.255.255", "11.0.0.0", "9.255.255.255",
    "2001:db8:ffff::1", "2001:db9::", "::ffff:192.0.2.1", "198.51.100.7", "198.51.100.8",
    "fe80::1%eth0", "not an address", "",
]  # fmt: skip


@pytest.mark.parametrize("ip", ADDRESSES)
def test_a_network_set_answers_as_ipaddress_does(ip: str) -> None:
    networks = [ipaddress.ip_network(n, strict=False) for n in NETWORKS]
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        expected = False
    else:
        expected = any(address in network for network in networks)
    assert (netsets.address_key(ip) in netsets.NetworkSet(networks)) is expected


def test_owner_networks_follow_the_setting(settings: Any) -> None:
    settings.OWNER_NETWORKS = ["203.0.113.0/24"]
    assert owner.in_owner_network("203.0.113.9")
    settings.OWNER_NETWORKS = ["198.51.100.0/24"]
    assert not owner.in_owner_network("203.0.113.9")
    assert owner.in_owner_network("198.51.100.1")


@pytest.mark.parametrize(
    ("ip", "network"),
    [("203.0.113.77", "203.0.113.0/24"), ("2001:db8:1:2::9", "2001:db8:1::/48"), ("x", None)],
)
def test_the_burst_network_is_the_addresses_24_or_48(ip: str, network: str | None) -> None:
    assert classify.burst_network(ip) == network
    assert classify.burst_network(ip) == network  # cached


@pytest.mark.parametrize(
    "ip",
    [
        "0.0.0.0",  # noqa: S104 - an address to parse, not to bind
        "255.255.255.255", "10.0.0.1", "192.0.2.255", "198.51.100.0",
        "1.2.3.4", "001.2.3.4", "1.2.3", "1.2.3.4.5", "256.1.1.1", " 1.2.3.4", "1.2.3.4 ",
        "1.2.3.4%eth0", "::ffff:203.0.113.7", "::ffff:cb00:7107", "::", "::1",
        "fe80::1%eth0", "2001:db8::%1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
        "1::2::3", "", "\u0661.2.3.4", "\uff11.2.3.4",
    ],
)  # fmt: skip
def test_the_burst_network_is_the_one_ipaddress_gives(ip: str) -> None:
    """The network written from the cached address is the one ``ipaddress`` builds."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        expected = None
    else:
        prefix = 24 if address.version == 4 else 48
        expected = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    assert classify.burst_network(ip) == (expected if ip else None)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"v":1,"m":{"n":123456789012345678901234567890}}',
        b'{"v":1,"cr":[{"n":-9223372036854775809}]}',
        b'{"v":1,"at":NaN}',
        b'{"v":1,"ua":"\\ud800"}',
        b"12345678901234567890123",
        b'{"v":1,"t":"abc","sig":{"user_agent":"x","has_accept_language":true}}',
    ],
)
def test_an_entry_reads_as_json_reads_it(payload: bytes) -> None:
    assert repr(stream._loads(payload)) == repr(json.loads(payload))
