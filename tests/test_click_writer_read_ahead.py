"""``run_click_writer --read-ahead``: the next batch is prepared while the database stores one,
and is still stored after it, acknowledged only once committed, lost on no failure."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError

from tests.factories import HOUR, make_link
from tests.support import queue_click, stored_ids
from tracking.clicks import stream as clickstream
from tracking.clicks import writer as clickwriter
from tracking.clicks.writer import ClickWriter

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def record_batches(monkeypatch: pytest.MonkeyPatch, *, fail_call: int | None = None) -> list[Any]:
    """The click ids of each batch the writer stores, in order (``fail_call``: that call raises
    a database error before anything is stored)."""
    stored: list[list[str]] = []
    calls = []
    real = clickwriter.store_clicks

    def store_clicks(prepared: list[Any], **kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == fail_call:
            raise OperationalError("the database went away")
        written = real(prepared, **kwargs)
        stored.append([str(click.click_id) for click, _signals, _key in prepared])
        return written

    monkeypatch.setattr(clickwriter, "store_clicks", store_clicks)
    return stored


def test_a_batch_read_ahead_is_stored_after_the_one_before_and_acknowledged_only_then(
    stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    queued = [queue_click(tracking_id) for _ in range(12)]
    batches = record_batches(monkeypatch)
    writer = ClickWriter(consumer="ahead", batch_size=5, read_ahead=True)

    assert writer.step(block_ms=None) == 5
    assert sorted(stored_ids()) == sorted(queued[:5])
    # The second batch is read and prepared, not stored: still pending, not acknowledged.
    assert clickstream.backlog_status()["pending"] == 5

    assert writer.step(block_ms=None) == 5
    assert clickstream.backlog_status()["pending"] == 2
    assert writer.step(block_ms=None) == 2
    assert writer.step(block_ms=None) == 0

    assert batches == [queued[:5], queued[5:10], queued[10:]]
    status = clickstream.backlog_status()
    assert (status["pending"], status["unwritten"]) == (0, 0)


def test_a_database_error_with_a_batch_read_ahead_loses_nothing_and_keeps_the_order(
    stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    queued = [queue_click(tracking_id) for _ in range(12)]
    batches = record_batches(monkeypatch, fail_call=2)
    writer = ClickWriter(consumer="ahead", batch_size=5, read_ahead=True)
    monkeypatch.setattr(writer, "_sleep", lambda seconds: None)

    writer.run(drain=True)

    # The failed second batch and the third, read ahead meanwhile, are read again in order.
    assert batches == [queued[:5], queued[5:10], queued[10:]]
    assert sorted(stored_ids()) == sorted(queued)
    status = clickstream.backlog_status()
    assert (status["pending"], status["unwritten"]) == (0, 0)


def test_a_writer_told_to_stop_stores_the_batch_it_read_ahead(
    stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    queued = [queue_click(tracking_id) for _ in range(12)]
    batches = record_batches(monkeypatch)
    writer = ClickWriter(consumer="ahead", batch_size=5, read_ahead=True, linger_ms=0)
    real_step = writer.step

    def step_then_stop(*, block_ms: int | None) -> int:
        handled = real_step(block_ms=block_ms)
        writer.stopping = True  # SIGTERM during the first batch
        return handled

    monkeypatch.setattr(writer, "step", step_then_stop)
    writer.run()

    assert batches == [queued[:5], queued[5:10]]
    assert writer.written == 10
    status = clickstream.backlog_status()
    assert (status["pending"], status["unwritten"]) == (0, 2)


def test_one_batch_with_once_reads_nothing_ahead(stream: str) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    for _ in range(7):
        queue_click(tracking_id)
    ClickWriter(consumer="ahead", batch_size=5, read_ahead=True).run(once=True)
    status = clickstream.backlog_status()
    assert (len(stored_ids()), status["pending"], status["unwritten"]) == (5, 0, 2)
