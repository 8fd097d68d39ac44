"""What every benchmark that starts other programs needs: its prerequisites checked before it
starts anything, and every child stopped whatever way the benchmark ends.

A child is started in a process group of its own (gunicorn's master and its workers, a click
writer) and is stopped as a group: SIGTERM, a grace period, then SIGKILL for whatever is left.
Registering the stop on a :class:`contextlib.ExitStack` runs it on a normal end, on an exception,
on Ctrl-C (KeyboardInterrupt) and, after :func:`exit_on_signals`, on SIGTERM and SIGHUP, which
Python would otherwise answer by dying on the spot and leaving the children running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

SCRIPT = f"bench/{Path(sys.argv[0]).name}" if sys.argv and sys.argv[0] else "benchmark"


class ProcessGroup:
    """A child in its own process group, stopped together with everything it started."""

    def __init__(self, args: Sequence[str], **popen_kwargs: Any) -> None:
        self.process: subprocess.Popen[bytes] = subprocess.Popen(
            args, start_new_session=True, **popen_kwargs
        )

    def _signal_group(self, signum: int) -> bool:
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the group, up to ``timeout`` seconds for the leader to exit, then SIGKILL to
        whatever of the group is left (workers a leader did not wait for, or everything)."""
        if self.process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        # SIGKILL is delivered, not awaited: give the members a moment to be gone (signal 0 only
        # asks whether the group still has any).
        deadline = time.monotonic() + 5
        while self._signal_group(0) and time.monotonic() < deadline:
            time.sleep(0.05)


def start(stack: contextlib.ExitStack, args: Sequence[str], **popen_kwargs: Any) -> ProcessGroup:
    """Start ``args`` as a :class:`ProcessGroup` that ``stack`` stops when it closes."""
    group = ProcessGroup(args, **popen_kwargs)
    stack.callback(group.stop)
    return group


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    # Once: a second signal must not interrupt the clean-up this one starts.
    for other in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(other, signal.SIG_IGN)
    print(f"{SCRIPT}: stopped by signal {signum}, stopping its processes", file=sys.stderr)
    raise SystemExit(128 + signum)


def exit_on_signals() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit, so that ``finally`` blocks and exit stacks run."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)


# --- Prerequisites ------------------------------------------------------------------------------


def fail(message: str) -> SystemExit:
    return SystemExit(f"{SCRIPT}: {message}")


def require_command(name: str, fix: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise fail(f"needs `{name}`, which is not on PATH. Install it: {fix}")
    return path


def require_file(path: Path, fix: str) -> None:
    if not path.exists():
        raise fail(f"needs {path}, which does not exist. {fix}")


def redacted(url: str) -> str:
    """``url`` without its password, fit for a message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def require_postgres(url: str) -> None:
    """Connect to the server ``url`` points at (its ``postgres`` database)."""
    import psycopg2

    parts = urlsplit(url)
    try:
        conn = psycopg2.connect(
            host=parts.hostname,
            port=parts.port or 5432,
            user=parts.username,
            password=parts.password,
            dbname="postgres",
            connect_timeout=5,
        )
    except psycopg2.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise fail(
            f"PostgreSQL is not reachable at {redacted(url)} ({reason}). Start it or point the "
            "benchmark at a running server."
        ) from None
    conn.close()


def require_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except redis.RedisError as exc:
        raise fail(
            f"Redis is not reachable at {redacted(url)} ({exc}). Start it or pass --redis-url."
        ) from None
