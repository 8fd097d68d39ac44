"""IP addresses read once per distinct string, and network lists searched by bisection.

Every click the writer classifies asks whether its address is in the email-security networks
(~80 of them) and in the owner's, and which /24 (/48) it belongs to. With ``ipaddress`` that is
a parse of the address (~2 µs) and one ``address in network`` per network (~0.5 µs each): about
50 µs a click. Here an address is parsed once per distinct string (:func:`address_key`, a
bounded LRU: a writer meets the same offices, gateways and scanners again and again), and a
:class:`NetworkSet` holds each IP version's networks as sorted, merged integer ranges searched
with ``bisect``: well under a microsecond, and the same answer as ``address in network`` for
some network of the list (same version, address between the network's first and last address).
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# (IP version, the address as an integer), or None for a string that is no address.
AddressKey = tuple[int, int] | None

# ~200 B an entry (the string, its key, the LRU's links): ~6 MB when full. More than the distinct
# addresses a writer meets in a while (bench/ingest.py's 20,500); past it, a rare address is
# parsed again, which costs what it always did.
ADDRESS_CACHE_SIZE = 32_768


@functools.lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def address_key(ip: str) -> AddressKey:
    """``ip`` as (version, integer), or None when ``ipaddress`` does not read it as an address.

    An IPv6 zone (``%eth0``) is ignored and an IPv4-mapped IPv6 address stays IPv6, as in
    ``ipaddress``'s own ``address in network``.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return address.version, int(address)


class NetworkSet:
    """Networks (IPv4 and IPv6 mixed) answering "is this address in one of them?"."""

    def __init__(self, networks: Iterable[Network]) -> None:
        spans: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for network in networks:
            first = int(network.network_address)
            spans[network.version].append((first, first + network.num_addresses - 1))
        self._starts: dict[int, list[int]] = {}
        self._ends: dict[int, list[int]] = {}
        for version, ranges in spans.items():
            merged: list[list[int]] = []
            for start, end in sorted(ranges):
                if merged and start <= merged[-1][1] + 1:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            self._starts[version] = [start for start, _end in merged]
            self._ends[version] = [end for _start, end in merged]

    def __contains__(self, key: AddressKey) -> bool:
        if key is None:
            return False
        version, value = key
        index = bisect.bisect_right(self._starts[version], value) - 1
        return index >= 0 and value <= self._ends[version][index]

    def __bool__(self) -> bool:
        return any(self._starts.values())
