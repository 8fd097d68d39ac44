"""Buffered click recording under failure: Redis crashing, the database going away, both at once.

Every server that fails here is the test's own (a private redis-server, a TCP proxy in front of
PostgreSQL); the shared servers are never touched.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.factories import CHROME, HOUR, make_link
from tests.support import (
    CuttableProxy,
    PrivateRedis,
    child_env,
    free_port,
    queue_click,
    start_writer,
    stored_ids,
    wait_for_line,
    wait_until,
)
from tracking.clicks import spool as clickspool
from tracking.clicks import stream as clickstream
from tracking.clicks.writer import ClickWriter
from tracking.models import LinkClick

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

HEADERS: dict[str, Any] = {
    "HTTP_USER_AGENT": CHROME,
    "HTTP_ACCEPT_LANGUAGE": "en",
    "REMOTE_ADDR": "198.51.100.9",
}


def visit(tracking_id: str) -> int:
    return int(
        Client().get(reverse("tracking:redirect", args=[tracking_id]), **HEADERS).status_code
    )


def test_clicks_keep_being_stored_while_redis_crashes_and_comes_back(
    settings: Any, stream: str, private_redis: PrivateRedis
) -> None:
    settings.REDIS_URL = private_redis.url
    clickstream.reset_clients()
    tracking_id = make_link(sent_ago=HOUR).tracking_id

    answers = [visit(tracking_id) for _ in range(20)]  # into the stream
    assert clickstream.backlog_status()["unwritten"] == 20
    private_redis.crash()
    answers += [visit(tracking_id) for _ in range(20)]  # Redis is gone: stored directly
    assert LinkClick.objects.count() == 20
    private_redis.start()  # the append-only file brings the 20 queued clicks back
    clickstream.reset_clients()
    answers += [visit(tracking_id) for _ in range(20)]

    assert answers == [302] * 60
    ClickWriter(consumer="after-the-crash").run(drain=True)
    assert LinkClick.objects.count() == 60
    assert len(set(stored_ids())) == 60
    assert clickstream.backlog_status()["unwritten"] == 0


@pytest.mark.postgres
def test_the_backlog_drains_after_a_database_outage_and_nothing_is_missing(
    stream: str, postgres_proxy: CuttableProxy
) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    writer = start_writer(
        "--consumer", "through-proxy", env=child_env(database_port=postgres_proxy.port)
    )
    try:
        wait_for_line(writer, "started")
        before = {queue_click(tracking_id) for _ in range(30)}
        wait_until(lambda: LinkClick.objects.count() == 30, what="the first 30 clicks")

        postgres_proxy.cut()
        during = {queue_click(tracking_id) for _ in range(30)}
        # The writer keeps failing; the clicks wait in the stream, unacknowledged.
        wait_for_line(writer, "retrying")
        assert LinkClick.objects.count() == 30
        assert clickstream.backlog_status()["unwritten"] == 30

        postgres_proxy.restore()
        wait_until(lambda: LinkClick.objects.count() == 60, what="the backlog to drain")
        wait_until(lambda: clickstream.backlog_status()["unwritten"] == 0, what="the acks")
        assert set(stored_ids()) == before | during
    finally:
        writer.send_signal(signal.SIGTERM)
        writer.communicate(timeout=20)
    assert writer.returncode == 0


@pytest.mark.postgres
def test_with_redis_and_the_database_down_clicks_are_spooled_then_replayed(
    settings: Any, stream: str, postgres_proxy: CuttableProxy
) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    shared_redis = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    clickstream.reset_clients()
    assert visit(tracking_id) == 302  # warms the link cache; Redis is down: stored directly
    assert LinkClick.objects.count() == 1

    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = postgres_proxy.port
    try:
        postgres_proxy.cut()
        assert [visit(tracking_id) for _ in range(5)] == [302] * 5
        assert clickspool.status()["spool_bytes"]
        postgres_proxy.restore()
        settings.REDIS_URL = shared_redis  # both are back
        ClickWriter(consumer="replayer").run(drain=True)
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port

    assert LinkClick.objects.count() == 6
    assert set(LinkClick.objects.values_list("classification", flat=True)) == {"human"}
    assert clickspool.status()["spool_bytes"] == 0
