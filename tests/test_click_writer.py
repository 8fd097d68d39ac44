"""``run_click_writer``: drains the click stream into ``link_clicks`` exactly once."""

from __future__ import annotations

import datetime as dt
import gc
import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import CHROME, HOUR, human_signals, make_application, make_job, make_link
from tests.support import (
    BASE_DIR,
    queue_click,
    run_writer,
    start_writer,
    stored_ids,
    wait_for_line,
)
from tracking import services
from tracking.clicks import ratelimit as clicklimit
from tracking.clicks import stream as clickstream
from tracking.clicks.stream import StreamConsumer
from tracking.clicks.writer import ClickWriter
from tracking.models import LinkClick

pytestmark = [pytest.mark.redis]


def drain() -> None:
    ClickWriter(consumer="test-writer").run(drain=True)


def consumer(name: str) -> StreamConsumer:
    reader = StreamConsumer(client=redis.Redis.from_url(settings.REDIS_URL), consumer=name)
    reader.ensure_group()
    return reader


# --- In-process ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_writer_stores_every_queued_click_classified_and_empties_the_backlog(
    stream: str,
) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    queued = {queue_click(tracking_id) for _ in range(30)}
    assert clickstream.backlog_status()["unwritten"] == 30
    assert LinkClick.objects.count() == 0

    drain()

    assert set(stored_ids()) == queued
    click = LinkClick.objects.first()
    assert click is not None
    assert (click.classification, click.browser, click.user_agent) == ("human", "Chrome", CHROME)
    status = clickstream.backlog_status()
    assert (status["unwritten"], status["pending"], status["stream_length"]) == (0, 0, 0)
    assert status["oldest_unwritten_age_seconds"] is None


@pytest.mark.django_db(transaction=True)
def test_the_command_writes_one_batch_with_once(stream: str) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    for _ in range(7):
        queue_click(tracking_id)
    call_command("run_click_writer", "--once", "--batch-size", "5", stdout=io.StringIO())
    assert LinkClick.objects.count() == 5
    assert clickstream.backlog_status()["unwritten"] == 2


@pytest.mark.django_db(transaction=True)
def test_one_batch_leaves_the_callers_garbage_collector_as_it_was(stream: str) -> None:
    queue_click(make_link(sent_ago=HOUR).tracking_id)
    before = (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled())
    call_command("run_click_writer", "--once", stdout=io.StringIO())
    assert LinkClick.objects.count() == 1
    assert (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()) == before


def test_a_writer_process_still_collects_cycles_after_settling_its_collector() -> None:
    """The writer's process freezes its set-up and collects less often, but collects."""
    script = (
        "import gc, weakref, django; django.setup()\n"
        "from tracking.clicks.writer import settle_garbage_collector\n"
        "settle_garbage_collector()\n"
        "class Node: pass\n"
        "a, b = Node(), Node(); a.other, b.other = b, a; alive = weakref.ref(a); del a, b\n"
        "gc.collect()\n"
        "print(gc.get_threshold()[0], gc.get_freeze_count() > 0, gc.isenabled(), alive() is None)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60,
        cwd=BASE_DIR, env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
    )  # fmt: skip
    young, frozen, enabled, collected = result.stdout.split()
    assert int(young) > 700  # Python's default
    assert (frozen, enabled, collected) == ("True", "True", "True")


@pytest.mark.django_db(transaction=True)
def test_the_same_entry_added_twice_is_stored_once(stream: str) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    click = services.build_click(tracking_id=tracking_id, ip_address="198.51.100.1")
    clickstream.append(clickstream.encode_click(click, signals=human_signals().as_dict()))
    clickstream.append(clickstream.encode_click(click, signals=human_signals().as_dict()))
    drain()
    assert stored_ids() == [str(click.click_id)]


@pytest.mark.django_db(transaction=True)
def test_an_entry_delivered_to_two_writers_is_stored_once(stream: str) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    click_id = queue_click(tracking_id)
    first, second = consumer("first"), consumer("second")
    entries = first.read_new(count=10, block_ms=None)
    # The first writer looks dead; the second takes the entry over and writes it.
    claimed = second.claim_stale(count=10, min_idle_ms=0)
    assert [e.entry_id for e in claimed] == [e.entry_id for e in entries]
    ClickWriter(consumer="second").process(claimed)
    # The first writer was only slow: it writes and acknowledges its copy too.
    ClickWriter(consumer="first").process(entries)
    assert stored_ids() == [click_id]
    assert clickstream.backlog_status()["pending"] == 0


@pytest.mark.django_db(transaction=True)
def test_trimming_never_removes_an_unacknowledged_click(stream: str) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    for _ in range(10):
        queue_click(tracking_id)
    reader = consumer("reader")
    entries = reader.read_new(count=5, block_ms=None)
    assert reader.trim() == 0  # read but not acknowledged: all ten stay
    reader.ack([e.entry_id for e in entries[:3]])
    assert reader.trim() == 3
    status = clickstream.backlog_status()
    assert (status["stream_length"], status["pending"], status["unwritten"]) == (7, 2, 7)


@pytest.mark.django_db(transaction=True)
def test_an_unreadable_entry_is_set_aside_and_the_rest_is_written(stream: str) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    good = queue_click(tracking_id)
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.xadd(stream, {"c": b"{not json"})
    client.xadd(stream, {"other": b"field"})
    drain()
    assert stored_ids() == [good]
    assert client.xlen(f"{stream}:dead") == 2
    assert clickstream.backlog_status()["unwritten"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_queued_click_the_service_layer_refuses_is_set_aside_and_the_rest_is_written(
    stream: str,
) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    good = queue_click(tracking_id)
    client = redis.Redis.from_url(settings.REDIS_URL)
    now_us = time.time_ns() // 1000
    for fields in ({"ip_address": "not-an-ip"}, {"click_source": "no spaces allowed"}):
        payload = clickstream.encode_raw(
            {"tracking_id": tracking_id, **fields},
            click_id=services.new_click_id(),
            clicked_at_us=now_us,
        )
        client.xadd(stream, {"c": payload})
    drain()
    assert stored_ids() == [good]
    assert client.xlen(f"{stream}:dead") == 2
    assert clickstream.backlog_status()["unwritten"] == 0


@pytest.mark.django_db(transaction=True)
def test_the_writer_normalises_a_queued_click_like_the_service_layer(stream: str) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    click_id = services.new_click_id()
    payload = clickstream.encode_raw(
        {
            "tracking_id": tracking_id,
            "referrer_url": "https://mail.google.com/\x07" + "x" * 2000,
            "ip_address": "::ffff:198.51.100.4",
            "http_method": "GET",
        },
        click_id=click_id,
        clicked_at_us=time.time_ns() // 1000,
        signals=human_signals().as_dict(),
    )
    redis.Redis.from_url(settings.REDIS_URL).xadd(stream, {"c": payload})
    drain()
    row = LinkClick.objects.get(click_id=click_id)
    assert len(row.referrer_url or "") == services.REFERRER_MAX
    assert "\x07" not in (row.referrer_url or "")
    assert row.click_source == "email"
    assert row.ip_address == "198.51.100.4"  # IPv4-mapped: stored as the IPv4 address
    assert row.classification is not None


@pytest.mark.django_db(transaction=True)
def test_clicks_of_a_link_deleted_meanwhile_are_dropped_without_failing_the_batch(
    stream: str,
) -> None:
    kept, deleted = (
        make_link(sent_ago=HOUR).tracking_id,
        make_link(sent_ago=HOUR).tracking_id,
    )
    kept_id = queue_click(kept)
    queue_click(deleted)
    services.delete_tracked_link(tracking_id=deleted)
    drain()
    assert stored_ids() == [kept_id]
    assert clickstream.backlog_status()["unwritten"] == 0


@pytest.mark.django_db(transaction=True)
def test_the_writer_applies_the_burst_rule_to_links_of_one_application(stream: str) -> None:
    application = make_application(make_job(title="Data Analyst", company_name="Fabrikam"))
    first = make_link(sent_ago=HOUR, application=application).tracking_id
    second = make_link(
        sent_ago=HOUR, application=application, original_url="https://github.com/sg"
    ).tracking_id
    for tracking_id, ip in ((first, "203.0.113.10"), (second, "203.0.113.77")):
        click = services.build_click(tracking_id=tracking_id, ip_address=ip, user_agent=CHROME)
        signals = human_signals(ip, application_id=str(application.id))
        clickstream.append(clickstream.encode_click(click, signals=signals.as_dict()))
    drain()
    rows = LinkClick.objects.all()
    assert [row.classification for row in rows] == ["scanner", "scanner"]
    assert all("burst" in (row.classification_reasons or []) for row in rows)


@pytest.mark.django_db(transaction=True)
def test_a_buffered_redirect_is_written_by_the_writer(stream: str) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    url = reverse("tracking:redirect", args=[tracking_id])
    headers: dict[str, Any] = {
        "HTTP_USER_AGENT": CHROME,
        "HTTP_ACCEPT_LANGUAGE": "en",
        "REMOTE_ADDR": "198.51.100.9",
    }
    for _ in range(3):
        assert Client().get(url, **headers).status_code == 302
    assert LinkClick.objects.count() == 0
    drain()
    rows = list(LinkClick.objects.all())
    assert len(rows) == 3
    assert {(r.classification, r.ip_address, r.http_method) for r in rows} == {
        ("human", "198.51.100.9", "GET")
    }


# --- Writer processes (PostgreSQL: the child must see this test's committed rows) ------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stage", ["after-read", "after-insert"])
def test_a_writer_killed_mid_batch_leaves_nothing_lost_or_doubled(stream: str, stage: str) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    queued = {queue_click(tracking_id) for _ in range(60)}

    doomed = start_writer("--consumer", "doomed", "--batch-size", "25", "--pause-at", stage)
    wait_for_line(doomed, f"paused {stage} with 25 entries")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    assert clickstream.backlog_status()["pending"] == 25
    assert LinkClick.objects.count() == (25 if stage == "after-insert" else 0)

    output = run_writer("--consumer", "heir", "--drain", "--claim-idle-ms", "200")

    assert "claimed 25 clicks left pending by another writer" in output
    ids = stored_ids()
    assert len(ids) == 60
    assert set(ids) == queued
    status = clickstream.backlog_status()
    assert (status["unwritten"], status["pending"]) == (0, 0)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sigterm_finishes_the_current_batch_and_exits_cleanly(stream: str) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    for _ in range(40):
        queue_click(tracking_id)
    writer = start_writer("--batch-size", "25", "--pause-at", "after-insert")
    wait_for_line(writer, "paused after-insert")
    writer.send_signal(signal.SIGTERM)
    output, _ = writer.communicate(timeout=20)
    assert writer.returncode == 0, output
    assert "stopped: 25 clicks written" in output
    assert LinkClick.objects.count() == 25
    status = clickstream.backlog_status()
    assert (status["pending"], status["unwritten"]) == (0, 15)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_several_writers_at_once_store_every_click_once(stream: str) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    queued = {queue_click(tracking_id) for _ in range(300)}
    writers = [
        start_writer("--consumer", f"w{n}", "--drain", "--batch-size", "20") for n in range(3)
    ]
    for writer in writers:
        output, _ = writer.communicate(timeout=60)
        assert writer.returncode == 0, output
    assert sorted(stored_ids()) == sorted(queued)


@pytest.mark.django_db(transaction=True)
def test_the_writer_applies_the_click_rate_limit_and_counts_what_it_drops(
    settings: Any, stream: str
) -> None:
    settings.CLICK_RATE_LIMIT = "5/m"
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    minute = timezone.now().replace(second=10, microsecond=0) - dt.timedelta(hours=1)
    for n in range(8):
        for ip, key in (("198.51.100.1", "noisy"), ("198.51.100.2", "quiet")):
            if key == "quiet" and n >= 2:
                continue
            click = services.build_click(
                tracking_id=tracking_id, ip_address=ip, clicked_at=minute + dt.timedelta(seconds=n)
            )
            clickstream.append(
                clickstream.encode_click(
                    click, signals={**human_signals(ip).as_dict(), "rate_key": key}
                )
            )
    drain()
    by_ip = Counter(LinkClick.objects.values_list("ip_address", flat=True))
    assert by_ip == {"198.51.100.1": 5, "198.51.100.2": 2}
    assert clicklimit.suppressed_clicks() == 3
    # The first five of the minute are the ones kept.
    kept = sorted(LinkClick.objects.filter(ip_address="198.51.100.1").values_list("clicked_at"))
    assert [row[0] for row in kept] == [minute + dt.timedelta(seconds=n) for n in range(5)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_entry_the_database_refuses_is_set_aside_without_blocking_the_others(
    stream: str,
) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    before = queue_click(tracking_id)
    click = services.build_click(tracking_id=tracking_id)
    click.classification = "human"  # arrives classified, so the writer keeps these fields
    click.browser = "x" * 200  # longer than the column
    clickstream.append(clickstream.encode_click(click, signals=human_signals().as_dict()))
    after = queue_click(tracking_id)
    drain()
    assert sorted(stored_ids()) == sorted([before, after])
    assert redis.Redis.from_url(settings.REDIS_URL).xlen(f"{stream}:dead") == 1
    assert clickstream.backlog_status()["unwritten"] == 0


# --- Batching ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handled", "drain_mode", "lingers"),
    [(3, False, True), (500, False, False), (0, False, False), (3, True, False)],
)
def test_after_a_partial_batch_the_writer_lets_the_next_one_fill(
    monkeypatch: pytest.MonkeyPatch, handled: int, drain_mode: bool, lingers: bool
) -> None:
    """A partial batch means the stream keeps up: the writer waits ``linger_ms`` before reading
    again, so that a steady stream is written in fewer, larger batches. A full batch (a backlog),
    an empty read (the read itself blocked) and a drain go straight on."""
    writer = ClickWriter(consumer="test-linger", batch_size=500, linger_ms=150)
    sleeps: list[float] = []
    steps = iter([handled, 0])

    def step(*, block_ms: int | None) -> int:
        count = next(steps, 0)
        if count == 0:
            writer.stopping = not drain_mode
        return count

    monkeypatch.setattr(writer, "step", step)
    monkeypatch.setattr(writer, "_sleep", sleeps.append)
    monkeypatch.setattr(writer, "backlog_empty", lambda: True)
    writer.run(drain=drain_mode)
    assert sleeps == ([0.15] if lingers else [])
