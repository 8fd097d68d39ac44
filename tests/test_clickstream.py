"""The click stream: what the redirect queues in buffered mode, and the backlog health reports."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import CHROME, HOUR, human_signals, make_link
from tests.support import free_port, queue_click
from tracking import classify, services
from tracking.classify import ClickSignals
from tracking.clicks import stream as clickstream
from tracking.clicks.writer import ClickWriter
from tracking.models import LinkClick

HEADERS: dict[str, Any] = {
    "HTTP_USER_AGENT": CHROME,
    "HTTP_ACCEPT_LANGUAGE": "en",
    "REMOTE_ADDR": "198.51.100.9",
}


def visit(tracking_id: str, **headers: Any) -> Any:
    url = reverse("tracking:redirect", args=[tracking_id])
    return Client().get(url, **{**HEADERS, **headers})


def queued_payloads(key: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    entries: Any = client.xrange(key)
    return [json.loads(fields[b"c"]) for _id, fields in entries]


# --- Encoding (no servers) -----------------------------------------------------------------


def test_a_click_survives_the_round_trip_through_an_entry() -> None:
    click = services.build_click(
        tracking_id="lt_abc",
        ip_address="2001:db8::1",
        user_agent="Mozilla/5.0 ünïcode",
        referrer_url="https://mail.google.com/",
        session_id="s" * 20,
        metadata={"utm_source": "email"},
        http_method="HEAD",
    )
    payload = clickstream.encode_click(click, signals={"has_accept_language": True})
    decoded, signals = clickstream.decode_click(payload.encode())
    fields = (
        "click_id",
        "tracking_id",
        "clicked_at",
        "ip_address",
        "user_agent",
        "referrer_url",
        "session_id",
        "click_source",
        "metadata",
        "http_method",
    )
    assert {f: getattr(decoded, f) for f in fields} == {f: getattr(click, f) for f in fields}
    assert signals == {"has_accept_language": True}


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[]",
        b'{"v": 99}',
        b'{"v": 1, "id": "x", "t": "lt_a", "at": 1}',
        b'{"v":1}',
        b'{"v": 1, "id": "", "t": "lt_a", "at": 1}',
        b'{"v": 1, "id": "01a20811-4a15-7e59-8e04-8bc7bbb79fdd", "t": "lt_a", "at": 1, "ip": "x"}',
        b'{"v": 1, "id": "01a20811-4a15-7e59-8e04-8bc7bbb79fdd", "t": "lt_a", "at": 1, "m": [1]}',
        b'{"v": 1, "id": "01a20811-4a15-7e59-8e04-8bc7bbb79fdd", "t": "lt_a", "at": 1,'
        b' "sig": {"user_agent": 5}}',
        b'{"v": 1, "id": "01a20811-4a15-7e59-8e04-8bc7bbb79fdd", "t": "lt_a", "at": 1,'
        b' "sig": {"link_created_at": "soon"}}',
    ],
)
def test_a_foreign_or_broken_entry_is_refused_clearly(payload: bytes) -> None:
    with pytest.raises(clickstream.MalformedEntry):
        clickstream.decode_click(payload)


@pytest.mark.parametrize(
    "created",
    ["soon", "", "2026-13-01T00:00:00+00:00", "2026-11-24T10:00:00+99:00", "\u0000", 5, [1], {}],
)
def test_a_bad_link_creation_time_is_refused_every_time_it_comes(created: Any) -> None:
    """The check reads a text's answer from a cache: the second entry with the same value is
    refused as the first was (a failed read is never kept as a date)."""
    payload = json.dumps(
        {"v": 1, "id": "01a20811-4a15-7e59-8e04-8bc7bbb79fdd", "t": "lt_a", "at": 1,
         "sig": {"link_created_at": created}}
    )  # fmt: skip
    for _attempt in range(2):
        with pytest.raises(clickstream.MalformedEntry) as refused:
            clickstream.decode_click(payload)
        assert str(refused.value) == "click entry signal link_created_at is not a date"


def test_a_good_link_creation_time_reads_as_the_same_moment_from_the_cache() -> None:
    created = "2026-11-24T10:00:00.123456+01:00"
    payload = json.dumps(
        {"v": 1, "id": "01a20811-4a15-7e59-8e04-8bc7bbb79fdd", "t": "lt_a", "at": 1,
         "sig": {"link_created_at": created}}
    )  # fmt: skip
    for _attempt in range(2):
        _click, signals = clickstream.decode_click(payload)
        parsed = ClickSignals.from_dict(signals).link_created_at
        assert parsed == dt.datetime.fromisoformat(created)
        assert parsed is not None and parsed.utcoffset() == dt.timedelta(hours=1)


def test_the_cache_of_queued_times_is_bounded() -> None:
    for second in range((classify.signal_time.cache_info().maxsize or 0) + 10):
        classify.signal_time(f"2026-11-24T10:00:00.{second:06d}+00:00")
    info = classify.signal_time.cache_info()
    assert info.currsize == info.maxsize


# --- The redirect in buffered mode ----------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db
def test_a_warm_buffered_redirect_queries_nothing_and_queues_the_click(
    stream: str, django_assert_num_queries: Any
) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    visit(tracking_id)  # warms the link cache
    with django_assert_num_queries(0):
        response = visit(tracking_id, HTTP_REFERER="https://mail.google.com/")
    assert response.status_code == 302
    assert LinkClick.objects.count() == 0
    entry = queued_payloads(stream)[-1]
    assert (entry["t"], entry["ip"], entry["ua"], entry["src"], entry["hm"]) == (
        tracking_id,
        "198.51.100.9",
        CHROME,
        "email",
        "GET",
    )
    assert entry["sig"]["has_accept_language"] is True


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_do_not_track_keeps_the_ip_and_agent_out_of_redis_too(stream: str) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    assert visit(tracking_id, HTTP_DNT="1").status_code == 302
    raw = json.dumps(queued_payloads(stream))
    assert "198.51.100.9" not in raw
    assert "Chrome/130" not in raw
    ClickWriter(consumer="dnt").run(drain=True)
    click = LinkClick.objects.get()
    assert (click.ip_address, click.user_agent, click.classification) == (None, None, "human")


@pytest.mark.redis
@pytest.mark.django_db
def test_with_redis_unreachable_a_buffered_redirect_stores_the_click_directly(
    settings: Any, stream: str
) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    clickstream.reset_clients()
    assert [visit(tracking_id).status_code for _ in range(3)] == [302] * 3
    assert LinkClick.objects.count() == 3
    assert set(LinkClick.objects.values_list("classification", flat=True)) == {"human"}


@pytest.mark.django_db
def test_with_the_database_failing_the_click_is_spooled_and_replayed(monkeypatch: Any) -> None:
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    visit(tracking_id)  # warms the link cache
    real_insert = services.insert_new_click

    def database_down(click: LinkClick) -> None:
        from django.db import OperationalError

        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "insert_new_click", database_down)
    assert visit(tracking_id).status_code == 302
    monkeypatch.setattr(services, "insert_new_click", real_insert)
    assert LinkClick.objects.count() == 1

    ClickWriter(consumer="replayer").replay_spool()

    assert LinkClick.objects.count() == 2
    assert LinkClick.objects.filter(classification="human").count() == 2


# --- Backlog and health ---------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_health_reports_the_backlog_and_turns_503_when_it_is_too_old(
    settings: Any, stream: str
) -> None:
    settings.CLICK_BACKLOG_MAX_AGE_SECONDS = 60
    settings.HEALTH_TOKEN = "health-token-for-the-tests-0123456789"
    tracking_id = make_link(sent_ago=HOUR).tracking_id
    click = services.build_click(
        tracking_id=tracking_id, clicked_at=timezone.now() - dt.timedelta(minutes=2)
    )
    old_id = f"{int(time.time() * 1000) - 120_000}-0"  # queued two minutes ago
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.xadd(stream, {"c": clickstream.encode_click(click, signals={})}, id=old_id)
    queue_click(tracking_id)

    response = Client().get(reverse("tracking:health"), {"token": settings.HEALTH_TOKEN})
    assert response.status_code == 503
    clicks = response.json()["clicks"]
    assert (clicks["status"], clicks["stream_length"], clicks["unwritten"]) == ("error", 2, 2)
    assert clicks["oldest_unwritten_age_seconds"] >= 119

    ClickWriter(consumer="health").run(drain=True)
    response = Client().get(reverse("tracking:health"), {"token": settings.HEALTH_TOKEN})
    clicks = response.json()["clicks"]
    assert (clicks["status"], clicks["unwritten"], clicks["pending"]) == ("ok", 0, 0)
    assert clicks["oldest_unwritten_age_seconds"] is None


@pytest.mark.redis
@pytest.mark.django_db
def test_health_is_503_when_the_click_stream_is_unreachable(settings: Any, stream: str) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.HEALTH_TOKEN = "health-token-for-the-tests-0123456789"
    clickstream.reset_clients()
    response = Client().get(reverse("tracking:health"), {"token": settings.HEALTH_TOKEN})
    assert response.status_code == 503
    assert response.json()["clicks"]["stream_error"] == "ConnectionError"


def test_health_counts_spooled_clicks(settings: Any) -> None:
    from tracking.clicks import spool as clickspool

    click = services.build_click(tracking_id="lt_x")
    clickspool.append(clickstream.encode_click(click, signals=human_signals().as_dict()))
    status = clickspool.status()
    assert status["spool_bytes"] > 0
    assert 0 <= status["oldest_spooled_age_seconds"] < 60
