"""Reported clicks older than the retention period are refused, and no click time, however
absurd, makes the rollups walk from the beginning of the calendar."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from analytics import rollups
from tests.factories import key_client, make_key, make_link, make_visitor_click
from tests.support import error_of, post_json
from tracking import services
from tracking.models import LinkClick, TrackedLink

pytestmark = pytest.mark.django_db

ANCIENT = "0002-01-01T00:00:00Z"
# Before this day no click can be real (the rollups start there at the earliest).
FIRST_DAY = dt.date(2000, 1, 1)


def test_the_api_refuses_a_click_older_than_the_retention_period_and_says_so(
    settings: Any,
) -> None:
    link = make_link()
    response = post_json(
        key_client(make_key()),
        "/api/link-tracking/record-click",
        {"tracking_id": link.tracking_id, "clicked_at": ANCIENT},
    )
    assert response.status_code == 400, response.content
    error = error_of(response)
    assert "clicked_at" in error["fields"]
    assert "retention" in error["message"]
    assert str(settings.CLICK_RETENTION_DAYS) in error["message"]
    assert not LinkClick.objects.exists()


def test_a_batch_rejects_the_expired_click_and_stores_the_others(settings: Any) -> None:
    settings.CLICK_RETENTION_DAYS = 30
    link = make_link()
    # Sent long ago: the clicks are refused for their age, not for preceding the link.
    TrackedLink.objects.filter(pk=link.pk).update(
        created_at=timezone.now() - dt.timedelta(days=400)
    )
    recent = (timezone.now() - dt.timedelta(days=29)).isoformat()
    expired = (timezone.now() - dt.timedelta(days=31)).isoformat()
    response = post_json(
        key_client(make_key()),
        "/api/link-tracking/record-clicks",
        {
            "clicks": [
                {"tracking_id": link.tracking_id, "clicked_at": recent},
                {"tracking_id": link.tracking_id, "clicked_at": expired},
                {"tracking_id": link.tracking_id, "clicked_at": ANCIENT},
            ]
        },
    )
    results = response.json()["results"]
    assert [result["status"] for result in results] == ["stored", "rejected", "rejected"]
    assert all("clicked_at" in result["error"]["fields"] for result in results[1:])
    assert LinkClick.objects.count() == 1


def test_seed_record_click_refuses_an_expired_click_too() -> None:
    link = make_link()
    with pytest.raises(services.ValidationFailed) as refused:
        services.record_click(
            tracking_id=link.tracking_id,
            clicked_at=dt.datetime(2, 1, 1, tzinfo=dt.UTC),
        )
    assert refused.value.field == "clicked_at"


def _ancient_click() -> None:
    """A click of the year 2, as plain SQL from another system could still store it."""
    click = make_visitor_click(make_link())
    LinkClick.objects.filter(pk=click.pk).update(clicked_at=dt.datetime(2, 1, 1, tzinfo=dt.UTC))


def test_a_full_rollup_never_starts_before_2000_whatever_the_oldest_click() -> None:
    _ancient_click()
    make_visitor_click(make_link(), days_ago=3)

    result = rollups.run(rebuild=True)

    assert result.full_rebuild
    assert result.rebuilt_days[0] >= FIRST_DAY
    assert len(result.rebuilt_days) <= (timezone.now().date() - FIRST_DAY).days


def test_an_ancient_click_stored_later_is_not_rebuilt_by_the_next_rollup() -> None:
    make_visitor_click(make_link(), days_ago=3)
    rollups.run()
    _ancient_click()

    result = rollups.run()

    assert all(day >= FIRST_DAY for day in result.rebuilt_days)
