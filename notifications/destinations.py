"""Where a webhook may send: the link URL rules, and the resolved addresses at send time.

A name that is public when the endpoint is saved can resolve to 127.0.0.1 tomorrow (or on the
next lookup: DNS rebinding), so every send resolves the host, checks every address, and connects
to the address it checked rather than resolving again. ``WEBHOOK_ALLOW_PRIVATE_NETWORKS`` lifts
the address rules for a self-hoster whose receiver sits on the same network.
"""

from __future__ import annotations

import ipaddress
import socket

from django.conf import settings

from tracking.hosts import (
    Destination,
    DestinationRefused,
    check_destination,
    is_public_address,
    parse_destination,
    url_host,
)


def check_webhook_url(url: str) -> Destination:
    """Refuse a webhook URL the way a link destination is refused (raises DestinationRefused)."""
    if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        return parse_destination(url)
    return check_destination(url, own_host=url_host(settings.TRACKING_BASE_URL))


def resolve(destination: Destination) -> tuple[str, int]:
    """The address to connect to for ``destination``, every resolved address checked."""
    port = destination.port or (443 if destination.scheme == "https" else 80)
    host = destination.host
    if not isinstance(host, str):
        addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [host]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise ConnectionError(f"cannot resolve {host}: {exc}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        if not addresses:
            raise ConnectionError(f"{host} has no address")
    if not settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS:
        for address in addresses:
            if not is_public_address(address):
                raise DestinationRefused("not_public")
    return str(addresses[0]), port
