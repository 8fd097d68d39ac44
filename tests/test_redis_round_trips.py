"""With Redis as the cache, a direct-mode click costs one Redis call for its rate limit and one for
its burst pre-check, and both answer what their step-by-step versions (django-ratelimit's
``add`` + ``incr``, the pre-check's ``add``/``incr``/``get``) answer, on the same keys.

"Step by step" below is the code path any other cache backend takes, forced here by making
:func:`tracking.clicks.luascript.redis_client` answer None.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from django.core.cache import cache
from django.test import Client, RequestFactory
from django_ratelimit import core as ratelimit_core
from django_ratelimit.core import get_usage

from linktrack.rates import parse_rate
from tests.factories import CHROME, HOUR, make_application, make_job, make_link
from tracking import views
from tracking.clicks import burst, luascript, ratelimit
from tracking.models import LinkClick

pytestmark = pytest.mark.redis

WINDOW = 1_800_000_000
HEADERS: dict[str, Any] = {
    "HTTP_USER_AGENT": CHROME,
    "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9",
    "REMOTE_ADDR": "198.51.100.23",
}


@pytest.fixture
def window(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rate-limit window every count falls in; change ``window[0]`` to move to another."""
    current = [WINDOW]
    monkeypatch.setattr(ratelimit_core, "_get_window", lambda value, period: current[0])
    return current


@contextmanager
def step_by_step(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The path of a cache that is not django-redis's client: one command per step."""
    with monkeypatch.context() as patch:
        patch.setattr(luascript, "redis_client", lambda _cache: None)
        yield


@contextmanager
def commands(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The commands sent to Redis meanwhile, one per round trip (nothing here pipelines)."""
    sent: list[str] = []
    original = redis.Redis.execute_command

    def counting(self: redis.Redis, *args: Any, **options: Any) -> Any:
        sent.append(str(args[0]))
        return original(self, *args, **options)

    with monkeypatch.context() as patch:
        patch.setattr(redis.Redis, "execute_command", counting)
        yield sent


def raw() -> redis.Redis:
    from django_redis import get_redis_connection

    client: redis.Redis = get_redis_connection("default")
    return client


def usage(bucket: str, rate: str, *, increment: bool) -> dict[str, Any]:
    """django-ratelimit's own reading (or count) for the redirect's bucket."""
    result = get_usage(
        RequestFactory().get("/"),
        group=ratelimit.RATE_GROUP,
        key=lambda _group, _request: bucket,
        rate=parse_rate(rate),
        increment=increment,
    )
    assert result is not None
    return result


def allowed(bucket: str) -> bool:
    return ratelimit.click_allowed(RequestFactory().get("/"), client_ip=bucket)


def rate_keys() -> list[bytes | str]:
    return sorted(raw().keys(cache.make_key("rl:*")))


# --- The rate limit -------------------------------------------------------------------------


@pytest.mark.usefixtures("window")
def test_the_one_call_counts_on_django_ratelimits_own_key(settings: Any) -> None:
    settings.CLICK_RATE_LIMIT = "100/m"
    rate = parse_rate("100/m")
    counts = []
    for n in range(6):
        if n % 2:
            counts.append(usage("203.0.113.7", "100/m", increment=True)["count"])
        else:
            counts.append(ratelimit._count_in_redis("203.0.113.7", rate))
    assert counts == [1, 2, 3, 4, 5, 6]  # one counter, whichever of the two counts
    assert len(rate_keys()) == 1
    assert usage("203.0.113.7", "100/m", increment=False)["count"] == 6


@pytest.mark.usefixtures("window")
def test_the_one_call_sets_the_expiry_get_usage_sets_and_keeps_it(settings: Any) -> None:
    rate = parse_rate("10/m")
    ratelimit._count_in_redis("203.0.113.7", rate)
    [ours] = rate_keys()
    usage("198.51.100.9", "10/m", increment=True)
    [theirs] = set(rate_keys()) - {ours}
    first = raw().pttl(ours)
    # The period and django-ratelimit's 5 s of fudge, set by both.
    assert 64_000 < first <= 65_000 and 64_000 < raw().pttl(theirs) <= 65_000
    time.sleep(0.05)
    ratelimit._count_in_redis("203.0.113.7", rate)  # a later count does not extend it
    assert raw().pttl(ours) <= first - 40


@pytest.mark.parametrize("one_call", [True, False])
@pytest.mark.usefixtures("window")
def test_over_the_limit_the_click_is_refused_as_before(
    one_call: bool, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CLICK_RATE_LIMIT = "3/m"
    if one_call:
        answers = [allowed("203.0.113.7") for _ in range(5)]
    else:
        with step_by_step(monkeypatch):
            answers = [allowed("203.0.113.7") for _ in range(5)]
    assert answers == [True, True, True, False, False]
    reading = usage("203.0.113.7", "3/m", increment=False)
    assert (reading["count"], reading["should_limit"]) == (5, True)


def test_both_paths_agree_over_window_boundaries(
    window: list[int], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CLICK_RATE_LIMIT = "2/m"
    ours, theirs = [], []
    for window[0] in (WINDOW, WINDOW, WINDOW, WINDOW + 60, WINDOW + 60, WINDOW + 60):
        ours.append(allowed("203.0.113.7"))
        with step_by_step(monkeypatch):
            theirs.append(allowed("198.51.100.9"))
    assert ours == theirs == [True, True, False, True, True, False]
    assert len(rate_keys()) == 4  # two buckets, two windows each


def test_the_window_is_django_ratelimits_own(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unpinned: with the clock just before and at the end of the bucket's window (which
    django-ratelimit staggers per key), the count moves to a new key exactly when
    ``get_usage``'s does."""
    settings.CLICK_RATE_LIMIT = "2/m"
    now = [float(WINDOW)]
    monkeypatch.setattr(ratelimit_core, "time", type("Clock", (), {"time": lambda: now[0]}))
    end = ratelimit_core._get_window("203.0.113.7", 60)  # the last second of the window
    answers = []
    for now[0] in (end - 1, end, end, end + 1, end + 1, end + 1):
        answers.append(allowed("203.0.113.7"))
    assert answers == [True, True, False, True, True, False]
    assert usage("203.0.113.7", "2/m", increment=False)["count"] == 3
    assert len(rate_keys()) == 2


@pytest.mark.usefixtures("window")
def test_after_the_key_expires_the_count_starts_again(settings: Any) -> None:
    settings.CLICK_RATE_LIMIT = "1/m"
    assert [allowed("203.0.113.7") for _ in range(2)] == [True, False]
    raw().pexpire(rate_keys()[0], 1)
    time.sleep(0.02)
    assert rate_keys() == []
    assert [allowed("203.0.113.7") for _ in range(2)] == [True, False]


@pytest.mark.usefixtures("window")
def test_a_click_counts_in_one_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    allowed("203.0.113.7")  # the script is loaded
    with commands(monkeypatch) as sent:
        assert allowed("203.0.113.7")
    assert sent == ["EVALSHA"]
    with step_by_step(monkeypatch), commands(monkeypatch) as sent:
        assert allowed("203.0.113.7")
    assert sent == ["SET", "EVAL"]  # what it replaces: add, then incr


@pytest.mark.usefixtures("window")
def test_a_flushed_script_is_loaded_again(settings: Any) -> None:
    settings.CLICK_RATE_LIMIT = "1/m"
    raw().script_flush()
    assert [allowed("203.0.113.7") for _ in range(2)] == [True, False]


def test_with_the_limit_switched_off_every_click_passes(settings: Any) -> None:
    settings.CLICK_RATE_LIMIT = "1/m"
    settings.RATELIMIT_ENABLE = False
    assert [allowed("203.0.113.7") for _ in range(3)] == [True, True, True]
    assert rate_keys() == []


@pytest.mark.usefixtures("cache_down")
def test_with_redis_down_the_click_is_allowed(settings: Any) -> None:
    settings.CLICK_RATE_LIMIT = "1/m"
    assert [allowed("203.0.113.7") for _ in range(3)] == [True, True, True]


@pytest.mark.usefixtures("window")
def test_a_counter_redis_cannot_count_fails_open(settings: Any) -> None:
    settings.CLICK_RATE_LIMIT = "1/m"
    allowed("203.0.113.7")
    raw().set(rate_keys()[0], "not a number")
    assert [allowed("203.0.113.7") for _ in range(2)] == [True, True]


# --- The burst pre-check --------------------------------------------------------------------

A, B = "app-a", "app-b"
NET, OTHER_NET = "203.0.113.0/24", "198.51.100.0/24"
# (application, network, link) clicks in order, and what the pre-check answers for each.
SEQUENCE = [
    ((A, NET, "lt_1"), False),  # a lone click
    ((A, NET, "lt_1"), False),  # the same link again
    ((B, NET, "lt_2"), False),  # another application
    ((A, OTHER_NET, "lt_2"), False),  # another network
    ((A, NET, "lt_2"), True),  # another link of the application from the network
    ((A, NET, "lt_1"), True),  # …after which the first link again is a possible burst too
    ((A, NET, "lt_3"), True),
    ((B, NET, "lt_2"), False),
]


def possible(application_id: str, network: str, tracking_id: str) -> bool:
    return burst.burst_possible(
        application_id=application_id, network=network, tracking_id=tracking_id
    )


def burst_keys() -> dict[bytes | str, int]:
    client = raw()
    return {key: client.pttl(key) for key in client.keys(cache.make_key("burst:*"))}


@pytest.mark.parametrize("one_call", [True, False])
def test_the_pre_check_answers_as_before(one_call: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if one_call:
        answers = [possible(*click) for click, _expected in SEQUENCE]
    else:
        with step_by_step(monkeypatch):
            answers = [possible(*click) for click, _expected in SEQUENCE]
    assert answers == [expected for _click, expected in SEQUENCE]
    keys = burst_keys()
    assert len(keys) == 3 + 5  # three (application, network) counters, five of their links
    assert all(9_000 < ttl <= 10_000 for ttl in keys.values())
    assert raw().get(cache.make_key(f"burst:v1:{A}:{NET}")) == b"3"


def test_the_two_paths_share_their_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = []
    for n, (click, _expected) in enumerate(SEQUENCE):
        if n % 2:
            with step_by_step(monkeypatch):
                answers.append(possible(*click))
        else:
            answers.append(possible(*click))
    assert answers == [expected for _click, expected in SEQUENCE]


def test_after_the_memory_expires_a_link_is_alone_again() -> None:
    assert [possible(A, NET, "lt_1"), possible(A, NET, "lt_2")] == [False, True]
    for key in burst_keys():
        raw().pexpire(key, 1)
    time.sleep(0.02)
    assert burst_keys() == {}
    assert [possible(A, NET, "lt_2"), possible(A, NET, "lt_2")] == [False, False]


def test_a_pre_check_is_one_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    possible(A, NET, "lt_1")  # the script is loaded
    with commands(monkeypatch) as sent:
        possible(A, NET, "lt_2")
        possible(A, NET, "lt_2")
    assert sent == ["EVALSHA", "EVALSHA"]
    with step_by_step(monkeypatch), commands(monkeypatch) as sent:
        possible(A, NET, "lt_3")
        possible(A, NET, "lt_3")
    assert sent == ["SET", "SET", "EVAL", "SET", "GET"]  # what it replaces


@pytest.mark.usefixtures("cache_down")
def test_with_redis_down_a_burst_is_possible() -> None:
    assert [possible(A, NET, "lt_1"), possible(A, NET, "lt_1")] == [True, True]


def test_any_redis_error_makes_a_burst_possible(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise redis.ResponseError("BUSY Redis is busy running a script")

    monkeypatch.setattr(redis.Redis, "evalsha", broken)
    assert possible(A, NET, "lt_1")


# --- The whole click ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_direct_click_costs_two_round_trips(monkeypatch: pytest.MonkeyPatch) -> None:
    application = make_application(make_job(title="Data Analyst", company_name="Fabrikam"))
    first, second = (
        make_link(sent_ago=HOUR, application_id=application.id, original_url=url).tracking_id
        for url in ("https://example.com/1", "https://example.com/2")
    )
    Client().get(f"/track/{first}", **HEADERS)  # warms the link cache and loads the scripts
    Client().get(f"/track/{second}", **HEADERS)
    with commands(monkeypatch) as sent:
        response = views.redirect(RequestFactory().get(f"/track/{first}", **HEADERS), first)
        assert isinstance(response, views.TrackedRedirect) and response.follow_up is not None
        response.follow_up()  # the burst rule, which close() runs once the response is sent
    assert sent == ["EVALSHA", "EVALSHA"]
    assert LinkClick.objects.count() == 3
    assert set(LinkClick.objects.values_list("classification", flat=True)) == {"scanner"}
