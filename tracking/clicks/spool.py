"""The last-resort click spool: an append-only JSON-lines file for clicks nothing else would take.

When neither Redis nor the database accepts a click, the redirect appends it here (one line, the
same payload as a stream entry) and fsyncs before answering. The click writer replays the spool
into the database later.

Several web processes append while a writer replays, so the file is handed over by rename: the
writer renames ``clicks.jsonl`` to a private ``*.replay.jsonl`` name, after which appenders create
a fresh file. Appenders and the replayer take an exclusive ``flock`` on the file they use, and an
appender that finds the path now names another file (it was renamed while the appender waited)
reopens it, so a line is never written into a file that is being, or has been, replayed.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

SPOOL_NAME = "clicks.jsonl"
_REPLAY_SUFFIX = ".replay.jsonl"
_REJECTED_SUFFIX = ".rejected.jsonl"


def spool_dir() -> Path:
    return Path(settings.CLICK_SPOOL_DIR)


def _write_private(path: Path, lines: list[str]) -> None:
    """Write ``lines`` to ``path`` readable by this user only (they hold IPs and user agents),
    durably; an existing file is replaced whole."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the mode above applies only when the file is created
        os.write(fd, "".join(line + "\n" for line in lines).encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def append(payload: str) -> None:
    """Append one click payload durably (fsync) to the spool."""
    if "\n" in payload:
        raise ValueError("a spool payload must be one line")
    directory = spool_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / SPOOL_NAME
    data = (payload + "\n").encode()
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.fstat(fd).st_ino != os.stat(path).st_ino:
                    continue  # renamed for replay while we waited: use the new file
            except FileNotFoundError:
                continue
            os.write(fd, data)
            os.fsync(fd)
            return
        finally:
            os.close(fd)  # closing releases the lock


@contextmanager
def _locked(path: Path) -> Iterator[int | None]:
    """The file opened and exclusively locked, or ``None`` when another replayer holds it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)


def _read_lines(fd: int) -> list[str]:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace").splitlines()


def replay(store: Callable[[list[str]], list[str]]) -> int:
    """Hand every spooled line to ``store`` and delete each file once ``store`` returned.

    ``store`` gets a file's lines and returns the lines it could not understand; those are kept in
    a ``*.rejected.jsonl`` file instead of being dropped. When ``store`` raises (the database is
    still down), the file stays and the next replay tries again. Returns the number of lines
    replayed.
    """
    directory = spool_dir()
    if not directory.is_dir():
        return 0
    current = directory / SPOOL_NAME
    if current.exists():
        private = directory / f"clicks-{int(time.time())}-{uuid.uuid4().hex[:8]}{_REPLAY_SUFFIX}"
        try:
            current.rename(private)
        except FileNotFoundError:
            pass  # another writer took it
    replayed = 0
    for path in sorted(directory.glob(f"*{_REPLAY_SUFFIX}")):
        with _locked(path) as fd:
            if fd is None:
                continue  # another writer is replaying it, or an appender is finishing a line
            if not path.exists():
                continue  # replayed and deleted while we opened it
            lines = [line for line in _read_lines(fd) if line.strip()]
            rejected = store(lines) if lines else []
            if rejected:
                bad = path.with_name(path.name.removesuffix(_REPLAY_SUFFIX) + _REJECTED_SUFFIX)
                _write_private(bad, rejected)
                logger.error("%d spooled clicks could not be read; kept in %s", len(rejected), bad)
            path.unlink()
            replayed += len(lines) - len(rejected)
    return replayed


# What a privacy rule does with one set-aside click: given its payload and a time to assume when
# the payload does not say when the click happened (microseconds since the epoch), return the
# payload unchanged (keep it), a new payload (replace it; "" for none) or None (remove it).
Revise = Callable[[str, int], str | None]


def revise_rejected(revise: Revise, *, dry_run: bool = False) -> tuple[int, int]:
    """Apply ``revise`` to every line of the rejected files; returns (replaced, removed) lines.

    Rejected lines are clicks: the privacy rules (anonymization, purge, erasure) reach them too.
    A file is rewritten whole under its lock and replaced by rename, so a reader never sees half
    of it; a file left with no line is deleted. Lines without a time of their own are taken to
    be as old as their file.
    """
    directory = spool_dir()
    if not directory.is_dir():
        return 0, 0
    replaced = removed = 0
    for path in sorted(directory.glob(f"*{_REJECTED_SUFFIX}")):
        with _locked(path) as fd:
            if fd is None or not path.exists():
                continue  # another run is revising it, or it was just removed
            file_time_us = int(os.fstat(fd).st_mtime * 1_000_000)
            kept: list[str] = []
            changed = False
            for line in _read_lines(fd):
                if not line.strip():
                    continue
                revised = revise(line, file_time_us)
                if revised == line:
                    kept.append(line)
                    continue
                changed = True
                if revised:
                    replaced += 1
                    kept.append(revised)
                else:
                    removed += 1
            if not changed or dry_run:
                continue
            if kept:
                scratch = path.with_name(f".{path.name}.tmp")
                _write_private(scratch, kept)
                scratch.replace(path)
            else:
                path.unlink()
    return replaced, removed


def _first_click_time(path: Path, fallback: float) -> float:
    """When the oldest click of a spool file happened (its first line), in epoch seconds."""
    try:
        with path.open("rb") as fh:
            first = json.loads(fh.readline())
        return int(first["at"]) / 1_000_000
    except (OSError, ValueError, KeyError, TypeError):
        return fallback


def status() -> dict[str, Any]:
    """Spooled bytes waiting for replay and the age in seconds of the oldest spooled click."""
    directory = spool_dir()
    total = 0
    oldest: float | None = None
    for path in [directory / SPOOL_NAME, *directory.glob(f"*{_REPLAY_SUFFIX}")]:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if stat.st_size:
            total += stat.st_size
            started = _first_click_time(path, stat.st_mtime)
            oldest = started if oldest is None else min(oldest, started)
    return {
        "spool_bytes": total,
        "oldest_spooled_age_seconds": None if oldest is None else max(0.0, time.time() - oldest),
    }


def has_spooled_clicks() -> bool:
    return bool(status()["spool_bytes"])
