"""The click writer: drains the click stream (and the spool) into ``link_clicks``.

One loop, run by ``manage.py run_click_writer`` (:class:`ClickWriter`): read a batch through the
consumer group (first any entries a dead writer left pending, then new ones), decode and build
each click (:func:`tracking.clicks.stream.decode_click`, which validates through
:func:`tracking.services.build_click`), then :func:`write_clicks`: drop clicks of deleted links,
apply the rate limit, classify (:func:`tracking.classify.classify_into`), insert idempotently
(:func:`tracking.services.insert_click_batch`) and run the follow-ups (the burst rule,
:func:`tracking.clicks.burst.apply_to_batch`) and write the events of person clicks
(:func:`tracking.clicks.events.record_events`) in one transaction, and only then acknowledge the
entries. A crash anywhere before the acknowledgement leaves the entries pending, and the next
writer stores them again without duplicates (``ON CONFLICT DO NOTHING`` on ``click_id``), so every
click is stored exactly once.

Between batches, every :data:`~tracking.clicks.unclassified.PASS_EVERY_SECONDS`, the writer also
classifies the clicks other systems stored with plain SQL and no classification
(:func:`tracking.clicks.unclassified.classify_unclassified`).
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings
from django.db import DataError, IntegrityError, close_old_connections, connection, transaction
from django.db import Error as DatabaseError

from linktrack.rates import parse_rate
from tracking import company, geo, services
from tracking.classify import ClickSignals, classify_into
from tracking.clicks import burst, decoy, events, ratelimit, spool, unclassified
from tracking.clicks.stream import (
    Entry,
    MalformedEntry,
    StreamConsumer,
    backlog_status,
    decode_click,
    get_client,
    stream_key,
)
from tracking.models import Job, LinkClick, TrackedLink

logger = logging.getLogger(__name__)

PAUSE_STAGES = ("after-read", "after-insert")
_MAX_BACKOFF_SECONDS = 5.0
_SPOOL_CHECK_SECONDS = 1.0
_FORGET_CONSUMERS_EVERY_SECONDS = 300.0
_FORGET_CONSUMERS_IDLE_MS = 3_600_000


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


# Net allocations between two collections of the youngest generation (Python's default: 700).
_GC_YOUNG_THRESHOLD = 50_000


def settle_garbage_collector() -> None:
    """Tune the cyclic garbage collector of a writer process (``run_click_writer``) for batches.

    A batch's clicks (a few dozen objects each: the row, its dicts, the signals, the reasons)
    live until the batch is stored and then die by reference counting; nothing the writer makes
    per click forms a cycle. With the default threshold (700) the collector runs dozens of times
    per batch, each time walking the batch's living objects and moving them to older
    generations, whose full collections walk them again: about a tenth of the writer's CPU per
    click (``bench/ingest.py --stages``). With a threshold above what a batch holds at once the
    young generation is collected a few times per batch of garbage-free objects, and what
    cycles there are (a database error's traceback) are still collected, later. The objects of
    the set-up (modules, settings, the rules loaded by ``classify.warm_up``) are frozen out of
    the collections: they live as long as the process.
    """
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(_GC_YOUNG_THRESHOLD, middle, old)


# Every counter of a batch in one call: INCRBY each key by its clicks (ARGV[i + 1]) and let it
# expire after ARGV[1] seconds; returns the totals.
_COUNT_LUA = """
local totals = {}
for i = 1, #KEYS do
  totals[i] = redis.call('INCRBY', KEYS[i], ARGV[i + 1])
  redis.call('EXPIRE', KEYS[i], ARGV[1])
end
return totals
"""


def enforce_rate_limit(
    clicks: list[tuple[LinkClick, ClickSignals, str | None]], *, client: redis.Redis | None
) -> list[tuple[LinkClick, ClickSignals, str | None]]:
    """Drop the clicks over ``CLICK_RATE_LIMIT`` per client (buffered mode's rate limit).

    The redirect does not count clicks in buffered mode; the writer does, in fixed windows of the
    click time, with counters in Redis shared by every writer (one round trip per batch). Dropped
    clicks go to the same suppressed-click counter the health endpoint shows. When Redis cannot
    count, the limit fails open, as on the redirect.
    """
    if client is None:
        return clicks
    limit, period = parse_rate(settings.CLICK_RATE_LIMIT)
    prefix = f"{stream_key()}:rate:"
    groups: dict[str, list[int]] = {}
    for index, (click, _signals, key) in enumerate(clicks):
        if key and click.clicked_at is not None:
            window = int(click.clicked_at.timestamp()) // period
            groups.setdefault(f"{prefix}{window}:{key}", []).append(index)
    if not groups:
        return clicks
    try:
        totals = client.register_script(_COUNT_LUA)(
            keys=list(groups), args=[period * 2, *(len(members) for members in groups.values())]
        )
    except redis.RedisError:
        logger.warning("click rate limit unavailable; storing every click", exc_info=True)
        return clicks
    dropped: set[int] = set()
    for members, total in zip(groups.values(), totals, strict=True):
        allowed = max(0, limit - (int(total) - len(members)))
        members.sort(key=lambda i: clicks[i][0].clicked_at or 0)
        dropped.update(members[allowed:])
    if dropped:
        ratelimit.count_suppressed(len(dropped))
    return [entry for index, entry in enumerate(clicks) if index not in dropped]


@functools.cache
def _links_sql() -> str:
    quote = connection.ops.quote_name
    link, job = TrackedLink._meta, Job._meta

    def column(meta: Any, name: str) -> str:
        return quote(str(meta.get_field(name).column))

    return (
        f"SELECT l.{column(link, 'tracking_id')}, j.{column(job, 'company_name')}, "  # noqa: S608 - quoted names
        f"j.{column(job, 'company_aliases')} FROM {quote(link.db_table)} l "
        f"LEFT JOIN {quote(job.db_table)} j ON j.{column(job, 'id')} = l.{column(link, 'job')} "
        f"WHERE l.{column(link, 'tracking_id')} = ANY (%s)"
    )


def _existing_links(tracking_ids: set[str]) -> dict[str, tuple[company.Key, ...]]:
    """One query for both: which links of a batch still exist, and their jobs' company names.

    On PostgreSQL the ids go in as one array parameter: the ORM's ``IN`` list of a batch's few
    hundred ids (a placeholder and an adapted value each, and the SQL compiled anew) cost the
    writer three times the CPU of the query itself.
    """
    rows: Iterable[tuple[str, str | None, str | None]]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_links_sql(), [list(tracking_ids)])
            rows = cursor.fetchall()
    else:
        rows = TrackedLink.objects.filter(tracking_id__in=tracking_ids).values_list(
            "tracking_id", "job__company_name", "job__company_aliases"
        )
    return {
        tracking_id: company.company_keys(name or "", aliases or "")
        for tracking_id, name, aliases in rows
    }


# A click ready for the database: the unsaved row (classified and located), its request
# signals and its rate-limit key.
Prepared = tuple[LinkClick, ClickSignals, str | None]


def prepare_clicks(decoded: list[tuple[LinkClick, dict[str, Any]]]) -> list[Prepared]:
    """The CPU part of :func:`write_clicks`: each click once (by ``click_id``, the first seen),
    classified (unless it arrived classified: Do-Not-Track) and located. It reads neither the
    database nor Redis, so the writer runs it for the next batch while the database stores the
    current one (:class:`ClickWriter`). A click it prepares and :func:`store_clicks` then drops
    (a deleted link, the rate limit) is simply not stored: classification and geo only fill in
    the unsaved row."""
    unique: dict[Any, tuple[LinkClick, dict[str, Any]]] = {}
    for click, raw in decoded:
        unique.setdefault(click.click_id, (click, raw))
    prepared: list[Prepared] = []
    for click, raw_signals in unique.values():
        signals = ClickSignals.from_dict(raw_signals)
        if click.classification is None:  # Do-Not-Track clicks arrive classified
            classify_into(click, signals)
        geo.locate_click(click, signals)
        prepared.append((click, signals, raw_signals.get("rate_key")))
    return prepared


def store_clicks(prepared: list[Prepared], *, limiter: redis.Redis | None = None) -> int:
    """The database part of :func:`write_clicks` for what :func:`prepare_clicks` returned."""
    if not prepared:
        return 0
    existing = _existing_links({click.tracking_id for click, _signals, _key in prepared})
    kept = [item for item in prepared if item[0].tracking_id in existing]
    if len(kept) < len(prepared):
        logger.info("dropped %d clicks of deleted links", len(prepared) - len(kept))
    kept = enforce_rate_limit(kept, client=limiter)
    for click, _signals, _key in kept:
        company.mark_click(click, existing[click.tracking_id])
    with transaction.atomic():
        services.insert_click_batch([click for click, _signals, _key in kept])
        burst.apply_to_batch((click, signals) for click, signals, _key in kept)
        decoy.apply_to_batch((click, signals) for click, signals, _key in kept)
        # In the same transaction, after the burst rule: the outbox rows of the person clicks.
        events.record_batch_events(click for click, _signals, _key in kept)
    return len(kept)


def write_clicks(
    decoded: list[tuple[LinkClick, dict[str, Any]]], *, limiter: redis.Redis | None = None
) -> int:
    """Rate-limit, classify and insert clicks, then apply the burst rule, in one transaction;
    returns how many clicks were handed to the INSERT (already stored ones are skipped by it).

    Clicks of links deleted since the redirect are dropped: the database would have deleted them
    with the link (ON DELETE CASCADE), and their foreign key would fail the whole batch.
    """
    return store_clicks(prepare_clicks(decoded), limiter=limiter)


def _drop_broken_connection() -> None:
    """Reconnect after a database outage (what Django does between requests). Inside an outer
    transaction (a caller's, or a test's) the connection is left alone."""
    if not connection.in_atomic_block:
        close_old_connections()


@dataclass(slots=True)
class _PreparedBatch:
    """A batch of stream entries decoded and prepared (:meth:`ClickWriter._prepare`)."""

    size: int
    readable: list[tuple[Entry, tuple[LinkClick, dict[str, Any]]]]
    unreadable: list[tuple[Entry, str]]  # with what is wrong with each
    prepared: list[Prepared]


class ClickWriter:
    """Drain the click stream and the spool; see the module docstring."""

    def __init__(
        self,
        *,
        consumer: str | None = None,
        batch_size: int | None = None,
        claim_idle_ms: int | None = None,
        block_ms: int = 1000,
        linger_ms: int | None = None,
        pause_at: str | None = None,
        report: Callable[[str], None] | None = None,
        read_ahead: bool = False,
    ) -> None:
        self.consumer = consumer or default_consumer_name()
        self.batch_size = batch_size or settings.CLICK_WRITER_BATCH_SIZE
        self.claim_idle_ms = (
            claim_idle_ms
            if claim_idle_ms is not None
            else settings.CLICK_WRITER_CLAIM_IDLE_SECONDS * 1000
        )
        self.block_ms = block_ms
        self.linger_ms = settings.CLICK_WRITER_LINGER_MS if linger_ms is None else linger_ms
        if pause_at not in (None, *PAUSE_STAGES):
            raise ValueError(f"pause_at must be one of {PAUSE_STAGES}")
        self.pause_at = pause_at
        # The pause stages stop with exactly one batch read (the crash tests count on it).
        self.read_ahead = read_ahead and pause_at is None
        self._ahead: tuple[list[Entry], Future[_PreparedBatch]] | None = None
        self._preparer: ThreadPoolExecutor | None = None
        self._once = False
        self.report = report or logger.info
        self.stopping = False
        self.written = 0
        self.replayed = 0
        self.stream: StreamConsumer | None = None
        if settings.REDIS_URL:
            # The blocking read must end before the socket times out.
            client = get_client(socket_timeout=block_ms / 1000 + 5)
            self.stream = StreamConsumer(client=client, consumer=self.consumer)
        self._group_ready = False
        self._recheck_own_pending = True  # entries of an earlier life of this consumer name
        self._failures = 0
        self._last_claim = 0.0
        self._last_spool_check = 0.0
        self._last_classification_pass = float("-inf")
        self._last_forget = time.monotonic()

    # -- one step ----------------------------------------------------------------------------

    def _read(self, *, block_ms: int | None) -> list[Entry]:
        assert self.stream is not None
        if not self._group_ready:
            self.stream.ensure_group()
            self._group_ready = True
        if self._recheck_own_pending:
            entries = self.stream.read_own_pending(count=self.batch_size)
            if entries:
                return entries
            self._recheck_own_pending = False
        now = time.monotonic()
        if now - self._last_claim >= min(5.0, self.claim_idle_ms / 2000):
            self._last_claim = now
            entries = self.stream.claim_stale(count=self.batch_size, min_idle_ms=self.claim_idle_ms)
            if entries:
                self.report(f"claimed {len(entries)} clicks left pending by another writer")
                return entries
        return self.stream.read_new(count=self.batch_size, block_ms=block_ms)

    def _pause(self, stage: str, count: int) -> None:
        if self.pause_at != stage:
            return
        self.report(f"paused {stage} with {count} entries")
        while not self.stopping:
            time.sleep(0.05)

    def process(self, entries: list[Entry]) -> int:
        """Store a batch of stream entries and acknowledge it; returns clicks stored."""
        return self._store(self._prepare(entries))

    @staticmethod
    def _prepare(entries: list[Entry]) -> _PreparedBatch:
        """Decode, classify and locate a batch (CPU only: no database, no Redis, so it may run
        on the read-ahead thread)."""
        readable: list[tuple[Entry, tuple[LinkClick, dict[str, Any]]]] = []
        unreadable: list[tuple[Entry, str]] = []
        for entry in entries:
            try:
                if entry.payload is None:
                    raise MalformedEntry("entry without a click payload")
                readable.append((entry, decode_click(entry.payload)))
            except MalformedEntry as exc:
                unreadable.append((entry, str(exc)))
        prepared = prepare_clicks([click for _entry, click in readable])
        return _PreparedBatch(len(entries), readable, unreadable, prepared)

    def _store(self, batch: _PreparedBatch) -> int:
        """Set a prepared batch's unreadable entries aside, store its clicks, acknowledge it."""
        assert self.stream is not None
        for entry, problem in batch.unreadable:
            logger.error("unreadable stream entry %s: %s", entry.entry_id, problem)
            self.stream.dead_letter(entry, problem)
        self._pause("after-read", batch.size)
        _drop_broken_connection()
        try:
            stored = store_clicks(batch.prepared, limiter=self.stream.client)
        except (DataError, IntegrityError):
            # One entry the database refuses (a value too long, …) must not block the stream:
            # write them one by one and set the refused ones aside.
            stored = self._write_one_by_one(batch.readable)
        self._pause("after-insert", batch.size)
        # Only now, with the rows committed, may the entries leave the pending list.
        self.stream.ack([entry.entry_id for entry, _click in batch.readable])
        self.written += stored
        return stored

    def _write_one_by_one(
        self, readable: list[tuple[Entry, tuple[LinkClick, dict[str, Any]]]]
    ) -> int:
        assert self.stream is not None
        stored = 0
        for entry, click in readable:
            try:
                stored += write_clicks([click], limiter=self.stream.client)
            except (DataError, IntegrityError) as exc:
                # Described without its detail, which quotes the row (IP, user agent).
                reason = services.describe_database_error(exc)
                logger.error("the database refused stream entry %s: %s", entry.entry_id, reason)
                self.stream.dead_letter(entry, f"refused by the database: {reason}")
        return stored

    def replay_spool(self) -> int:
        """Store the clicks spooled while Redis and the database were both unreachable."""

        def store(lines: list[str]) -> list[str]:
            decoded, rejected = [], []
            for line in lines:
                try:
                    decoded.append(decode_click(line))
                except MalformedEntry:
                    rejected.append(line)
            _drop_broken_connection()
            for start in range(0, len(decoded), self.batch_size):
                write_clicks(
                    decoded[start : start + self.batch_size],
                    limiter=self.stream.client if self.stream else None,
                )
            return rejected

        replayed = spool.replay(store)
        if replayed:
            self.replayed += replayed
            self.report(f"replayed {replayed} spooled clicks")
        return replayed

    def backlog_empty(self) -> bool:
        if spool.has_spooled_clicks():
            return False
        if self.stream is None:
            return True
        status = backlog_status(client=self.stream.client, key=self.stream.key)
        return not status["unwritten"]

    def step(self, *, block_ms: int | None) -> int:
        """One batch (spool replay, then the stream); returns the number of clicks handled."""
        handled = 0
        now = time.monotonic()
        if now - self._last_spool_check >= _SPOOL_CHECK_SECONDS:
            self._last_spool_check = now
            handled += self.replay_spool()
        if self.stream is not None:
            ahead, self._ahead = self._ahead, None
            entries, preparing = (
                ahead if ahead is not None else (self._read(block_ms=block_ms), None)
            )
            if entries:
                if self.read_ahead and not (
                    self._once or self.stopping or self._recheck_own_pending
                ):
                    self._read_next()
                batch = preparing.result() if preparing is not None else self._prepare(entries)
                handled += self._store(batch)
                self.stream.trim()
            if now - self._last_forget >= _FORGET_CONSUMERS_EVERY_SECONDS:
                self._last_forget = now
                self.stream.forget_idle_consumers(idle_ms=_FORGET_CONSUMERS_IDLE_MS)
        if now - self._last_classification_pass >= unclassified.PASS_EVERY_SECONDS:
            self._last_classification_pass = now
            self.classify_unclassified()
        return handled

    def _read_next(self) -> None:
        """Read the next batch now, without waiting for one, and prepare it on a thread while the
        database stores the current one: decoding, classification and geo cost the writer most
        of its CPU, and the database work leaves the CPU idle (psycopg and redis-py release the
        GIL while they wait). The next batch is stored only after this one is committed and
        acknowledged, exactly as if it had been read then; until it is stored, its entries are
        pending on this consumer like any batch in hand. After a failure the batch read ahead is
        dropped (:meth:`_drop_read_ahead`) and read again, in order, from the pending list."""
        assert self.stream is not None
        entries = self._read(block_ms=None)
        if not entries:
            return
        if self._preparer is None:
            self._preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="click-prepare")
        self._ahead = (entries, self._preparer.submit(self._prepare, entries))

    def _drop_read_ahead(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            futures.wait([ahead[1]])  # nothing of it may still run when it is read again

    def _finish_read_ahead(self) -> None:
        """Store the batch read ahead when the writer stops, so that it leaves nothing pending
        (on a failure it stays pending, as a failed batch does)."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return
        try:
            self._store(ahead[1].result())
        except (redis.RedisError, DatabaseError) as exc:
            logger.warning("click writer: the batch read ahead stays pending: %s", exc)

    def classify_unclassified(self) -> int:
        """The classification pass over clicks stored by plain SQL (not counted as handled: the
        stream's backlog is what ``--drain`` waits for)."""
        _drop_broken_connection()
        classified = unclassified.classify_unclassified(report=self.report)
        if classified:
            self.report(f"classified {classified} clicks stored without a classification")
        return classified

    # -- the loop ----------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(min(0.05, seconds))

    def run(self, *, once: bool = False, drain: bool = False) -> None:
        """Write until stopped (SIGTERM finishes the current batch), after one batch (``once``) or
        once nothing is left to write (``drain``)."""
        self.report(
            f"click writer {self.consumer} started "
            f"(stream {stream_key() if self.stream else 'off'}, "
            f"batch {self.batch_size})"
        )
        last_report = time.monotonic()
        reported = 0
        self._once = once
        while not self.stopping:
            try:
                handled = self.step(block_ms=200 if drain or once else self.block_ms)
                if not handled and (once or drain) and self.backlog_empty():
                    break
                self._failures = 0
            except (redis.RedisError, DatabaseError) as exc:
                self._drop_read_ahead()
                self._failures += 1
                backoff = min(_MAX_BACKOFF_SECONDS, 0.25 * 2**self._failures)
                problem = (
                    services.describe_database_error(exc) if isinstance(exc, DatabaseError) else exc
                )
                logger.warning("click writer: %s; retrying in %.1fs", problem, backoff)
                # The failed batch stays pending on this consumer: read it again first.
                self._recheck_own_pending = True
                self._group_ready = False
                self._sleep(backoff)
                continue
            if once:
                break
            if 0 < handled < self.batch_size and self.linger_ms and not drain:
                # A partial batch: the stream is keeping up. Let the next one fill a while
                # rather than pay a batch's round trips for a few clicks each time.
                self._sleep(self.linger_ms / 1000)
            now = time.monotonic()
            if self.written + self.replayed != reported and now - last_report >= 10:
                last_report, reported = now, self.written + self.replayed
                self.report(f"{self.written} clicks written, {self.replayed} replayed")
        self._finish_read_ahead()
        if self._preparer is not None:
            self._preparer.shutdown()
            self._preparer = None
        self.report(
            f"click writer {self.consumer} stopped: {self.written} clicks written, "
            f"{self.replayed} replayed from the spool"
        )
