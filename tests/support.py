"""Test support that is neither a row (``tests/factories.py``) nor a fixture (``conftest.py``):
JSON requests and error bodies for the API tests, a command runner, and for the buffered-click
tests the stream helpers, writer subprocesses and two test doubles, a private Redis server and a
TCP proxy in front of PostgreSQL that a test can cut (the shared servers are never stopped)."""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client

from tests.factories import CHROME, human_signals
from tracking import services
from tracking.clicks import stream as clickstream
from tracking.models import LinkClick

BASE_DIR = Path(__file__).resolve().parent.parent


# --- API requests and command runs ----------------------------------------------------------


def post_json(client: Client, path: str, body: Any, **extra: Any) -> Any:
    return client.post(path, body, content_type="application/json", **extra)


def patch_json(client: Client, path: str, body: Any, **extra: Any) -> Any:
    return client.patch(path, body, content_type="application/json", **extra)


def error_of(response: Any) -> dict[str, Any]:
    """The ``error`` object of a JSON error response (asserting the one shape)."""
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def run_command(name: str, *args: str) -> str:
    """Run a management command and return what it printed."""
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


# --- Polling and the click stream ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], Any], *, timeout: float = 20, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy (fails the test after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or condition}")
        time.sleep(0.05)


def queue_click(tracking_id: str, *, ip: str = "198.51.100.23") -> str:
    """Append one browser click to the stream as the redirect would; returns its click_id."""
    click = services.build_click(
        tracking_id=tracking_id, ip_address=ip, user_agent=CHROME, http_method="GET"
    )
    clickstream.append(clickstream.encode_click(click, signals=human_signals(ip).as_dict()))
    return str(click.click_id)


def stored_ids() -> list[str]:
    return [str(pk) for pk in LinkClick.objects.values_list("click_id", flat=True)]


# --- Writer subprocesses --------------------------------------------------------------------


def child_env(*, database_port: int | None = None, **extra: str) -> dict[str, str]:
    """Environment for a ``manage.py`` child that uses this test's database and stream."""
    db = connection.settings_dict
    port = database_port or db["PORT"] or 5432
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{port}/{db['NAME']}",
        "DB_CONNECT_TIMEOUT": "1",
        "REDIS_URL": settings.REDIS_URL,
        "CLICK_STREAM_KEY": settings.CLICK_STREAM_KEY,
        "CLICK_SPOOL_DIR": str(settings.CLICK_SPOOL_DIR),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def start_writer(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_click_writer", *args],
        cwd=BASE_DIR,
        env=env or child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], text: str, *, timeout: float = 30) -> list[str]:
    """Read the child's output until a line contains ``text``; returns the lines read."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=0.1):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if text in line:
                return lines
    process.kill()
    pytest.fail(f"writer never printed {text!r}; output:\n{''.join(lines)}")


def run_writer(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> str:
    """Run a writer to completion and return its output (fails the test on a non-zero exit)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "run_click_writer", *args],
        cwd=BASE_DIR,
        env=env or child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


# --- A private Redis server -----------------------------------------------------------------


class PrivateRedis:
    """A redis-server of the test's own, with an append-only file fsynced on every write (so a
    crash loses nothing that was acknowledged)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=0.5)
        wait_until(lambda: _pings(client), timeout=10, what="the private redis-server")

    def crash(self) -> None:
        """SIGKILL: no chance to save anything beyond what it already fsynced."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


# --- A TCP proxy in front of PostgreSQL -----------------------------------------------------


class CuttableProxy:
    """Forwards a local port to PostgreSQL; :meth:`cut` refuses new connections and drops the open
    ones (the database "goes away" for whoever connects through it), :meth:`restore` ends that."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
