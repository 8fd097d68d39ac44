"""The burst rule over a writer's batch decides what the rule per click decides, in one read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import (
    CHROME,
    build_click,
    human_signals,
    make_application,
    make_clicks,
    make_link,
)
from tracking.classify import ClickSignals
from tracking.clicks import burst
from tracking.models import LinkClick

pytestmark = pytest.mark.django_db


def _scenario() -> tuple[list[tuple[LinkClick, ClickSignals]], LinkClick, str]:
    application = make_application()
    links = [
        make_link(application=application, original_url=f"https://example.com/{n}")
        for n in range(3)
    ]
    t0 = timezone.now() - dt.timedelta(minutes=5)
    app_id = str(application.id)

    def click(link: int, ip: str, seconds: float, **fields: object) -> LinkClick:
        return build_click(
            links[link],
            classification="human",
            classification_reasons=[],
            ip_address=ip,
            user_agent=CHROME,
            clicked_at=t0 + dt.timedelta(seconds=seconds),
            **fields,
        )

    # Stored by an earlier batch, which ran the pre-check for it.
    earlier = make_clicks([click(0, "203.0.113.5", 0)])[0]
    burst.burst_possible(
        application_id=app_id,
        network="203.0.113.0/24",
        tracking_id=earlier.tracking_id,
        clicked_at=earlier.clicked_at,
    )
    batch = [
        click(1, "203.0.113.9", 1),  # another link, same /24, 1 s later: a burst with `earlier`
        click(2, "198.51.100.7", 1),  # another network: a person
        click(0, "203.0.113.77", 10),  # same /24, but nothing else within two seconds
        click(1, "203.0.113.9", 2.5),  # the same link again, within the first burst's window
        click(2, "192.0.2.1", 30),  # a burst of two links within the batch itself…
        click(0, "192.0.2.200", 31),  # …
    ]
    make_clicks(batch)
    pairs = [(c, human_signals(c.ip_address or "", application_id=app_id)) for c in batch]
    return pairs, earlier, app_id


def test_the_batch_marks_the_bursts_and_only_them_stored_and_in_memory() -> None:
    pairs, earlier, _app = _scenario()
    batch = [c for c, _s in pairs]

    changes = burst.apply_to_batch(pairs)

    expected = {earlier.click_id} | {batch[n].click_id for n in (0, 3, 4, 5)}
    assert set(changes) == expected
    stored = dict(LinkClick.objects.values_list("click_id", "classification"))
    assert {k for k, v in stored.items() if v == "scanner"} == expected
    assert [c.classification for c in batch] == [
        "scanner", "human", "human", "scanner", "scanner", "scanner",
    ]  # fmt: skip
    assert all("burst" in (c.classification_reasons or []) for c in batch if c.click_id in expected)


def test_the_batch_decides_what_the_rule_per_click_decides() -> None:
    pairs, _earlier, app_id = _scenario()
    for click, _signals in pairs:
        assert click.clicked_at is not None
        burst.reclassify_burst(
            click_id=click.click_id,
            tracking_id=click.tracking_id,
            application_id=app_id,
            network=burst.classify.burst_network(click.ip_address) or "",
            clicked_at=click.clicked_at,
        )
    per_click = dict(LinkClick.objects.values_list("click_id", "classification_reasons"))
    LinkClick.objects.update(classification="human", classification_reasons=[])
    burst.apply_to_batch(pairs)
    assert dict(LinkClick.objects.values_list("click_id", "classification_reasons")) == per_click


def test_the_batch_reads_the_stored_clicks_once() -> None:
    pairs, _earlier, _app = _scenario()
    with CaptureQueriesContext(connection) as queries:
        burst.apply_to_batch(pairs)
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    assert len(selects) == 1


@pytest.mark.redis
def test_the_shared_pre_check_answers_every_group_of_a_batch_in_one_call() -> None:
    assert "django_redis" in str(settings.CACHES["default"]["BACKEND"])
    cache.clear()
    lone = ("a1", "203.0.113.0/24")
    pair = ("a2", "203.0.113.0/24")
    same_link_twice = ("a3", "198.51.100.0/24")
    groups = {lone: ["lt_1"], pair: ["lt_2", "lt_3"], same_link_twice: ["lt_4"]}
    assert burst._possible_groups(groups) == {pair}
    # Later batches: another link of a group it has seen, and the same link again.
    assert burst._possible_groups({lone: ["lt_5"], same_link_twice: ["lt_4"]}) == {lone}
