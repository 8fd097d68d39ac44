"""The click stream of buffered mode: a Redis Stream between the redirect and the click writer.

The redirect appends one compact entry per click (:func:`append`) and answers; the writer
(``manage.py run_click_writer``) reads the stream through a consumer group, stores the clicks and
acknowledges them only after the database committed. Entries a writer read but never acknowledged
(it crashed) stay in the group's pending list until another writer claims them, and the stream is
only ever trimmed below the oldest unacknowledged entry, so a click leaves Redis only once it is in
the database.

The entry carries everything the writer needs to classify the click later (the request signals the
redirect saw), because the writer has no request. This module talks to Redis through its own
redis-py client, separate from the Django cache connection, with short timeouts on the request path.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from tracking import classify, services
from tracking.clicks import entryjson
from tracking.models import LinkClick

logger = logging.getLogger(__name__)

GROUP = "writers"
_PAYLOAD_FIELD = "c"
_FORMAT_VERSION = 1
# After a failed append the redirect skips Redis this long, so a stalled Redis costs one timeout
# per process and second instead of one per click.
_OUTAGE_SKIP_SECONDS = 1.0


class StreamUnavailable(Exception):
    """Redis could not take the click; the caller records it another way."""


class StreamSkipped(StreamUnavailable):
    """Redis failed a moment ago and is not tried again yet."""


class MalformedEntry(ValueError):
    """A stream entry or spool line that is not a click this version understands."""


# --- Encoding -------------------------------------------------------------------------------

# Short keys: the stream holds every click until it is written, so entries stay small.
_FIELDS = (
    ("t", "tracking_id"),
    ("ip", "ip_address"),
    ("ua", "user_agent"),
    ("ref", "referrer_url"),
    ("sid", "session_id"),
    ("src", "click_source"),
    ("hm", "http_method"),
    ("cl", "classification"),
    ("cr", "classification_reasons"),
    ("dev", "device_type"),
    ("br", "browser"),
    ("os", "os"),
    ("vh", "visitor_hash"),
)


def encode_click(click: LinkClick, *, signals: Mapping[str, Any] | None = None) -> str:
    """One click (and the request signals its classification needs) as compact JSON."""
    clicked_at = click.clicked_at
    if clicked_at is None:
        raise ValueError("a click must have clicked_at before it is queued")
    fields = {name: getattr(click, name) for _short, name in _FIELDS}
    return encode_raw(
        {**fields, "metadata": click.metadata},
        click_id=click.click_id,
        # Microseconds since the epoch: exact, and cheaper to produce than an ISO string.
        clicked_at_us=round(clicked_at.timestamp() * 1_000_000),
        signals=signals,
    )


def encode_raw(
    fields: Mapping[str, Any],
    *,
    click_id: uuid.UUID,
    clicked_at_us: int,
    signals: Mapping[str, Any] | None = None,
) -> str:
    """A click not yet validated, straight from the request, in :func:`encode_click`'s format.

    ``fields`` uses the click's field names (``tracking_id``, ``ip_address``, …; classification
    fields only when already set); ``clicked_at_us`` is microseconds since the epoch. Buffered mode
    queues this instead of building a ``LinkClick`` in the request: the writer validates it with
    :func:`tracking.services.build_click` when it decodes the entry.
    """
    body: dict[str, Any] = {"v": _FORMAT_VERSION, "id": click_id, "at": clicked_at_us}
    for short, name in _FIELDS:
        value = fields.get(name)
        if value not in (None, ""):
            body[short] = value
    if fields.get("metadata"):
        body["m"] = fields["metadata"]
    if signals:
        body["sig"] = dict(signals)
    return entryjson.dumps(body)


# Set on the click after validation: the writer's own enrichment, or a Do-Not-Track click
# classified in the request.
_ENRICHED = tuple(
    (short, name)
    for short, name in _FIELDS
    if name
    in ("classification", "classification_reasons", "device_type", "browser", "os", "visitor_hash")
)
_ENRICHED_KEYS = frozenset(short for short, _name in _ENRICHED)


def decode_click(payload: str | bytes) -> tuple[LinkClick, dict[str, Any]]:
    """The unsaved click and its request signals from :func:`encode_click`'s (or
    :func:`encode_raw`'s) output, validated and normalised like every other click.

    Anything the service layer refuses raises :class:`MalformedEntry`, so the writer sets the entry
    aside instead of failing its batch.
    """
    try:
        body = _loads(payload)
        if not isinstance(body, dict) or body.get("v") != _FORMAT_VERSION:
            # Not the payload itself: this message is logged, and the payload may hold an IP.
            raise MalformedEntry("unknown click entry format")
        get = body.get
        tracking_id = get("t")
        if not tracking_id or not isinstance(tracking_id, str):
            raise MalformedEntry("click entry without tracking_id")
        click = services.build_click(
            tracking_id=tracking_id,
            click_id=uuid.UUID(body["id"]),  # required: a new id would break exactly-once
            clicked_at=dt.datetime.fromtimestamp(int(body["at"]) / 1_000_000, tz=dt.UTC),
            ip_address=get("ip"),
            user_agent=get("ua"),
            referrer_url=get("ref"),
            session_id=get("sid"),
            click_source=get("src"),
            metadata=get("m") or {},
            http_method=get("hm"),
        )
        if not _ENRICHED_KEYS.isdisjoint(body):  # most entries carry no enrichment
            for short, name in _ENRICHED:
                if get(short) is not None:
                    setattr(click, name, body[short])
    except MalformedEntry:
        raise
    except services.ServiceError as exc:
        raise MalformedEntry(f"invalid click entry: {exc.message}") from None
    except json.JSONDecodeError as exc:
        raise MalformedEntry(f"unreadable click entry: {exc}") from None  # a position, no text
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        # The class only: the messages of int() and its kind quote the value they refused.
        raise MalformedEntry(f"unreadable click entry ({type(exc).__name__})") from None
    signals = body.get("sig") or {}
    if not isinstance(signals, dict):
        signals = {}
    _check_signals(signals)
    return click, signals


def _loads(payload: str | bytes) -> Any:
    """``json.loads(payload)``, read by orjson when that gives the same (half the cost).

    orjson reads an integer beyond 64 bits as a float (an entry holds no float of its own), and
    refuses some of what ``json`` reads (NaN, lone surrogates, UTF-16 bytes): such an entry is
    read again by ``json``, so every entry reads as it always did, errors included.
    """
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return json.loads(payload)
    try:
        floats = type(body) is float or (type(body) in (dict, list) and _holds_float(body))
    except RecursionError:  # nested deeper than json reads either: json says so
        floats = True
    return json.loads(payload) if floats else body


def _holds_float(container: dict[str, Any] | list[Any]) -> bool:
    # One level's types are collected at C speed; only nested containers (the signals, the
    # metadata, the reasons) are looked into.
    items = container.values() if isinstance(container, dict) else container
    kinds = set(map(type, items))
    if float in kinds:
        return True
    if dict in kinds or list in kinds:
        # A plain loop: a generator costs more than the few containers it would look into.
        for item in items:
            kind = type(item)
            if (kind is dict or kind is list) and _holds_float(item):
                return True
    return False


_TEXT_SIGNALS = ("user_agent", "client_ip", "application_id", "rate_key")


def _check_signals(signals: dict[str, Any]) -> None:
    """Refuse signals the writer could not classify with (it must never fail a batch on them)."""
    get = signals.get
    for name in _TEXT_SIGNALS:
        value = get(name)
        if value is not None and not isinstance(value, str):
            raise MalformedEntry(f"click entry signal {name} is not text")
    created = get("link_created_at")
    if created is not None:
        try:
            classify.signal_time(created)  # ClickSignals.from_dict reads it again, from the cache
        except (TypeError, ValueError):
            raise MalformedEntry("click entry signal link_created_at is not a date") from None


# --- Clients --------------------------------------------------------------------------------

_clients: dict[tuple[str, float], redis.Redis] = {}
_clients_lock = threading.Lock()
_append_connections: list[Any] = []  # every thread's append connection, closed by reset_clients
_skip_until = 0.0


def get_client(*, socket_timeout: float | None = None) -> redis.Redis:
    """A redis-py client for ``REDIS_URL`` (one connection pool per process and timeout).

    The request path uses the short ``CLICK_STREAM_SOCKET_TIMEOUT_MS`` and no retries: falling back
    to a direct INSERT is faster than waiting for a struggling Redis. The writer passes a timeout
    longer than its blocking reads.
    """
    if not settings.REDIS_URL:
        raise StreamUnavailable("REDIS_URL is not configured")
    timeout = socket_timeout or settings.CLICK_STREAM_SOCKET_TIMEOUT_MS / 1000
    key = (settings.REDIS_URL, timeout)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    socket_timeout=timeout,
                    socket_connect_timeout=min(timeout, 1.0),
                    retry=Retry(NoBackoff(), 0),
                )
                _clients[key] = client
    return client


def reset_clients() -> None:
    """Forget the clients and the outage flag (tests point ``REDIS_URL`` elsewhere)."""
    global _skip_until
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
        for connection in _append_connections:
            connection.disconnect()
        _append_connections.clear()
    _append_local.held = None
    _skip_until = 0.0


def stream_key() -> str:
    return str(settings.CLICK_STREAM_KEY)


def dead_letter_key() -> str:
    return f"{stream_key()}:dead"


_append_local = threading.local()


def _append_connection() -> tuple[Any, int]:
    """This thread's own connection for appends, made by the request-path client's pool (same
    URL, timeouts, no retries). Held rather than checked out of the pool per click: redis-py's
    per-command machinery (pool checkout, retry wrapper, response callbacks) costs more CPU than
    the XADD itself. A process forked with one makes its own."""
    held = getattr(_append_local, "held", None)
    if held is None or held[1] != os.getpid():
        held = (get_client().connection_pool.make_connection(), os.getpid())
        _append_local.held = held
        with _clients_lock:
            _append_connections.append(held[0])
    return held


def _drop_append_connection() -> None:
    held = getattr(_append_local, "held", None)
    _append_local.held = None
    if held is not None:
        held[0].disconnect()


def append(payload: str) -> str:
    """Queue one encoded click (:func:`encode_raw` or :func:`encode_click`) for the writer;
    returns the stream entry id.

    Raises :class:`StreamUnavailable` when Redis does not take it (down, stalled, out of memory),
    and :class:`StreamSkipped` for a second afterwards without trying, so the caller can store the
    click another way.
    """
    global _skip_until
    if _skip_until and time.monotonic() < _skip_until:
        raise StreamSkipped("Redis failed a moment ago")
    try:
        connection, _pid = _append_connection()
        connection.send_command("XADD", stream_key(), "*", _PAYLOAD_FIELD, payload)
        entry_id = connection.read_response()
    except redis.RedisError as exc:
        # A half-read reply must not be read by the next click: start over on a new connection.
        _drop_append_connection()
        _skip_until = time.monotonic() + _OUTAGE_SKIP_SECONDS
        raise StreamUnavailable(f"Redis did not take the click: {exc}") from exc
    _skip_until = 0.0
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


# --- Reading (the writer's side) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One stream entry: its id and the raw payload (``None`` when the entry has no payload)."""

    entry_id: str
    payload: bytes | None


def _entries(raw: list[Any]) -> list[Entry]:
    out = []
    for entry_id, fields in raw:
        fields = fields or {}
        payload = fields.get(_PAYLOAD_FIELD.encode(), fields.get(_PAYLOAD_FIELD))
        out.append(Entry(_str(entry_id), payload))
    return out


def _str(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id_ms(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


def _next_id(entry_id: str) -> str:
    ms, seq = entry_id.split("-", 1)
    return f"{ms}-{int(seq) + 1}"


def _older(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    key_a = tuple(int(x) for x in a.split("-"))
    key_b = tuple(int(x) for x in b.split("-"))
    return a if key_a <= key_b else b


class StreamConsumer:
    """One writer's view of the click stream: a named consumer in the writers' group."""

    def __init__(self, *, client: redis.Redis, consumer: str, key: str | None = None) -> None:
        self.client = client
        self.key = key or stream_key()
        self.consumer = consumer

    def ensure_group(self) -> None:
        """Create the group at the start of the stream, so clicks queued before any writer ran
        are written too."""
        try:
            self.client.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read_new(self, *, count: int, block_ms: int | None) -> list[Entry]:
        """Entries no writer has read yet; they become pending on this consumer."""
        reply: Any = self.client.xreadgroup(
            GROUP, self.consumer, {self.key: ">"}, count=count, block=block_ms
        )
        return _entries(reply[0][1]) if reply else []

    def read_own_pending(self, *, count: int) -> list[Entry]:
        """Entries this consumer read earlier but did not acknowledge (after a failed batch)."""
        reply: Any = self.client.xreadgroup(GROUP, self.consumer, {self.key: "0"}, count=count)
        return _entries(reply[0][1]) if reply else []

    def claim_stale(self, *, count: int, min_idle_ms: int) -> list[Entry]:
        """Take over entries another consumer read and left unacknowledged for ``min_idle_ms``
        (it died mid-batch). Storing them twice is harmless: inserts are idempotent."""
        claimed: list[Entry] = []
        start = "0-0"
        while len(claimed) < count:
            next_start, raw, *_deleted = self.client.xautoclaim(
                self.key,
                GROUP,
                self.consumer,
                min_idle_time=min_idle_ms,
                start_id=start,
                count=count - len(claimed),
            )
            claimed.extend(_entries(raw))
            start = _str(next_start)
            if start == "0-0":
                break
        return claimed

    def ack(self, entry_ids: list[str]) -> int:
        if not entry_ids:
            return 0
        return int(self.client.xack(self.key, GROUP, *entry_ids))

    def dead_letter(self, entry: Entry, reason: str) -> None:
        """Keep an entry the writer cannot read aside (for a person to look at), then ack it."""
        self.client.xadd(
            dead_letter_key(),
            {"entry_id": entry.entry_id, "payload": entry.payload or b"", "reason": reason},
        )
        self.ack([entry.entry_id])

    def trim(self) -> int:
        """Delete entries every writer has acknowledged; never one that is unwritten.

        The cut is the oldest entry that is pending or not yet delivered. The group state is read
        in one MULTI so an entry cannot move from undelivered to pending between the two reads.
        """
        pipe = self.client.pipeline(transaction=True)
        pipe.xinfo_groups(self.key)
        pipe.xpending(self.key, GROUP)
        try:
            groups, pending = pipe.execute()
        except redis.ResponseError:
            return 0  # no stream or no group yet: nothing was written, nothing to trim
        group = next((g for g in groups if _str(g["name"]) == GROUP), None)
        if group is None:
            return 0
        last_delivered = _str(group["last-delivered-id"])
        first_after = self.client.xrange(self.key, min=f"({last_delivered}", count=1)
        cut = _older(
            _str(pending["min"]) if pending["pending"] else None,
            _str(first_after[0][0]) if first_after else None,
        )
        if cut is None:
            if last_delivered == "0-0":
                return 0
            cut = _next_id(last_delivered)
        return int(self.client.xtrim(self.key, minid=cut, approximate=False))

    def forget_idle_consumers(self, *, idle_ms: int) -> int:
        """Remove consumers with nothing pending that have been silent for ``idle_ms`` (each
        writer process registers a new name; dead ones would otherwise pile up)."""
        removed = 0
        try:
            consumers = self.client.xinfo_consumers(self.key, GROUP)
        except redis.ResponseError:
            return 0
        for info in consumers:
            name = _str(info["name"])
            if name != self.consumer and not info["pending"] and info["idle"] > idle_ms:
                self.client.xgroup_delconsumer(self.key, GROUP, name)
                removed += 1
        return removed


# --- The dead-letter stream under the privacy rules ------------------------------------------


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def revise_dead_letters(
    revise: Callable[[str, int], str | None],
    *,
    client: redis.Redis | None = None,
    dry_run: bool = False,
    page: int = 500,
) -> tuple[int, int]:
    """Apply ``revise`` to the payload of every dead-letter entry; returns (replaced, removed).

    ``revise`` follows :data:`tracking.clicks.spool.Revise`: it gets the payload and the time of
    the click's stream entry (microseconds), and returns the payload (keep), a new one (replace;
    "" for none) or None (delete). An entry cannot be changed in place: a replaced one is
    appended anew (its ``entry_id`` field still says when the click was queued) and the old one
    deleted, in one MULTI. Entries appended during the walk are not visited.
    """
    client = client or get_client(socket_timeout=10)
    key = dead_letter_key()
    newest = client.xrevrange(key, count=1)
    if not newest:
        return 0, 0
    end = _str(newest[0][0])
    start = "-"
    replaced = removed = 0
    while True:
        rows: Any = client.xrange(key, min=start, max=end, count=page)
        for raw_id, raw_fields in rows:
            entry_id = _str(raw_id)
            fields = {_text(name): _text(value) for name, value in (raw_fields or {}).items()}
            payload = fields.get("payload", "")
            try:
                queued_ms = _id_ms(fields.get("entry_id") or entry_id)
            except ValueError:
                queued_ms = _id_ms(entry_id)
            revised = revise(payload, queued_ms * 1000)
            if revised == payload:
                continue
            if revised is None:
                removed += 1
                if not dry_run:
                    client.xdel(key, entry_id)
                continue
            replaced += 1
            if not dry_run:
                # A reason written by an older version may quote a database error's detail
                # (the failing row): only its first line is kept.
                reason = fields.get("reason", "").split("\n", 1)[0]
                pipe = client.pipeline(transaction=True)
                replacement: dict[Any, Any] = {**fields, "payload": revised, "reason": reason}
                pipe.xadd(key, replacement)
                pipe.xdel(key, entry_id)
                pipe.execute()
        if len(rows) < page:
            return replaced, removed
        start = f"({_str(rows[-1][0])}"


# --- Backlog --------------------------------------------------------------------------------


def backlog_status(*, client: redis.Redis | None = None, key: str | None = None) -> dict[str, Any]:
    """Stream length, pending (read, not acknowledged), unwritten (pending + not yet read) and the
    age in seconds of the oldest unwritten click, by Redis's clock (entry ids are its time)."""
    client = client or get_client()
    key = key or stream_key()
    pipe = client.pipeline(transaction=True)
    pipe.xlen(key)
    pipe.xinfo_groups(key)
    pipe.xpending(key, GROUP)
    pipe.time()
    length, groups, pending, now = pipe.execute(raise_on_error=False)
    if isinstance(length, Exception) or isinstance(now, Exception):
        raise length if isinstance(length, Exception) else now
    now_ms = int(now[0]) * 1000 + int(now[1]) // 1000
    group = None
    if not isinstance(groups, Exception):
        group = next((g for g in groups if _str(g["name"]) == GROUP), None)

    if group is None or isinstance(pending, Exception):
        # No writer ever ran: everything in the stream is unwritten.
        first = client.xrange(key, count=1)
        oldest = _str(first[0][0]) if first else None
        pending_count, unwritten = 0, int(length)
    else:
        last_delivered = _str(group["last-delivered-id"])
        first_after = client.xrange(key, min=f"({last_delivered}", count=1)
        pending_count = int(pending["pending"])
        oldest = _older(
            _str(pending["min"]) if pending_count else None,
            _str(first_after[0][0]) if first_after else None,
        )
        lag = group.get("lag")
        if lag is None:
            # Redis cannot tell after some deletions; the stream length is an upper bound.
            lag = int(length) - pending_count if first_after else 0
        unwritten = pending_count + int(lag)
    age = max(0.0, (now_ms - _id_ms(oldest)) / 1000) if oldest else None
    return {
        "stream_length": int(length),
        "pending": pending_count,
        "unwritten": unwritten,
        "oldest_unwritten_age_seconds": age,
    }
