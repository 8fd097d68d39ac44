"""The burst pre-check without a shared cache: a table in a file beside the SQLite database.

With SQLite (the default, no Redis) the cache is per process, which cannot see the other gunicorn
workers, so :func:`tracking.clicks.burst.burst_possible` used to answer "possible" and the burst
rule ran its SELECT after every click. Every process that writes to a SQLite database runs on the
host that holds its file, so a memory-mapped file next to it is seen by all of them; a POSIX
record lock (per process, unlike ``flock``, so forked workers exclude each other) and a thread
lock make each check-and-update atomic. As with the shared cache, of two clicks on two links one
always sees the other.

Each (application, network) hashes to one slot of :data:`SLOTS`, which remembers its last link,
that link's last click time, and the last click time of any other link. A slot held by another
group, a damaged file or any error answers "possible": the table may only ever let through too
many checks, never too few.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import mmap
import os
import struct
import threading
from pathlib import Path

from django.db import connections

SLOTS = 4096
_SLOT = struct.Struct("<QQdd")  # group fingerprint, last link, its last click, other links' last
_SIZE = SLOTS * _SLOT.size
_lock = threading.Lock()
_maps: dict[str, tuple[int, mmap.mmap]] = {}


def table_path(alias: str = "default") -> Path | None:
    """The table's file for a SQLite database stored in a file, else None."""
    connection = connections[alias]
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict["NAME"])
    if name in ("", ":memory:") or "mode=memory" in name:
        return None
    return _table_file(name)


@functools.lru_cache(maxsize=16)
def _table_file(database: str) -> Path:
    # A Path is parsed anew on each construction; every click asks for the same one.
    return Path(f"{database}-burst")


def _open(path: Path) -> tuple[int, mmap.mmap]:
    key = str(path)
    found = _maps.get(key)
    if found is None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(fd).st_size < _SIZE:
            os.ftruncate(fd, _SIZE)  # zeros: every slot empty
        found = (fd, mmap.mmap(fd, _SIZE))
        _maps[key] = found
    return found


def _fingerprint(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") or 1


def possible(
    path: Path, *, application_id: str, network: str, tracking_id: str, at: float, memory: float
) -> bool:
    """Record a click on ``tracking_id`` at ``at`` (seconds) and answer whether another link of
    the application was clicked from ``network`` within ``memory`` seconds of it."""
    group = _fingerprint(f"{application_id}:{network}")
    link = _fingerprint(tracking_id)
    offset = (group % SLOTS) * _SLOT.size
    recent = at - memory
    with _lock:
        fd, table = _open(path)
        fcntl.lockf(fd, fcntl.LOCK_EX, _SLOT.size, offset)
        try:
            held_by, last_link, last_at, other_at = _SLOT.unpack_from(table, offset)
            if held_by != group:
                # Another group's slot (or an empty one, all zeros): what it remembers is kept as
                # "other links", so that neither group's next click can be answered "not possible"
                # for want of what the other one overwrote.
                answer = max(last_at, other_at) > recent
                _SLOT.pack_into(table, offset, group, link, at, max(last_at, other_at))
            elif last_link != link:
                answer = last_at > recent or other_at > recent
                _SLOT.pack_into(table, offset, group, link, at, max(last_at, other_at))
            else:
                answer = other_at > recent
                _SLOT.pack_into(table, offset, group, link, max(last_at, at), other_at)
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, _SLOT.size, offset)
    return answer
