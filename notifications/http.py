"""One HTTP POST to a checked address (see :mod:`notifications.destinations`).

The standard library's connections are told which address to use, so that the name is resolved
once, by the check; TLS still verifies the certificate against the host name.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from notifications.destinations import check_webhook_url, resolve

EXCERPT_BYTES = 1000


@dataclass(frozen=True)
class Response:
    status: int
    excerpt: str
    duration_ms: int


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> Response:
    """POST ``body``; raises DestinationRefused for a forbidden address, OSError for network
    failures (timeouts included)."""
    destination = check_webhook_url(url)
    address, port = resolve(destination)
    host = str(destination.host)
    connection_class = (
        _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
    )
    connection = connection_class(
        host.strip("[]") if ":" in host else host, port, address=address, timeout=timeout
    )
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    started = time.monotonic()
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", "replace")
    finally:
        connection.close()
    return Response(
        status=response.status,
        excerpt=excerpt,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
